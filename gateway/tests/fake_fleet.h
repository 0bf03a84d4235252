// Test doubles for the gateway: FakeFleetCommands records what it was asked and answers with what
// the test scripted; ScriptedFleet feeds a FleetState the messages a spawnpoint would publish.
#pragma once

#include <string>
#include <vector>

#include "spawn/gateway/commands.h"
#include "spawn/gateway/fleet_state.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

namespace spawn::gateway_testing {

class FakeFleetCommands final : public gateway::FleetCommands {
 public:
  struct Call {
    std::string what;  // "deploy", "restart", "stop", "logs"
    std::string spawnpoint;
    std::string service;
    int64_t since = 0;
    proto::DeployRequest deploy;
  };

  Result<proto::Reply> Deploy(const std::string& spawnpoint,
                              proto::DeployRequest request) override {
    calls.push_back({"deploy", spawnpoint, request.config.name, 0, request});
    return reply;
  }
  Result<proto::Reply> Restart(const std::string& spawnpoint, const std::string& service) override {
    calls.push_back({"restart", spawnpoint, service, 0, {}});
    return reply;
  }
  Result<proto::Reply> Stop(const std::string& spawnpoint, const std::string& service) override {
    calls.push_back({"stop", spawnpoint, service, 0, {}});
    return reply;
  }
  Result<std::vector<proto::LogMessage>> Logs(const std::string& spawnpoint,
                                              const std::string& service,
                                              int64_t since_unix_ns) override {
    calls.push_back({"logs", spawnpoint, service, since_unix_ns, {}});
    return logs;
  }

  std::vector<Call> calls;
  Result<proto::Reply> reply = proto::Reply{"r1", true, 200, "deployed"};
  Result<std::vector<proto::LogMessage>> logs = std::vector<proto::LogMessage>{};
};

constexpr int64_t kSecond = 1000000000;

inline proto::SpawnpointHeartbeat SpawnpointBeat(const std::string& alias, int64_t time,
                                                 std::vector<std::string> services = {}) {
  proto::SpawnpointHeartbeat hb;
  hb.alias = alias;
  hb.time_unix_ns = time;
  hb.version = "0.1.0";
  hb.total_mem_mib = 4096;
  hb.available_mem_mib = 3072;
  hb.total_cpu_shares = 1024;
  hb.available_cpu_shares = 512;
  hb.services = std::move(services);
  hb.heartbeat_interval_ms = 5000;
  return hb;
}

inline proto::ServiceHeartbeat ServiceBeat(const std::string& path, const std::string& name,
                                           int64_t time, proto::ServiceState state) {
  proto::ServiceHeartbeat hb;
  hb.spawnpoint_uri = path;
  hb.name = name;
  hb.time_unix_ns = time;
  hb.state = state;
  hb.container_id = "c0ffee";
  hb.mem_alloc_mib = 512;
  hb.cpu_shares = 256;
  hb.mem_usage_mib = 100.5;
  hb.cpu_percent = 12.5;
  hb.network_rx_mb = 1.5;
  hb.network_tx_mb = 0.25;
  hb.mb_read = 2;
  hb.mb_written = 3;
  hb.restarts = 2;
  hb.exit_code = 137;
  hb.original_config.name = name;
  hb.original_config.image = "busybox";
  hb.original_config.run = {"sh", "-c", "sleep 1000"};
  hb.original_config.mem_alloc_bytes = 512 * 1024 * 1024;
  hb.original_config.cpu_shares = 256;
  return hb;
}

inline BusMessage Retained(std::string topic, std::string payload) {
  return BusMessage{std::move(topic), std::move(payload), 1, true};
}

}  // namespace spawn::gateway_testing
