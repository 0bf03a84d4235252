#include "spawn/proto/topics.h"

namespace spawn::topics {
namespace {

const std::string kServer = "/server/i.spawnpoint";
const std::string kRootSuffix = "/s.spawnpoint";
const std::string kHeartbeatSuffix = kRootSuffix + kServer + "/signal/heartbeat";

std::string Slot(const std::string& path, const char* name) {
  return Root(path) + kServer + "/slot/" + name;
}
std::string Signal(const std::string& path, const std::string& name) {
  return Root(path) + kServer + "/signal/" + name;
}

}  // namespace

std::string Root(const std::string& path) { return path + kRootSuffix; }
std::string ConfigSlot(const std::string& path) { return Slot(path, "config"); }
std::string RestartSlot(const std::string& path) { return Slot(path, "restart"); }
std::string StopSlot(const std::string& path) { return Slot(path, "stop"); }
std::string RollbackSlot(const std::string& path) { return Slot(path, "rollback"); }
std::string LogsSlot(const std::string& path) { return Slot(path, "logs"); }
std::string JobsSlot(const std::string& path) { return Slot(path, "jobs"); }
std::string MetaSlot(const std::string& path) { return Slot(path, "meta"); }
std::string Reply(const std::string& path, const std::string& id) {
  return Signal(path, "reply/" + id);
}
std::string Heartbeat(const std::string& path) { return Signal(path, "heartbeat"); }
std::string Presence(const std::string& path) { return Signal(path, "presence"); }
std::string ServiceHeartbeat(const std::string& path, const std::string& service) {
  return Signal(path, "heartbeat/" + service);
}
std::string ServiceHeartbeatWildcard(const std::string& path) {
  return Signal(path, "heartbeat/+");
}
std::string Meta(const std::string& path, const std::string& key) {
  return Root(path) + kServer + "/!meta/" + key;
}
std::string MetaWildcard(const std::string& path) { return Root(path) + kServer + "/!meta/+"; }
std::string LogsReply(const std::string& path, const std::string& id) {
  return Signal(path, "logs/" + id);
}
std::string JobsReply(const std::string& path, const std::string& id) {
  return Signal(path, "jobs/" + id);
}
std::string JobEnd(const std::string& path, const std::string& job_id) {
  return Signal(path, "job/" + job_id);
}
std::string ServiceTopic(const std::string& path, const std::string& service) {
  return Root(path) + "/" + service;
}
std::string ServiceLog(const std::string& path, const std::string& service) {
  return ServiceTopic(path, service) + "/i.spawnable/signal/log";
}

std::string FleetRoot(const std::string& base) { return base + "/s.spawnfleet"; }
std::string FleetSet(const std::string& base, const std::string& name) {
  return FleetRoot(base) + "/" + name;
}
std::string FleetFiles(const std::string& base, const std::string& name) {
  return FleetSet(base, name) + "/files";
}
std::string FleetStatus(const std::string& base, const std::string& name) {
  return FleetSet(base, name) + "/status";
}
std::string FleetDrain(const std::string& base, const std::string& alias) {
  return FleetRoot(base) + "/!drain/" + alias;
}

std::optional<std::string> PathOfHeartbeat(const std::string& topic) {
  if (topic.size() <= kHeartbeatSuffix.size() ||
      topic.compare(topic.size() - kHeartbeatSuffix.size(), kHeartbeatSuffix.size(),
                    kHeartbeatSuffix) != 0) {
    return std::nullopt;
  }
  return topic.substr(0, topic.size() - kHeartbeatSuffix.size());
}

}  // namespace spawn::topics
