// What spawnctl takes from its environment and remembers between runs: the defaults of --broker,
// --uri and --mqtt-version (SPAWNPOINT_BROKER, SPAWNPOINT_DEFAULT_URI, SPAWNPOINT_MQTT_VERSION),
// the deployment history (~/.spawnpoint_history, for deploy-last), the --since window and the
// --expire of commands. The environment is passed in as a lookup so tests never
// touch the process's; the only I/O is the history file's.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "spawn/common/status.h"

namespace spawn {

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
// getenv(); an empty variable counts as unset.
EnvLookup ProcessEnvironment();

struct CliDefaults {
  std::string broker = "tcp://127.0.0.1:1883";  // SPAWNPOINT_BROKER
  std::string uri;                              // SPAWNPOINT_DEFAULT_URI; empty when unset
  std::string mqtt_version = "5";  // SPAWNPOINT_MQTT_VERSION (checked as --mqtt-version)
  std::string history_file;        // $HOME/.spawnpoint_history (./ without HOME)
};
CliDefaults DefaultsFromEnvironment(const EnvLookup& env);

// One deployment: enough to run it again.
struct HistoryEntry {
  std::string uri;          // the spawnpoint's path
  std::string config_path;  // absolute path of the deploy.yml
  std::string name;         // the service name deployed (from -n or the file)
  friend bool operator==(const HistoryEntry&, const HistoryEntry&) = default;
};

// Appends one line ("uri<TAB>config<TAB>name"), creating the file (mode 0600) if needed.
// kInternal naming the file when it cannot be written; a field holding a tab or newline is
// kBadRequest.
Status AppendHistory(const std::string& file, const HistoryEntry& entry);
// The last well-formed line. kNotFound when the file is missing or holds no deployment.
Result<HistoryEntry> LastHistoryEntry(const std::string& file);

// --expire: a Go duration ("10m"; "0s": never) -> whole seconds, rounded up so that a short expiry
// does not become none. kBadRequest naming --expire for what is not a duration.
Result<std::chrono::seconds> ParseExpiry(const std::string& expire);

// --since: a Go duration back from now ("10m") -> unix ns; "0s" or "" means everything (0).
Result<int64_t> SinceToUnixNs(const std::string& since, int64_t now_unix_ns);

}  // namespace spawn
