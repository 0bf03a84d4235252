// Fan-out (takama/spawn's job): one command to every spawnpoint a scan of a base lists, with one
// outcome per spawnpoint. `spawnctl deploy|restart|stop -u 'BASE/*'` is this.
//
// Spawnpoints that are up get the command and are waited for, all at once, each within the
// timeout. Those that are offline, or silent past their down-after, get it too but are not waited
// for: the broker keeps it in their persistent session and they carry it out when they return
// within the command's expiry, so their outcome is `queued`.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "spawn/client/client.h"
#include "spawn/client/format.h"

namespace spawn {

struct FanOutOutcome {
  enum class Kind { kOk, kQueued, kFailed };
  std::string path;
  Kind kind = Kind::kFailed;
  // kOk: the spawnpoint's acceptance; kFailed: its refusal or why no answer came.
  std::string message;
  int code = 0;  // the reply's code; 0 without a reply
};

// "BASE/*" -> "BASE"; nullopt for any other URI (a plain spawnpoint path).
std::optional<std::string> FanOutBase(const std::string& uri);

// Sends the command (`send(path, timeout)`; a timeout of zero means: publish, do not wait) to each
// of `targets`, the up ones in parallel. Outcomes in the order of `targets`.
using FanOutSend = std::function<Result<proto::Reply>(const std::string& path, Duration timeout)>;
std::vector<FanOutOutcome> FanOut(const std::vector<SpawnpointInfo>& targets, int64_t now_unix_ns,
                                  Duration down_after, Duration timeout, const FanOutSend& send);

// One line per spawnpoint: "PATH: ok [200] ...", "PATH: queued (offline: ...)",
// "PATH: failed [503] ...".
std::string FormatFanOut(const std::vector<FanOutOutcome>& outcomes, const FormatOptions& options);
// Every outcome ok or queued.
bool FanOutSucceeded(const std::vector<FanOutOutcome>& outcomes);

}  // namespace spawn
