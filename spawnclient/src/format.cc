#include "spawn/client/format.h"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "spawn/common/units.h"

namespace spawn {
namespace {

using json = nlohmann::json;

std::string Paint(const FormatOptions& o, const char* code, const std::string& text) {
  return o.color ? std::string("\033[") + code + "m" + text + "\033[0m" : text;
}

const char* StateColor(proto::ServiceState s) {
  switch (s) {
    case proto::ServiceState::kRunning:
      return "32";
    case proto::ServiceState::kZombie:
    case proto::ServiceState::kExited:
      return "31";
    default:
      return "33";
  }
}

}  // namespace

std::string FormatAge(std::chrono::milliseconds age) {
  const int64_t ms = std::max<int64_t>(0, age.count());
  char buf[32];
  if (ms < 1000)
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  else if (ms < 60000)
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
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

std::string FormatMib(double mib) {
  char buf[32];
  if (mib < 100)
    std::snprintf(buf, sizeof buf, "%.1f MiB", mib);
  else
    std::snprintf(buf, sizeof buf, "%.0f MiB", mib);
  return buf;
}

std::string FormatTime(int64_t unix_ns) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ns / 1000000000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string FormatServiceHeartbeat(const proto::ServiceHeartbeat& hb, int64_t now_unix_ns,
                                   const FormatOptions& o) {
  char usage[160];
  std::snprintf(usage, sizeof usage, "CPU %.1f%% of %lld shares, Memory %s/%lld MiB",
                hb.cpu_percent, static_cast<long long>(hb.cpu_shares),
                FormatMib(hb.mem_usage_mib).c_str(), static_cast<long long>(hb.mem_alloc_mib));
  std::string line =
      "• [" + hb.name + "] " + Paint(o, StateColor(hb.state), proto::ToString(hb.state)) +
      ", seen " + FormatAge(std::chrono::milliseconds((now_unix_ns - hb.time_unix_ns) / 1000000)) +
      " ago, " + usage + ", restarts " + std::to_string(hb.restarts);
  if (hb.state == proto::ServiceState::kZombie || hb.exit_code != 0)
    line += ", exit code " + std::to_string(hb.exit_code);
  if (!hb.backoff.empty()) line += ", backing off " + hb.backoff;
  return line;
}

std::string FormatScan(const std::vector<SpawnpointInfo>& found, int64_t now_unix_ns,
                       const FormatOptions& o) {
  std::string out = "Discovered " + std::to_string(found.size()) + " SpawnPoint" +
                    (found.size() == 1 ? "" : "s") + ":\n";
  for (const auto& sp : found) {
    const auto age = std::chrono::milliseconds((now_unix_ns - sp.heartbeat.time_unix_ns) / 1000000);
    const bool down = !sp.presence_online || age > o.down_after;
    out += "[" + Paint(o, "1", sp.heartbeat.alias) + "] seen " +
           FormatTime(sp.heartbeat.time_unix_ns) + " (" + FormatAge(age) + ") ago at " + sp.path;
    if (down)
      out += " " + Paint(o, "31", !sp.presence_online ? "(offline)" : "(appears to be down)");
    out += "\n  Available Memory: " + std::to_string(sp.heartbeat.available_mem_mib) + "/" +
           std::to_string(sp.heartbeat.total_mem_mib) +
           " MiB, Available CPU Shares: " + std::to_string(sp.heartbeat.available_cpu_shares) +
           "/" + std::to_string(sp.heartbeat.total_cpu_shares) + "\n";
    if (found.size() == 1) {
      for (const auto& [name, hb] : sp.services) {
        if (hb.state == proto::ServiceState::kZombie && !o.show_zombies) continue;
        out += "  " + FormatServiceHeartbeat(hb, now_unix_ns, o) + "\n";
      }
      if (!sp.metadata.empty()) {
        out += "  Metadata:\n";
        for (const auto& [k, v] : sp.metadata) out += "    " + k + ": " + v + "\n";
      }
    } else {
      size_t shown = 0;
      std::string names;
      for (const auto& [name, hb] : sp.services) {
        if (hb.state == proto::ServiceState::kZombie && !o.show_zombies) continue;
        names += (shown++ ? ", " : "") + name;
      }
      if (shown) out += "  Services: " + names + "\n";
    }
  }
  return out;
}

std::string FormatLogLine(const proto::LogMessage& m, const FormatOptions& o) {
  std::string prefix = "[" + m.sp_alias + "/" + m.service + "] ";
  if (m.stream == "stderr")
    prefix = Paint(o, "33", prefix);
  else if (m.stream == "spawnd")
    prefix = Paint(o, "36", prefix);
  return prefix + m.contents;
}

std::string FormatReply(const proto::Reply& r, const FormatOptions& o) {
  if (r.ok) return Paint(o, "32", "[OK]") + " " + r.message;
  return Paint(o, "31", "[ERROR " + std::to_string(r.code) + "]") + " " + r.message;
}

std::string ToJson(const proto::ServiceHeartbeat& hb) {
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
              {"OriginalConfig", ServiceConfigToYaml(hb.original_config)}}
      .dump();
}

std::string ToJson(const std::vector<SpawnpointInfo>& found) {
  json out = json::array();
  for (const auto& sp : found) {
    json services = json::object();
    for (const auto& [name, hb] : sp.services) services[name] = json::parse(ToJson(hb));
    out.push_back({{"Path", sp.path},
                   {"Alias", sp.heartbeat.alias},
                   {"Time", sp.heartbeat.time_unix_ns},
                   {"Version", sp.heartbeat.version},
                   {"Online", sp.presence_online},
                   {"TotalMem", sp.heartbeat.total_mem_mib},
                   {"TotalCpuShares", sp.heartbeat.total_cpu_shares},
                   {"AvailableMem", sp.heartbeat.available_mem_mib},
                   {"AvailableCpuShares", sp.heartbeat.available_cpu_shares},
                   {"Services", services},
                   {"Metadata", sp.metadata}});
  }
  return out.dump();
}

std::string ToJson(const proto::Reply& r) {
  return json{{"RequestId", r.request_id}, {"Ok", r.ok}, {"Code", r.code}, {"Message", r.message}}
      .dump();
}

std::string ToJson(const proto::LogMessage& m) {
  return json{{"Time", m.time_unix_ns},
              {"SPAlias", m.sp_alias},
              {"Service", m.service},
              {"Stream", m.stream},
              {"Contents", m.contents}}
      .dump();
}

}  // namespace spawn
