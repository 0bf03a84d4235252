#include "spawn/gateway/metrics.h"

#include <cmath>
#include <cstdio>
#include <functional>

namespace spawn::gateway {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kMB = 1e6;  // docker stats' network and block I/O unit

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

struct Family {
  const char* name;
  const char* type;
  const char* help;
};

class Writer {
 public:
  void Begin(const Family& f) {
    out_ += "# HELP ";
    out_ += f.name;
    out_ += ' ';
    out_ += f.help;
    out_ += "\n# TYPE ";
    out_ += f.name;
    out_ += ' ';
    out_ += f.type;
    out_ += '\n';
  }
  void Sample(const Family& f, const std::vector<std::pair<std::string, std::string>>& labels,
              double value) {
    out_ += f.name;
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += labels[i].first + "=\"" + EscapeLabelValue(labels[i].second) + '"';
    }
    out_ += "} " + Number(value) + '\n';
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

using Labels = std::vector<std::pair<std::string, std::string>>;

const Family kUp{"spawnpoint_up", "gauge",
                 "1 when the spawnpoint's heartbeat is fresh and it did not go offline, else 0."};
const Family kLastSeen{"spawnpoint_last_heartbeat_timestamp_seconds", "gauge",
                       "When the spawnpoint last sent its heartbeat (unix time)."};
const Family kMem{"spawnpoint_memory_bytes", "gauge", "Memory the spawnpoint offers to services."};
const Family kMemFree{"spawnpoint_memory_available_bytes", "gauge",
                      "Memory not yet allocated to a service."};
const Family kCpu{"spawnpoint_cpu_shares", "gauge", "CPU shares the spawnpoint offers."};
const Family kCpuFree{"spawnpoint_cpu_shares_available", "gauge",
                      "CPU shares not yet allocated to a service."};
const Family kState{"spawnpoint_service_state", "gauge",
                    "1 for the state the service is in (label state), 0 for the others."};
const Family kSvcUp{"spawnpoint_service_up", "gauge",
                    "1 when the service runs on a spawnpoint that is up, else 0."};
const Family kSvcCpu{"spawnpoint_service_cpu_percent", "gauge",
                     "CPU use as docker stats shows it (100 = one core)."};
const Family kSvcMem{"spawnpoint_service_memory_used_bytes", "gauge",
                     "Memory the service's container uses."};
const Family kSvcAlloc{"spawnpoint_service_memory_allocated_bytes", "gauge",
                       "Memory allocated to the service (its deploy.yml's memAlloc)."};
const Family kSvcShares{"spawnpoint_service_cpu_shares", "gauge",
                        "CPU shares allocated to the service."};
const Family kSvcRestarts{"spawnpoint_service_restarts_total", "counter",
                          "Times the service was restarted since it was deployed."};
const Family kSvcExit{"spawnpoint_service_last_exit_code", "gauge",
                      "Exit code of the service's container when it last ended."};
const Family kSvcRx{"spawnpoint_service_network_receive_bytes_total", "counter",
                    "Bytes the service's container received."};
const Family kSvcTx{"spawnpoint_service_network_transmit_bytes_total", "counter",
                    "Bytes the service's container sent."};
const Family kSvcRead{"spawnpoint_service_block_read_bytes_total", "counter",
                      "Bytes the service's container read from block devices."};
const Family kSvcWritten{"spawnpoint_service_block_written_bytes_total", "counter",
                         "Bytes the service's container wrote to block devices."};

constexpr proto::ServiceState kStates[] = {
    proto::ServiceState::kBuilding, proto::ServiceState::kStarting,   proto::ServiceState::kRunning,
    proto::ServiceState::kExited,   proto::ServiceState::kRestarting, proto::ServiceState::kZombie};

}  // namespace

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string RenderMetrics(const std::vector<SpawnpointInfo>& fleet, int64_t now_unix_ns,
                          Duration down_after) {
  Writer w;
  auto sp_labels = [](const SpawnpointInfo& sp) {
    return Labels{{"spawnpoint", sp.path}, {"alias", sp.heartbeat.alias}};
  };
  auto per_spawnpoint = [&](const Family& f,
                            const std::function<double(const SpawnpointInfo&)>& v) {
    w.Begin(f);
    for (const auto& sp : fleet) w.Sample(f, sp_labels(sp), v(sp));
  };
  per_spawnpoint(kUp, [&](const SpawnpointInfo& sp) {
    return IsDown(sp, now_unix_ns, down_after) ? 0.0 : 1.0;
  });
  per_spawnpoint(kLastSeen, [](const SpawnpointInfo& sp) { return sp.last_seen_unix_ns / 1e9; });
  per_spawnpoint(kMem, [](const SpawnpointInfo& sp) { return sp.heartbeat.total_mem_mib * kMiB; });
  per_spawnpoint(kMemFree,
                 [](const SpawnpointInfo& sp) { return sp.heartbeat.available_mem_mib * kMiB; });
  per_spawnpoint(kCpu, [](const SpawnpointInfo& sp) {
    return static_cast<double>(sp.heartbeat.total_cpu_shares);
  });
  per_spawnpoint(kCpuFree, [](const SpawnpointInfo& sp) {
    return static_cast<double>(sp.heartbeat.available_cpu_shares);
  });

  auto svc_labels = [](const SpawnpointInfo& sp, const proto::ServiceHeartbeat& hb) {
    return Labels{{"spawnpoint", sp.path}, {"alias", sp.heartbeat.alias}, {"service", hb.name}};
  };
  w.Begin(kState);
  for (const auto& sp : fleet) {
    for (const auto& [name, hb] : sp.services) {
      for (proto::ServiceState state : kStates) {
        Labels labels = svc_labels(sp, hb);
        labels.emplace_back("state", proto::ToString(state));
        w.Sample(kState, labels, hb.state == state ? 1 : 0);
      }
    }
  }
  auto per_service =
      [&](const Family& f,
          const std::function<double(const SpawnpointInfo&, const proto::ServiceHeartbeat&)>& v) {
        w.Begin(f);
        for (const auto& sp : fleet)
          for (const auto& [name, hb] : sp.services) w.Sample(f, svc_labels(sp, hb), v(sp, hb));
      };
  per_service(kSvcUp, [&](const SpawnpointInfo& sp, const proto::ServiceHeartbeat& hb) {
    return hb.state == proto::ServiceState::kRunning && !IsDown(sp, now_unix_ns, down_after) ? 1.0
                                                                                             : 0.0;
  });
  using HB = proto::ServiceHeartbeat;
  using SP = SpawnpointInfo;
  per_service(kSvcCpu, [](const SP&, const HB& hb) { return hb.cpu_percent; });
  per_service(kSvcMem, [](const SP&, const HB& hb) { return hb.mem_usage_mib * kMiB; });
  per_service(kSvcAlloc, [](const SP&, const HB& hb) { return hb.mem_alloc_mib * kMiB; });
  per_service(kSvcShares,
              [](const SP&, const HB& hb) { return static_cast<double>(hb.cpu_shares); });
  per_service(kSvcRestarts,
              [](const SP&, const HB& hb) { return static_cast<double>(hb.restarts); });
  per_service(kSvcExit, [](const SP&, const HB& hb) { return static_cast<double>(hb.exit_code); });
  per_service(kSvcRx, [](const SP&, const HB& hb) { return hb.network_rx_mb * kMB; });
  per_service(kSvcTx, [](const SP&, const HB& hb) { return hb.network_tx_mb * kMB; });
  per_service(kSvcRead, [](const SP&, const HB& hb) { return hb.mb_read * kMB; });
  per_service(kSvcWritten, [](const SP&, const HB& hb) { return hb.mb_written * kMB; });
  return w.Take();
}

}  // namespace spawn::gateway
