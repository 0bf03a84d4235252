// FleetCommands: what the gateway asks of the fleet on a user's behalf. The port the API handlers
// depend on; ClientCommands is the real one (over SpawnClient), the unit tests script a fake.
//
// Results as SpawnClient's: a spawnpoint's refusal is a Reply with ok == false and its code; a
// Status error means no answer (kTimeout), no broker (kUnavailable) or a broker refusal
// (kForbidden). Implementations must be callable from several threads at once.
#pragma once

#include <string>
#include <vector>

#include "spawn/client/client.h"

namespace spawn::gateway {

class FleetCommands {
 public:
  virtual ~FleetCommands() = default;
  virtual Result<proto::Reply> Deploy(const std::string& spawnpoint,
                                      proto::DeployRequest request) = 0;
  virtual Result<proto::Reply> Restart(const std::string& spawnpoint,
                                       const std::string& service) = 0;
  virtual Result<proto::Reply> Stop(const std::string& spawnpoint, const std::string& service) = 0;
  // The log history kept for the service, lines at or after `since_unix_ns` (0: all kept).
  virtual Result<std::vector<proto::LogMessage>> Logs(const std::string& spawnpoint,
                                                      const std::string& service,
                                                      int64_t since_unix_ns) = 0;
};

// FleetCommands over a connected SpawnClient, each call bounded by `timeout`. The client must
// outlive this.
class ClientCommands final : public FleetCommands {
 public:
  ClientCommands(SpawnClient& client, Duration timeout) : client_(client), timeout_(timeout) {}
  Result<proto::Reply> Deploy(const std::string& spawnpoint,
                              proto::DeployRequest request) override {
    return client_.Deploy(spawnpoint, std::move(request), timeout_);
  }
  Result<proto::Reply> Restart(const std::string& spawnpoint, const std::string& service) override {
    return client_.Restart(spawnpoint, service, timeout_);
  }
  Result<proto::Reply> Stop(const std::string& spawnpoint, const std::string& service) override {
    return client_.Stop(spawnpoint, service, timeout_);
  }
  Result<std::vector<proto::LogMessage>> Logs(const std::string& spawnpoint,
                                              const std::string& service,
                                              int64_t since_unix_ns) override {
    return client_.Logs(spawnpoint, service, since_unix_ns, timeout_);
  }

 private:
  SpawnClient& client_;
  const Duration timeout_;
};

}  // namespace spawn::gateway
