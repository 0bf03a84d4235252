// spawnctl's commands, once their arguments are parsed and checked. Each returns the process's exit
// code (exit_codes.h), having printed what it has to say; those that talk to a spawnpoint open the
// session's connection themselves, after checking what can be checked without one.
#pragma once

#include <optional>
#include <string>

#include "session.h"

namespace spawn {

// `scan [BASE]`: BASE defaults to --uri. `down_after` is "" (the spawnpoints' own intervals) or a
// duration.
int ScanCommand(Session& s, std::string base, bool all, const std::string& down_after);

// `deploy` and `deploy-last` (which has read its history into the arguments). A deploy.yml that
// does not parse, or names a file that cannot be read, is kUsage and nothing is sent.
int DeployCommand(Session& s, const std::string& yaml, const std::optional<std::string>& name,
                  bool replace, bool no_follow, Duration wait);

int RestartOrStopCommand(Session& s, bool restart, const std::string& name, bool no_follow,
                         Duration wait);
int TailCommand(Session& s, const std::string& name);
int LogsCommand(Session& s, const std::string& name, const std::string& since);
int InspectCommand(Session& s, const std::string& name);

}  // namespace spawn
