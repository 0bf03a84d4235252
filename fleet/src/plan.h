// One set's pass of the reconciler (reconciler.h states the rules): private to spawn::fleet.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "spawn/fleet/reconciler.h"

namespace spawn::fleet {

struct SetContext {
  const ReconcilerOptions& options;
  const FleetView& view;
  const FleetSpec& spec;
  int64_t now;
  const std::map<std::string, InFlightAction>& in_flight;
  const Refusals& refused;
  const std::map<std::string, int64_t>& max_attempt;
  std::map<std::string, int64_t>& not_ready_since;
  const std::set<std::string>& answered;          // RequestIds already answered: never sent again
  RolloutState rollout = RolloutState::kRolling;  // as remembered or shared
  std::string rollout_message;
};

struct SetResult {
  std::vector<Action> actions;
  FleetStatus status;
  bool cleared = false;         // a removed set with nothing left running
  std::string rollout_message;  // why the rollout failed, to remember
};

SetResult PlanSet(const SetContext& ctx);

}  // namespace spawn::fleet
