// How spawnctl shows jobs: a table for people, one JSON document per job for scripts (the wire's
// CamelCase keys). Pure functions; "now" and the time zone are given through FormatOptions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spawn/client/format.h"
#include "spawn/proto/messages.h"

namespace spawn {

// `jobs`: a header and one row per job (ID, KIND, SERVICE, STATE, CREATED, TOOK, RESULT), oldest
// change first; "No jobs." when there are none. An auto-restart's kind shows its reason and count
// ("auto-restart (died) x3"). TOOK is from start to end, or to `now` for a job still running.
std::string FormatJobs(const std::vector<proto::Job>& jobs, int64_t now_unix_ns,
                       const FormatOptions& options);
// `job`: "job <id>: <kind> of <service> <state> [<code>] <message>" on one line.
std::string FormatJob(const proto::Job& job, const FormatOptions& options);
std::string ToJson(const proto::Job& job);

}  // namespace spawn
