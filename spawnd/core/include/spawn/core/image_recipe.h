// A service's image recipe, as pure functions (no I/O): the Dockerfile generated from its config
// and the content-addressed tag the supervisor builds it under. How the engine is handed the
// Dockerfile (the build context) is the engine adapter's business, not this.
#pragma once

#include <string>

#include "spawn/common/config.h"

namespace spawn {

// Where a service's files are inside its container: WORKDIR of the image, target of PutArchive.
inline constexpr const char* kServiceWorkDir = "/srv/spawnpoint";

// Whether the service needs an image of its own: apt packages, a git source, included files or
// dirs, or build steps. Without any it runs on its base image as it is, with `run` as the command
// and kServiceWorkDir as the working directory, set when the container is made.
bool NeedsBuild(const ServiceConfig& config);

// The image the service is built on (or runs on, without a build): `image`, else `default_image`.
std::string BaseImage(const ServiceConfig& config, const std::string& default_image);

// FROM `base` (the base image's id when the engine has it, so that a tag moved to another image
// makes another recipe), apt packages, git source, WORKDIR /srv/spawnpoint, COPY of each
// included file and dir (by base name, as the deploy archive holds them), RUN per build step. No
// CMD: the command is set when the container is made, so that services that differ only in `run`
// share one image.
std::string GenerateDockerfile(const ServiceConfig& config, const std::string& base);

// "spawnpoint/build:<64 hex digits>", the SHA-256 of the build inputs alone (the Dockerfile and
// the archive of included files), not of the service's name: services with the same inputs, on
// one spawnpoint or under a new name, share one image, and an unchanged service is not rebuilt.
std::string ImageTag(const std::string& dockerfile, const std::string& archive);

}  // namespace spawn
