// spawnclient: everything spawnctl does, as a C++ API over a connected Bus.
//
// Each call subscribes to the topics its answer comes on before it publishes, so no answer is
// missed. Calls block the calling thread (never a bus thread) up to their timeout and return a
// Status with a message a person can act on: kTimeout when no spawnpoint answered, the spawnpoint's
// own code (400, 403, 404, 409, 503) when it refused. Thread-safe: calls may run concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "spawn/bus/bus.h"
#include "spawn/common/config.h"
#include "spawn/common/status.h"
#include "spawn/proto/messages.h"

namespace spawn {

struct SpawnpointInfo {
  std::string path;
  proto::SpawnpointHeartbeat heartbeat;
  bool presence_online = true;  // false when its presence says offline
  std::map<std::string, proto::ServiceHeartbeat> services;
  std::map<std::string, std::string> metadata;
};

// Reads a deploy.yml and everything it ships: included files and dirs packed into one archive under
// their base names (paths relative to the YAML's folder; a missing one is an error before anything
// is sent), and the entity file's contents.
Result<proto::DeployRequest> PrepareDeploy(const std::string& yaml_path,
                                           const std::optional<std::string>& name_override,
                                           bool replace);

// A fresh random RequestId (128 bits, hex).
std::string NewRequestId();

class SpawnClient {
 public:
  using LogHandler = std::function<void(const proto::LogMessage&)>;
  using HeartbeatHandler = std::function<void(const proto::ServiceHeartbeat&)>;

  // `bus` must be connected and outlive the client; the client installs its message handler.
  explicit SpawnClient(Bus& bus);
  ~SpawnClient();

  // Every spawnpoint under `base` (a path or a prefix of paths), from retained messages: one round
  // trip, ended by a sentinel message that arrives after them.
  Result<std::vector<SpawnpointInfo>> Scan(const std::string& base,
                                           std::chrono::milliseconds timeout);

  Result<proto::Reply> Deploy(const std::string& uri, proto::DeployRequest request,
                              std::chrono::milliseconds timeout);
  Result<proto::Reply> Restart(const std::string& uri, const std::string& service,
                               std::chrono::milliseconds timeout);
  Result<proto::Reply> Stop(const std::string& uri, const std::string& service,
                            std::chrono::milliseconds timeout);
  // The history kept by spawnd, lines at or after `since_unix_ns`.
  Result<std::vector<proto::LogMessage>> Logs(const std::string& uri, const std::string& service,
                                              int64_t since_unix_ns,
                                              std::chrono::milliseconds timeout);
  // The service's current (retained) heartbeat; kNotFound when there is none.
  Result<proto::ServiceHeartbeat> Inspect(const std::string& uri, const std::string& service,
                                          std::chrono::milliseconds timeout);

  // Delivers log lines and heartbeats of a service on the bus thread (handlers must be quick) until
  // the returned handle is destroyed. Subscribed when this returns.
  class Watch {
   public:
    virtual ~Watch() = default;
  };
  Result<std::unique_ptr<Watch>> Follow(const std::string& uri, const std::string& service,
                                        LogHandler on_log, HeartbeatHandler on_heartbeat);

 private:
  struct Route {
    std::string filter;
    std::function<void(const BusMessage&)> handler;
  };
  int AddRoute(const std::string& filter, std::function<void(const BusMessage&)> handler);
  void RemoveRoute(int id);
  Result<proto::Reply> Command(const std::string& uri, const std::string& slot,
                               const std::string& payload, const std::string& request_id,
                               std::chrono::milliseconds timeout);

  Bus& bus_;
  std::mutex mu_;
  std::map<int, Route> routes_;  // guarded by mu_
  int next_route_ = 1;           // guarded by mu_
};

}  // namespace spawn
