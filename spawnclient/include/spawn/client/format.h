// How spawnctl shows things to people. Pure functions of their inputs (the time "now" is given), so
// the output is unit-tested exactly.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "spawn/client/client.h"

namespace spawn {

struct FormatOptions {
  bool color = false;                           // ANSI colours (only on a terminal)
  bool show_zombies = false;                    // scan --all
  std::chrono::milliseconds down_after{15000};  // silent this long = appears to be down
};

// "850ms", "4.2s", "3m12s", "2h5m", "3d4h".
std::string FormatAge(std::chrono::milliseconds age);
// "12.3 MiB" style, one decimal below 100.
std::string FormatMib(double mib);
// "2026-11-23 02:30:01" in UTC.
std::string FormatTime(int64_t unix_ns);
// The whole scan report: "Discovered N SpawnPoint(s):" and one block per spawnpoint; services in
// detail (and metadata) when exactly one spawnpoint matched.
std::string FormatScan(const std::vector<SpawnpointInfo>& found, int64_t now_unix_ns,
                       const FormatOptions& options);
// One log line: "[alias/service] contents" (stderr and spawnd lines marked).
std::string FormatLogLine(const proto::LogMessage& m, const FormatOptions& options);
// A reply: "[OK] message" or "[ERROR 503] message".
std::string FormatReply(const proto::Reply& reply, const FormatOptions& options);
std::string FormatServiceHeartbeat(const proto::ServiceHeartbeat& hb, int64_t now_unix_ns,
                                   const FormatOptions& options);

// --json output.
std::string ToJson(const std::vector<SpawnpointInfo>& found);
std::string ToJson(const proto::Reply& reply);
std::string ToJson(const proto::LogMessage& m);
std::string ToJson(const proto::ServiceHeartbeat& hb);

}  // namespace spawn
