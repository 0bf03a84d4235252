// How spawnctl shows things: to people (text, colour only when asked) and to scripts (--json, one
// JSON document per line with the wire's CamelCase keys). Pure functions of their inputs: "now" and
// the time zone are given, so the output is unit-tested exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spawn/client/client.h"
#include "spawn/common/event_loop.h"

namespace spawn {

struct FormatOptions {
  bool color = false;         // ANSI colours (spawnctl: only when stdout is a terminal)
  bool local_time = false;    // times in the local zone; false: UTC (tests)
  bool show_zombies = false;  // scan --all
  // Silent this long = appears to be down; zero: three of each spawnpoint's own intervals.
  Duration down_after = Duration::zero();
};

// "850ms", "4.2s", "3m12s", "2h5m", "3d4h"; negative ages (clock skew) show as "0ms".
std::string FormatAge(Duration age);
// Age from two unix-ns instants.
std::string FormatAgeBetween(int64_t then_unix_ns, int64_t now_unix_ns);
// "12.3 MiB" (one decimal below 100), "512 MiB".
std::string FormatMib(double mib);
// "2026-11-23 02:30:01", UTC unless options.local_time (then with the zone: "... CET").
std::string FormatTime(int64_t unix_ns, const FormatOptions& options);

// "[alias] seen <time> (<ago>) ago at <path>" plus the down marker, and its resources line.
std::string FormatSpawnpoint(const SpawnpointInfo& sp, int64_t now_unix_ns,
                             const FormatOptions& options);
// "• [name] running, seen <time> (<ago>) ago, restarts N" and "CPU ..., Memory used/alloc" lines;
// seen at `seen_unix_ns` (ServiceLastSeen; 0: the heartbeat's own Time).
std::string FormatService(const proto::ServiceHeartbeat& hb, int64_t now_unix_ns,
                          const FormatOptions& options, int64_t seen_unix_ns = 0);
// The scan report: "Discovered N SpawnPoint(s):", then each spawnpoint (with the names of its
// services); when exactly one matched, each service in detail and the metadata. Zombies only with
// show_zombies.
std::string FormatScan(const std::vector<SpawnpointInfo>& found, int64_t now_unix_ns,
                       const FormatOptions& options);
// One log line: "[11/23 02:30:01] alias::service > contents" (stderr and spawnd lines coloured).
std::string FormatLogLine(const proto::LogMessage& m, const FormatOptions& options);
// "[OK] message" or "[ERROR 503] message".
std::string FormatReply(const proto::Reply& reply, const FormatOptions& options);
// inspect: the service line, its usage, then "Original config:" and the YAML.
std::string FormatInspect(const proto::ServiceHeartbeat& hb, int64_t now_unix_ns,
                          const FormatOptions& options);

// --json output (single line each).
std::string ToJson(const std::vector<SpawnpointInfo>& found, int64_t now_unix_ns,
                   Duration down_after);
std::string ToJson(const proto::Reply& reply);
std::string ToJson(const proto::LogMessage& m);
std::string ToJson(const proto::ServiceHeartbeat& hb);

}  // namespace spawn
