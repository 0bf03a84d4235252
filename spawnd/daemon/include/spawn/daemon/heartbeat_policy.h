// HeartbeatPolicy: report by exception. It decides when a service's heartbeat goes out again: when
// what it reports changed (state, restarts, exit code, health, back-off, container, memory or CPU
// allocation: a new deployment changes the container), or when its usage moved past the deadband:
// - memory: by more than the larger of `mem_bytes` and `mem_percent` % of the figure last
//   published, or from none (no sample yet, 0) to any, or back;
// - CPU: by more than `cpu_points` percentage points (docker stats' scale, 100 = one core) from
//   the figure last published, in `cpu_samples` samples in a row (a one-sample spike is not news).
// Never merely because time passed: the spawnpoint heartbeat is the periodic liveness signal, and
// it vouches for the services' retained reports. Network and block I/O counters and a changed
// HealthOutput alone publish nothing; they travel with the next heartbeat that goes out.
//
// It keeps, per service, what was last published. Time is not its business: the daemon calls
// Sampled() once per heartbeat interval (each call is one usage sample). Not thread-safe: the
// daemon's loop thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "spawn/core/supervisor.h"

namespace spawn {

class HeartbeatPolicy {
 public:
  struct Deadband {
    int64_t mem_bytes = 1024 * 1024;
    int64_t mem_percent = 10;
    int64_t cpu_points = 5;
    int cpu_samples = 2;
  };

  explicit HeartbeatPolicy(Deadband deadband) : deadband_(deadband) {}

  // One periodic look at `service` with a fresh usage sample: true when its heartbeat should go
  // out now (a service never published counts as changed); the caller then publishes it and calls
  // Published().
  bool Sampled(const ServiceSnapshot& service);
  // `service`'s heartbeat went out (for any reason): later samples are compared with it.
  void Published(const ServiceSnapshot& service);
  // The service is gone: a service of the same name later starts afresh.
  void Forget(const std::string& name) { last_.erase(name); }

  const Deadband& deadband() const { return deadband_; }

 private:
  // What was last published, as far as a change of it is news.
  struct Last {
    proto::ServiceState state = proto::ServiceState::kBuilding;
    std::string container_id;
    int64_t restarts = 0;
    int64_t exit_code = 0;
    Duration backoff{0};
    std::string health;
    int64_t mem_alloc_bytes = 0;
    int64_t cpu_shares = 0;
    int64_t memory_usage_bytes = 0;
    double cpu_percent = 0;
    int cpu_samples_outside = 0;  // samples in a row past the CPU deadband
  };
  static bool Changed(const Last& was, const ServiceSnapshot& now);
  bool MemoryMoved(int64_t was, int64_t now) const;

  const Deadband deadband_;
  std::map<std::string, Last> last_;
};

}  // namespace spawn
