#include "spawn/client/format.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "spawn/common/units.h"

namespace spawn {
namespace {

using json = nlohmann::json;

constexpr const char* kBold = "1";
constexpr const char* kRed = "31";
constexpr const char* kGreen = "32";
constexpr const char* kYellow = "33";
constexpr const char* kCyan = "36";

std::string Paint(const FormatOptions& o, const char* code, const std::string& text) {
  return o.color ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
}

const char* StateColor(proto::ServiceState s) {
  switch (s) {
    case proto::ServiceState::kRunning:
      return kGreen;
    case proto::ServiceState::kZombie:
    case proto::ServiceState::kExited:
      return kRed;
    default:
      return kYellow;
  }
}

std::tm Broken(int64_t unix_ns, bool local) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ns / 1000000000);
  std::tm tm{};
  if (local)
    localtime_r(&seconds, &tm);
  else
    gmtime_r(&seconds, &tm);
  return tm;
}

std::string Seen(int64_t then, int64_t now, const FormatOptions& o) {
  return "seen " + FormatTime(then, o) + " (" + FormatAgeBetween(then, now) + ") ago";
}

bool Shown(const proto::ServiceHeartbeat& hb, const FormatOptions& o) {
  return o.show_zombies || hb.state != proto::ServiceState::kZombie;
}

}  // namespace

std::string FormatAge(Duration age) {
  const int64_t ms = std::max<int64_t>(0, age.count());
  char buf[32];
  if (ms < 1000)
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  else if (ms < 60000)
    std::snprintf(buf, sizeof buf, "%lld.%llds", static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms % 1000 / 100));
  else if (ms < 3600000)
    std::snprintf(buf, sizeof buf, "%lldm%llds", static_cast<long long>(ms / 60000),
                  static_cast<long long>(ms / 1000 % 60));
  else if (ms < 86400000)
    std::snprintf(buf, sizeof buf, "%lldh%lldm", static_cast<long long>(ms / 3600000),
                  static_cast<long long>(ms / 60000 % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldd%lldh", static_cast<long long>(ms / 86400000),
                  static_cast<long long>(ms / 3600000 % 24));
  return buf;
}

std::string FormatAgeBetween(int64_t then_unix_ns, int64_t now_unix_ns) {
  return FormatAge(Duration((now_unix_ns - then_unix_ns) / 1000000));
}

std::string FormatMib(double mib) {
  char buf[32];
  if (mib < 100)
    std::snprintf(buf, sizeof buf, "%.1f MiB", mib);
  else
    std::snprintf(buf, sizeof buf, "%.0f MiB", mib);
  return buf;
}

std::string FormatTime(int64_t unix_ns, const FormatOptions& o) {
  const std::tm tm = Broken(unix_ns, o.local_time);
  char buf[48];
  std::strftime(buf, sizeof buf, o.local_time ? "%Y-%m-%d %H:%M:%S %Z" : "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string FormatSpawnpoint(const SpawnpointInfo& sp, int64_t now, const FormatOptions& o) {
  const auto& hb = sp.heartbeat;
  std::string out = "[" + Paint(o, kBold, hb.alias) + "] " + Seen(sp.last_seen_unix_ns, now, o) +
                    " at " + sp.path;
  if (!sp.online)
    out += " " + Paint(o, kRed, "DOWN (offline)");
  else if (IsDown(sp, now, o.down_after))
    out +=
        " " + Paint(o, kRed,
                    "DOWN (no heartbeat for " + FormatDuration(DownAfter(sp, o.down_after)) + ")");
  out += "\n    Available Memory: " + std::to_string(hb.available_mem_mib) + "/" +
         std::to_string(hb.total_mem_mib) +
         " MiB, Available CPU Shares: " + std::to_string(hb.available_cpu_shares) + "/" +
         std::to_string(hb.total_cpu_shares);
  if (hb.total_disk_mib > 0) {
    out += ", Available Disk: " + std::to_string(hb.available_disk_mib) + "/" +
           std::to_string(hb.total_disk_mib) + " MiB";
  }
  out += "\n";
  for (const auto& warning : hb.warnings) {
    out += "    " + Paint(o, kYellow, "Warning: ") + warning + "\n";
  }
  return out;
}

std::string FormatService(const proto::ServiceHeartbeat& hb, int64_t now, const FormatOptions& o,
                          int64_t seen) {
  std::string out =
      "• [" + hb.name + "] " + Paint(o, StateColor(hb.state), proto::ToString(hb.state)) + ", " +
      Seen(seen ? seen : hb.time_unix_ns, now, o) + ", restarts " + std::to_string(hb.restarts);
  if (hb.state == proto::ServiceState::kZombie || hb.state == proto::ServiceState::kExited ||
      hb.exit_code != 0)
    out += ", exit code " + std::to_string(hb.exit_code);
  if (!hb.backoff.empty()) out += ", next restart in " + hb.backoff;
  if (!hb.health.empty()) {
    const char* colour = hb.health == "healthy"     ? kGreen
                         : hb.health == "unhealthy" ? kRed
                                                    : kYellow;
    out += ", " + Paint(o, colour, hb.health);
    if (hb.health != "healthy" && !hb.health_output.empty()) out += " (" + hb.health_output + ")";
  }
  char usage[160];
  std::snprintf(usage, sizeof usage, "    CPU: %.1f%% (%lld shares), Memory: %s/%lld MiB\n",
                hb.cpu_percent, static_cast<long long>(hb.cpu_shares),
                FormatMib(hb.mem_usage_mib).c_str(), static_cast<long long>(hb.mem_alloc_mib));
  return out + "\n" + usage;
}

std::string FormatScan(const std::vector<SpawnpointInfo>& found, int64_t now,
                       const FormatOptions& o) {
  std::string out = "Discovered " + std::to_string(found.size()) + " SpawnPoint(s):\n";
  for (const auto& sp : found) {
    out += FormatSpawnpoint(sp, now, o);
    if (found.size() == 1) {
      for (const auto& [name, hb] : sp.services) {
        if (Shown(hb, o)) out += FormatService(hb, now, o, ServiceLastSeen(sp, hb));
      }
      if (!sp.metadata.empty()) {
        out += "Metadata:\n";
        for (const auto& [k, v] : sp.metadata) out += "  • " + k + ": " + v + "\n";
      }
      continue;
    }
    std::string names;
    for (const auto& [name, hb] : sp.services) {
      if (Shown(hb, o)) names += (names.empty() ? "" : ", ") + name;
    }
    if (!names.empty()) out += "    Services: " + names + "\n";
  }
  return out;
}

std::string FormatLogLine(const proto::LogMessage& m, const FormatOptions& o) {
  const std::tm tm = Broken(m.time_unix_ns, o.local_time);
  char when[32];
  std::strftime(when, sizeof when, "[%m/%d %H:%M:%S]", &tm);
  std::string source = m.sp_alias + "::" + m.service + " >";
  if (m.stream == "stderr")
    source = Paint(o, kYellow, source);
  else if (m.stream == "spawnd")
    source = Paint(o, kCyan, source);
  return std::string(when) + " " + source + " " + m.contents;
}

std::string FormatReply(const proto::Reply& r, const FormatOptions& o) {
  if (r.ok) return Paint(o, kGreen, "[OK]") + " " + r.message;
  return Paint(o, kRed, "[ERROR " + std::to_string(r.code) + "]") + " " + r.message;
}

std::string FormatInspect(const proto::ServiceHeartbeat& hb, int64_t now, const FormatOptions& o) {
  std::string out = FormatService(hb, now, o);
  char io[200];
  std::snprintf(io, sizeof io,
                "    Network: %.1f MB in, %.1f MB out; Disk: %.1f MB read, %.1f MB written\n",
                hb.network_rx_mb, hb.network_tx_mb, hb.mb_read, hb.mb_written);
  out += io;
  if (!hb.container_id.empty()) out += "    Container: " + hb.container_id + "\n";
  out += "    Spawnpoint: " + hb.spawnpoint_uri + "\n";
  if (!hb.original_config_error.empty()) {
    out += "Original config: unreadable (" + hb.original_config_error + ")\n";
  } else {
    out += "Original config:\n" + ServiceConfigToYaml(hb.original_config);
    if (!out.empty() && out.back() != '\n') out += "\n";
  }
  return out;
}

namespace {
json HeartbeatJson(const proto::ServiceHeartbeat& hb) {
  return json{{"SpawnpointURI", hb.spawnpoint_uri},
              {"Name", hb.name},
              {"Time", hb.time_unix_ns},
              {"State", proto::ToString(hb.state)},
              {"ContainerId", hb.container_id},
              {"MemAlloc", hb.mem_alloc_mib},
              {"CpuShares", hb.cpu_shares},
              {"MemUsage", hb.mem_usage_mib},
              {"CpuPercent", hb.cpu_percent},
              {"NetworkRx", hb.network_rx_mb},
              {"NetworkTx", hb.network_tx_mb},
              {"MbRead", hb.mb_read},
              {"MbWritten", hb.mb_written},
              {"Restarts", hb.restarts},
              {"ExitCode", hb.exit_code},
              {"Backoff", hb.backoff},
              {"Health", hb.health},
              {"HealthOutput", hb.health_output},
              {"OriginalConfig", ServiceConfigToYaml(hb.original_config)}};
}
}  // namespace

std::string ToJson(const proto::ServiceHeartbeat& hb) {
  return HeartbeatJson(hb).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ToJson(const std::vector<SpawnpointInfo>& found, int64_t now, Duration down_after) {
  json out = json::array();
  for (const auto& sp : found) {
    json services = json::object();
    for (const auto& [name, hb] : sp.services) {
      services[name] = HeartbeatJson(hb);
      services[name]["Seen"] = ServiceLastSeen(sp, hb);  // see ServiceLastSeen
    }
    json item = {
        {"Path", sp.path},
        {"Alias", sp.heartbeat.alias},
        {"Time", sp.heartbeat.time_unix_ns},
        {"Version", sp.heartbeat.version},
        {"HeartbeatPolicy",
         sp.heartbeat.heartbeat_policy.empty() ? "periodic" : sp.heartbeat.heartbeat_policy},
        {"Online", sp.online},
        {"Down", IsDown(sp, now, down_after)},
        {"TotalMem", sp.heartbeat.total_mem_mib},
        {"TotalCpuShares", sp.heartbeat.total_cpu_shares},
        {"AvailableMem", sp.heartbeat.available_mem_mib},
        {"AvailableCpuShares", sp.heartbeat.available_cpu_shares},
        {"Services", services},
        {"Metadata", sp.metadata}};
    if (!sp.heartbeat.warnings.empty()) item["Warnings"] = sp.heartbeat.warnings;
    if (sp.heartbeat.total_disk_mib > 0) {
      item["TotalDisk"] = sp.heartbeat.total_disk_mib;
      item["AvailableDisk"] = sp.heartbeat.available_disk_mib;
    }
    out.push_back(std::move(item));
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ToJson(const proto::Reply& r) {
  return json{{"RequestId", r.request_id}, {"Ok", r.ok}, {"Code", r.code}, {"Message", r.message}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string ToJson(const proto::LogMessage& m) {
  return json{{"Time", m.time_unix_ns},
              {"SPAlias", m.sp_alias},
              {"Service", m.service},
              {"Stream", m.stream},
              {"Contents", m.contents}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace spawn
