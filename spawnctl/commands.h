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

// `now` (stop only): KILL without the stopTimeout grace.
// Rollback: as restart, on the rollback slot.
int RollbackCommand(Session& s, const std::string& name, bool no_follow, Duration wait);
int RestartOrStopCommand(Session& s, bool restart, const std::string& name, bool no_follow,
                         Duration wait, bool now = false);
int TailCommand(Session& s, const std::string& name);
int LogsCommand(Session& s, const std::string& name, const std::string& since);
int InspectCommand(Session& s, const std::string& name);

// `jobs [-n NAME] [--since D]`: the spawnpoint's jobs, as a table or one JSON line each.
int JobsCommand(Session& s, const std::string& name, const std::string& since);
// `job ID [--wait]`: the job as it is now; with `wait`, once it ended: kDone when it is done,
// kRefused when it failed (or is unknown), kNoAnswer when it did not end within `wait_limit`.
int JobCommand(Session& s, const std::string& id, bool wait, Duration wait_limit);
// `meta set KEY=VALUE` and `meta rm KEY`. A KEY=VALUE without '=' or an empty key is kUsage.
int MetaCommand(Session& s, bool remove, const std::string& argument);

}  // namespace spawn
