// How `spawnctl fleet ls` shows a base's sets: text for people, one JSON object per set for
// programs. Pure functions of a FleetView (FleetClient::Read).
#pragma once

#include <string>

#include "spawn/fleet/view.h"

namespace spawn::fleet {

// Each set (or only `name`, when given): its desired and running counts, its rollout, where each
// replica runs, what is pending and why, its conflicts; then the drained spawnpoints. "" when the
// base has no set.
std::string FormatFleet(const FleetView& view, const std::string& name = "");

// One line of JSON per set: {"Name", "Generation", "Desired", "Running", "Removed", "Rollout",
// "Updated", "Message", "Replicas": [{"Replica", "Path", "State", "Generation"}], "Pending":
// [{"Replica", "Reason"}], "Conflicts", "Drained"}. A set no reconciler reported on has
// "Rollout": "unknown".
std::string FleetJson(const FleetView& view, const std::string& name = "");

}  // namespace spawn::fleet
