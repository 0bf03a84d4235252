// A replicated service (a "set"): a deploy.yml with `replicas: N` and an optional `placement:`
// block, applied to a base with `spawnctl fleet apply`. Its replicas are ordinary services named
// `<name>-<k>`, k from 0, labelled with the set, the generation and the placement attempt
// (Label* below), so that any reconciler can tell them apart from a service that merely shares a
// name. Pure data and parsing; no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "spawn/common/config.h"
#include "spawn/common/event_loop.h"
#include "spawn/common/status.h"

namespace spawn::fleet {

// The most replicas one set may have.
inline constexpr int64_t kMaxReplicas = 10000;

// The labels a replica's ServiceConfig carries (ServiceConfig::labels).
inline constexpr const char* kSetLabel = "spawnpoint.fleet/set";
inline constexpr const char* kGenerationLabel = "spawnpoint.fleet/generation";
inline constexpr const char* kAttemptLabel = "spawnpoint.fleet/attempt";

// placement: of deploy.yml.
struct Placement {
  bool spread = true;  // no two replicas of the set on one spawnpoint
  // Matched against the spawnpoints' metadata (!meta/<key>): every pair must be there.
  std::map<std::string, std::string> require;
  // A spawnpoint silent (or offline) this long loses its replicas to others.
  Duration reschedule_after = std::chrono::seconds(60);
  friend bool operator==(const Placement&, const Placement&) = default;
};

// One generation of the set's config. A changed config is a new generation, rolled out one
// replica at a time.
struct Revision {
  int64_t generation = 1;
  ServiceConfig config;  // config.name is the set's name
  friend bool operator==(const Revision&, const Revision&) = default;
};

// The desired state of one set, retained at BASE/s.spawnfleet/<name> (wire.h).
struct FleetSpec {
  std::string name;
  int64_t replicas = 1;
  Placement placement;
  Revision current;
  std::optional<Revision> previous;  // what a failed rollout of `current` goes back to
  bool removed = false;              // `fleet rm`: every replica stops, then the set is cleared
  friend bool operator==(const FleetSpec&, const FleetSpec&) = default;
};

// What a replicated deploy.yml says: the spec without generations (the applier numbers them).
struct FleetConfig {
  int64_t replicas = 1;
  Placement placement;
  ServiceConfig config;
};

// Parses a deploy.yml with `replicas` (required) and `placement` (optional); the rest is read by
// ParseServiceConfig's rules. Errors name the key, the value and what was expected, e.g.
//   web.yml:2: replicas: "-1" is not a number of replicas; expected an integer from 0 to 10000
Result<FleetConfig> ParseFleetConfig(const std::string& yaml_text, const std::string& source_name,
                                     const std::optional<std::string>& name_override = {});
Result<FleetConfig> LoadFleetConfigFile(const std::string& path,
                                        const std::optional<std::string>& name_override = {});

// "<name>-<k>"
std::string ReplicaName(const std::string& set, int64_t replica);
// If `service` is "<set>-<k>" (k without leading zeros), k; else nullopt.
std::optional<int64_t> ReplicaIndex(const std::string& set, const std::string& service);

// A set name: the name of its last replica, `<name>-<replicas - 1>`, must be a valid service name
// (so at most 63 characters with the suffix). 400 naming the limit otherwise.
Status ValidateSetName(const std::string& name, int64_t replicas);

// `config` with the replica's name and the set's labels.
ServiceConfig ReplicaConfig(const ServiceConfig& config, const std::string& set, int64_t replica,
                            int64_t generation, int64_t attempt);

// The set's labels read back from a service's config; nullopt when it carries none (or they are
// malformed), i.e. it is not a replica of any set.
struct ReplicaLabels {
  std::string set;
  int64_t generation = 0;
  int64_t attempt = 0;
};
std::optional<ReplicaLabels> ReadReplicaLabels(const std::map<std::string, std::string>& labels);

}  // namespace spawn::fleet
