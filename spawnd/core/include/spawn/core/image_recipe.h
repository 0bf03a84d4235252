// Image building from a service config, as pure functions (no I/O): the generated Dockerfile, the
// content-addressed tag, and the build context archive.
#pragma once

#include <string>

#include "spawn/common/config.h"
#include "spawn/common/status.h"

namespace spawn {

// Name of the generated Dockerfile inside the build context; chosen so that it cannot collide with
// an included file (passed to the engine as `dockerfile=`).
inline constexpr const char* kDockerfileName = ".spawnpoint.Dockerfile";
inline constexpr const char* kServiceWorkDir = "/srv/spawnpoint";

// FROM image (or default_image), apt packages, git source, WORKDIR /srv/spawnpoint, COPY of each
// included file and dir (by base name, as the deploy archive holds them), RUN per build step, CMD
// in exec form.
std::string GenerateDockerfile(const ServiceConfig& config, const std::string& default_image);

// "spawnpoint/<name>:<16 hex digits>": the digits hash every build input, so an unchanged service
// maps to an existing tag and is not rebuilt.
std::string ImageTag(const ServiceConfig& config, const std::string& dockerfile,
                     const std::string& archive);

// One tar holding the Dockerfile (as kDockerfileName, at the root) and every entry of the deploy's
// archive, re-written from what ReadTar validated so the engine sees exactly that. kBadRequest,
// naming the entry, for an archive ReadTar refuses or one that holds kDockerfileName itself.
Result<std::string> MakeBuildContext(const std::string& dockerfile, const std::string& archive);

}  // namespace spawn
