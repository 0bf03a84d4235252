// Logging set-up: every spawnpoint program logs to stderr through spdlog's default logger.
#pragma once

#include <string>

namespace spawn {

// Installs a stderr logger named `program` at `level` ("trace", "debug", "info", "warn", "error").
// An unknown level falls back to "info" (and says so).
void SetUpLogging(const std::string& program, const std::string& level = "info");

}  // namespace spawn
