// The build context CurlDockerEngine::Build sends: the Dockerfile it was given, under a name of its
// own, and the deploy's included files. Pure (no I/O); engine-private.
#pragma once

#include <string>

#include "spawn/common/status.h"

namespace spawn {

// Name of the Dockerfile inside the build context (passed to the engine as `dockerfile=`); chosen
// so that it cannot collide with an included file.
inline constexpr const char* kDockerfileName = ".spawnpoint.Dockerfile";

// One tar holding the Dockerfile (as kDockerfileName, at the root) and every entry of the deploy's
// archive, re-written from what ReadTar validated so the engine sees exactly that. kBadRequest,
// naming the entry, for an archive ReadTar refuses or one that holds kDockerfileName itself.
Result<std::string> MakeBuildContext(const std::string& dockerfile, const std::string& archive);

}  // namespace spawn
