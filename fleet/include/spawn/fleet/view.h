// FleetView: what the broker's retained messages say about one base — its spawnpoints (heartbeat,
// presence, metadata, services), the desired sets, their files and statuses, and which spawnpoints
// are drained — as plain data for the reconciler. ViewBuilder keeps a view up to date from the
// messages of ViewBuilder::Filters(base), one message at a time; it does no I/O and is not
// thread-safe (one owner feeds it).
//
// Liveness is the spawnpoint heartbeat's Time, never a service heartbeat's: service heartbeats
// may be sent only when something changed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "spawn/bus/bus.h"
#include "spawn/fleet/fleet_spec.h"
#include "spawn/fleet/wire.h"
#include "spawn/proto/messages.h"

namespace spawn::fleet {

struct ObservedService {
  std::string name;
  proto::ServiceState state = proto::ServiceState::kBuilding;
  std::string health;  // "", "starting", "healthy", "unhealthy"
  int64_t restarts = 0;
  bool has_health_check = false;
  std::optional<ReplicaLabels> labels;  // none: not any set's replica
};

struct ObservedSpawnpoint {
  std::string path;  // BASE/<alias>
  bool has_heartbeat = false;
  bool online = true;             // its retained presence
  int64_t last_seen_unix_ns = 0;  // its heartbeat's Time
  int64_t heartbeat_interval_ms = 0;
  int64_t available_mem_mib = 0;
  int64_t available_cpu_shares = 0;
  std::map<std::string, std::string> metadata;
  std::map<std::string, ObservedService> services;
};

struct FleetView {
  std::map<std::string, ObservedSpawnpoint> spawnpoints;  // by path
  std::map<std::string, FleetSpec> sets;                  // by name
  std::map<std::string, FleetFiles> files;
  std::map<std::string, FleetStatus> statuses;
  std::set<std::string> drained;  // paths
};

class ViewBuilder {
 public:
  explicit ViewBuilder(std::string base);

  // The filters whose messages Apply reads (subscribe to all of them, QoS 1).
  static std::vector<std::string> Filters(const std::string& base);

  // Applies one message; an empty payload clears what its topic held. Returns false for a topic
  // that is none of the view's (ignored) or a payload that does not decode (what it replaced is
  // dropped, as if cleared).
  bool Apply(const BusMessage& message);

  const FleetView& view() const { return view_; }
  FleetView& mutable_view() { return view_; }

 private:
  std::string base_;
  FleetView view_;
};

}  // namespace spawn::fleet
