#include "spawn/fleet/view.h"

#include "spawn/proto/topics.h"

namespace spawn::fleet {
namespace {

constexpr std::string_view kServer = "/s.spawnpoint/server/i.spawnpoint/";
constexpr std::string_view kFleet = "s.spawnfleet/";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

ViewBuilder::ViewBuilder(std::string base) : base_(std::move(base)) {}

std::vector<std::string> ViewBuilder::Filters(const std::string& base) {
  const std::string any = base + "/+";
  return {topics::Heartbeat(any), topics::ServiceHeartbeatWildcard(any), topics::Presence(any),
          topics::MetaWildcard(any), topics::FleetRoot(base) + "/#"};
}

bool ViewBuilder::Apply(const BusMessage& m) {
  if (!StartsWith(m.topic, base_ + "/")) return false;
  const std::string_view rest = std::string_view(m.topic).substr(base_.size() + 1);
  const bool clear = m.payload.empty();

  if (StartsWith(rest, kFleet)) {
    const std::string tail(rest.substr(kFleet.size()));
    if (StartsWith(tail, "!drain/")) {
      const std::string path = base_ + "/" + tail.substr(7);
      if (clear)
        view_.drained.erase(path);
      else
        view_.drained.insert(path);
      return true;
    }
    const size_t slash = tail.find('/');
    const std::string name = tail.substr(0, slash);
    const std::string kind = slash == std::string::npos ? "" : tail.substr(slash + 1);
    if (kind.empty()) {
      auto spec = clear ? Result<FleetSpec>(Status::NotFound("")) : DecodeFleetSpec(m.payload);
      const bool valid = spec.ok() && spec->name == name;
      if (valid)
        view_.sets[name] = std::move(*spec);
      else
        view_.sets.erase(name);
      return clear || valid;
    }
    if (kind == "files") {
      auto files = clear ? Result<FleetFiles>(Status::NotFound("")) : DecodeFleetFiles(m.payload);
      if (files.ok())
        view_.files[name] = std::move(*files);
      else
        view_.files.erase(name);
      return clear || files.ok();
    }
    if (kind == "status") {
      auto status =
          clear ? Result<FleetStatus>(Status::NotFound("")) : DecodeFleetStatus(m.payload);
      if (status.ok())
        view_.statuses[name] = std::move(*status);
      else
        view_.statuses.erase(name);
      return clear || status.ok();
    }
    return false;
  }

  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string path = base_ + "/" + std::string(rest.substr(0, slash));
  const std::string_view after = rest.substr(slash);
  if (!StartsWith(after, kServer)) return false;
  const std::string_view what = after.substr(kServer.size());

  if (what == "signal/heartbeat") {
    if (clear) {
      view_.spawnpoints.erase(path);
      return true;
    }
    auto hb = proto::DecodeSpawnpointHeartbeat(m.payload);
    if (!hb.ok()) return false;
    ObservedSpawnpoint& sp = view_.spawnpoints[path];
    sp.path = path;
    sp.has_heartbeat = true;
    sp.last_seen_unix_ns = hb->time_unix_ns;
    sp.heartbeat_interval_ms = hb->heartbeat_interval_ms;
    sp.available_mem_mib = hb->available_mem_mib;
    sp.available_cpu_shares = hb->available_cpu_shares;
    return true;
  }
  if (what == "signal/presence") {
    ObservedSpawnpoint& sp = view_.spawnpoints[path];
    sp.path = path;
    sp.online = m.payload != "offline";
    return true;
  }
  if (StartsWith(what, "signal/heartbeat/")) {
    const std::string name(what.substr(17));
    ObservedSpawnpoint& sp = view_.spawnpoints[path];
    sp.path = path;
    if (clear) {
      sp.services.erase(name);
      return true;
    }
    auto hb = proto::DecodeServiceHeartbeat(m.payload);
    if (!hb.ok()) {
      sp.services.erase(name);
      return false;
    }
    ObservedService& svc = sp.services[name];
    svc.name = name;
    svc.state = hb->state;
    svc.health = hb->health;
    svc.restarts = hb->restarts;
    svc.has_health_check = hb->original_config.health_check.has_value();
    svc.labels = ReadReplicaLabels(hb->original_config.labels);
    return true;
  }
  if (StartsWith(what, "!meta/")) {
    ObservedSpawnpoint& sp = view_.spawnpoints[path];
    sp.path = path;
    const std::string key(what.substr(6));
    if (clear)
      sp.metadata.erase(key);
    else
      sp.metadata[key] = m.payload;
    return true;
  }
  return false;
}

}  // namespace spawn::fleet
