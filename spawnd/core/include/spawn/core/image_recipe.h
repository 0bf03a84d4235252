// A service's image recipe, as pure functions (no I/O): the Dockerfile generated from its config
// and the content-addressed tag the supervisor builds it under. How the engine is handed the
// Dockerfile (the build context) is the engine adapter's business, not this.
#pragma once

#include <string>

#include "spawn/common/config.h"

namespace spawn {

// Where a service's files are inside its container: WORKDIR of the image, target of PutArchive.
inline constexpr const char* kServiceWorkDir = "/srv/spawnpoint";

// FROM image (or default_image), apt packages, git source, WORKDIR /srv/spawnpoint, COPY of each
// included file and dir (by base name, as the deploy archive holds them), RUN per build step, CMD
// in exec form.
std::string GenerateDockerfile(const ServiceConfig& config, const std::string& default_image);

// "spawnpoint/<name>:<16 hex digits>": the digits hash every build input, so an unchanged service
// maps to an existing tag and is not rebuilt.
std::string ImageTag(const ServiceConfig& config, const std::string& dockerfile,
                     const std::string& archive);

}  // namespace spawn
