// FleetClient: what `spawnctl fleet` does, over a Bus: read the fleet of a base from the retained
// messages, write desired sets (apply, scale, rm), drain and undrain spawnpoints, and wait for a
// rollout to end. It decides nothing about placement: the reconcilers (reconciler.h, run by
// spawnd) act on what it writes.
//
// Threading: the bus handler only feeds the view under a lock and wakes waiters; calls block the
// calling thread (never the bus's) and may not run concurrently with each other. Install it
// before bus.Connect(); the bus must outlive it.
#pragma once

#include <string>

#include "spawn/bus/bus.h"
#include "spawn/common/event_loop.h"
#include "spawn/common/mutex.h"
#include "spawn/fleet/fleet_spec.h"
#include "spawn/fleet/view.h"
#include "spawn/fleet/wire.h"

namespace spawn::fleet {

// What apply wrote.
struct Applied {
  FleetSpec spec;
  bool changed_config = false;  // a new generation, rolled out one replica at a time
};

class FleetClient {
 public:
  explicit FleetClient(Bus& bus);
  ~FleetClient();
  FleetClient(const FleetClient&) = delete;
  FleetClient& operator=(const FleetClient&) = delete;

  // The base's retained fleet messages (sets, files, statuses, drains) and, with
  // `with_spawnpoints`, its spawnpoints' heartbeats too, in one round trip (a marker published
  // after subscribing comes back after every retained message). kTimeout when it does not.
  Result<FleetView> Read(const std::string& base, Duration timeout, bool with_spawnpoints = false);

  // Writes the set `config.config.name` of `base`: the files first, then the spec, both retained.
  // A changed config or changed files make a new generation, whose previous is the one running
  // (after a failed rollout, the one it went back to); the same config keeps the generation.
  Result<Applied> Apply(const std::string& base, const FleetConfig& config,
                        const std::string& archive, const std::string& entity, Duration timeout);
  // A new replica count for an existing set. kNotFound when there is none.
  Result<FleetSpec> Scale(const std::string& base, const std::string& name, int64_t replicas,
                          Duration timeout);
  // Marks the set removed: the reconcilers stop every replica, then clear its topics.
  Status Remove(const std::string& base, const std::string& name, Duration timeout);
  // Drains (or undrains) the spawnpoint at `path` (BASE/<alias>).
  Status Drain(const std::string& path, bool drained);

  // Waits until the set's status is about `generation` and its rollout has ended: the status
  // (done or failed). kTimeout with the last status seen when it did not end in time; kNotFound
  // when the set was cleared meanwhile.
  Result<FleetStatus> WaitForRollout(const std::string& base, const std::string& name,
                                     int64_t generation, Duration timeout);

 private:
  void OnMessage(const BusMessage& m) EXCLUDES(mu_);
  Status Subscribe(const std::vector<std::string>& filters);
  void UnsubscribeAll();

  Bus& bus_;
  Mutex mu_;
  CondVar cv_;
  std::unique_ptr<ViewBuilder> builder_ GUARDED_BY(mu_);
  std::string marker_ GUARDED_BY(mu_);  // the topic whose message ends a Read
  bool marker_seen_ GUARDED_BY(mu_) = false;
  std::vector<std::string> subscribed_;
};

}  // namespace spawn::fleet
