// The fleet's retained messages (topics: spawn/proto/topics.h, Fleet*) as structs with their
// msgpack codec, CamelCase keys as the rest of the bus. No I/O. Decoding never throws: malformed
// input is a kBadRequest naming the key. Unknown keys are ignored.
//
//   BASE/s.spawnfleet/<name>         FleetSpec  {Name, Replicas, Placement: {Spread, Require,
//                                    RescheduleAfter}, Current: {Generation, Config}, Previous,
//                                    Removed}; Config a map as deploy.yml (as slot/config's)
//   BASE/s.spawnfleet/<name>/files   FleetFiles {Generation, Archive, Entity, PreviousArchive,
//                                    PreviousEntity}: what a deploy ships (viewers may not read it)
//   BASE/s.spawnfleet/<name>/status  FleetStatus (below), written by the reconcilers
//   BASE/s.spawnfleet/!drain/<alias> "drained"; an empty retained payload undrains
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spawn/common/status.h"
#include "spawn/fleet/fleet_spec.h"

namespace spawn::fleet {

struct FleetFiles {
  int64_t generation = 0;  // the spec generation `archive` and `entity` belong to
  std::string archive;     // tar of included files and dirs
  std::string entity;      // the entity file's contents
  std::string previous_archive;
  std::string previous_entity;
  friend bool operator==(const FleetFiles&, const FleetFiles&) = default;
};

enum class RolloutState { kRolling, kDone, kFailed };
const char* ToString(RolloutState state);

// Where one replica runs, as the reconciler saw it.
struct ReplicaPlace {
  int64_t replica = 0;
  std::string path;
  std::string state;  // the service heartbeat's State ("running", ...), or "deploying"
  int64_t generation = 0;
  friend bool operator==(const ReplicaPlace&, const ReplicaPlace&) = default;
};

struct PendingReplica {
  int64_t replica = 0;
  std::string reason;  // e.g. "no spawnpoint under site has 512 MiB free"
  friend bool operator==(const PendingReplica&, const PendingReplica&) = default;
};

// What a reconciler made of a set: {Name, Generation, Desired, Running, Replicas, Pending,
// Conflicts, Rollout, Updated, Message}. Retained; published when it changes.
struct FleetStatus {
  std::string name;
  int64_t generation = 0;  // the spec's generation this status is about
  int64_t desired = 0;
  int64_t running = 0;  // replicas running (and healthy, with a health check)
  std::vector<ReplicaPlace> replicas;
  std::vector<PendingReplica> pending;
  std::vector<std::string> conflicts;  // services of a replica's name not labelled as the set's
  RolloutState rollout = RolloutState::kRolling;
  int64_t updated = 0;  // replicas at `generation` and ready
  std::string message;  // why the rollout failed, or what it rolled back to
  friend bool operator==(const FleetStatus&, const FleetStatus&) = default;
};

inline constexpr const char* kDrainedPayload = "drained";

std::string Encode(const FleetSpec& spec);
std::string Encode(const FleetFiles& files);
std::string Encode(const FleetStatus& status);
Result<FleetSpec> DecodeFleetSpec(const std::string& bytes);
Result<FleetFiles> DecodeFleetFiles(const std::string& bytes);
Result<FleetStatus> DecodeFleetStatus(const std::string& bytes);

}  // namespace spawn::fleet
