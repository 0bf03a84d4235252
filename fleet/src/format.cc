#include "spawn/fleet/format.h"

#include <nlohmann/json.hpp>

namespace spawn::fleet {
namespace {

const FleetStatus* StatusOf(const FleetView& view, const FleetSpec& spec) {
  auto it = view.statuses.find(spec.name);
  return it == view.statuses.end() ? nullptr : &it->second;
}

}  // namespace

std::string FormatFleet(const FleetView& view, const std::string& name) {
  std::string out;
  for (const auto& [set, spec] : view.sets) {
    if (!name.empty() && set != name) continue;
    const FleetStatus* st = StatusOf(view, spec);
    out += set + "  generation " + std::to_string(spec.current.generation) + "  desired " +
           std::to_string(spec.removed ? 0 : spec.replicas);
    if (spec.removed) out += " (removed)";
    if (!st) {
      out += "  (no reconciler has reported on it: run spawnd with fleet: in its spawnd.yml)\n";
      continue;
    }
    out += "  running " + std::to_string(st->running) + "  rollout " + ToString(st->rollout);
    if (st->generation == spec.current.generation && st->rollout == RolloutState::kRolling)
      out +=
          " (" + std::to_string(st->updated) + " of " + std::to_string(st->desired) + " updated)";
    if (st->generation != spec.current.generation) out += " (reported for an older generation)";
    out += "\n";
    if (!st->message.empty()) out += "  " + st->message + "\n";
    for (const auto& r : st->replicas) {
      out += "  " + ReplicaName(set, r.replica) + "  " + r.path + "  " + r.state + "  generation " +
             std::to_string(r.generation) + "\n";
    }
    for (const auto& p : st->pending)
      out += "  " + ReplicaName(set, p.replica) + "  pending: " + p.reason + "\n";
    for (const auto& c : st->conflicts) out += "  conflict: " + c + "\n";
  }
  for (const auto& path : view.drained) out += "drained: " + path + "\n";
  return out;
}

std::string FleetJson(const FleetView& view, const std::string& name) {
  std::string out;
  for (const auto& [set, spec] : view.sets) {
    if (!name.empty() && set != name) continue;
    const FleetStatus* st = StatusOf(view, spec);
    nlohmann::json j;
    j["Name"] = set;
    j["Generation"] = spec.current.generation;
    j["Desired"] = spec.removed ? 0 : spec.replicas;
    j["Removed"] = spec.removed;
    j["Rollout"] = st ? ToString(st->rollout) : "unknown";
    j["Running"] = st ? st->running : 0;
    j["Updated"] = st ? st->updated : 0;
    j["Message"] = st ? st->message : "";
    j["Replicas"] = nlohmann::json::array();
    j["Pending"] = nlohmann::json::array();
    j["Conflicts"] = nlohmann::json::array();
    if (st) {
      for (const auto& r : st->replicas) {
        j["Replicas"].push_back({{"Replica", r.replica},
                                 {"Path", r.path},
                                 {"State", r.state},
                                 {"Generation", r.generation}});
      }
      for (const auto& p : st->pending)
        j["Pending"].push_back({{"Replica", p.replica}, {"Reason", p.reason}});
      for (const auto& c : st->conflicts) j["Conflicts"].push_back(c);
    }
    j["Drained"] =
        nlohmann::json(std::vector<std::string>(view.drained.begin(), view.drained.end()));
    out += j.dump() + "\n";
  }
  return out;
}

}  // namespace spawn::fleet
