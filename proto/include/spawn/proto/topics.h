// Topic names of the spawnpoint bus (design.md, "Topics"). Everything lives under
// "<path>/s.spawnpoint/". Pure string functions, no I/O.
#pragma once

#include <optional>
#include <string>

namespace spawn::topics {

std::string Root(const std::string& path);  // <path>/s.spawnpoint
std::string ConfigSlot(const std::string& path);
std::string RestartSlot(const std::string& path);
std::string StopSlot(const std::string& path);
std::string RollbackSlot(const std::string& path);  // .../slot/rollback
std::string LogsSlot(const std::string& path);
std::string JobsSlot(const std::string& path);  // .../slot/jobs
std::string MetaSlot(const std::string& path);  // .../slot/meta
std::string Reply(const std::string& path, const std::string& request_id);
std::string Heartbeat(const std::string& path);
std::string Presence(const std::string& path);
std::string ServiceHeartbeat(const std::string& path, const std::string& service);
std::string ServiceHeartbeatWildcard(const std::string& path);  // .../signal/heartbeat/+
std::string Meta(const std::string& path, const std::string& key);
std::string MetaWildcard(const std::string& path);  // .../!meta/+
std::string LogsReply(const std::string& path, const std::string& request_id);
std::string JobsReply(const std::string& path, const std::string& request_id);  // signal/jobs/<id>
std::string JobEnd(const std::string& path, const std::string& job_id);         // signal/job/<id>
// <path>/s.spawnpoint/<service>: SPAWNPOINT_SERVICE_TOPIC.
std::string ServiceTopic(const std::string& path, const std::string& service);
// <service topic>/i.spawnable/signal/log
std::string ServiceLog(const std::string& path, const std::string& service);

// The fleet's topics (spawn/fleet), under a base rather than a spawnpoint's path, all retained:
// BASE/s.spawnfleet/<name> a set's desired state, .../<name>/files its archive and entity (which
// viewers may not read), .../<name>/status what a reconciler made of it, and
// BASE/s.spawnfleet/!drain/<alias> a drained spawnpoint BASE/<alias>.
std::string FleetRoot(const std::string& base);  // BASE/s.spawnfleet
std::string FleetSet(const std::string& base, const std::string& name);
std::string FleetFiles(const std::string& base, const std::string& name);
std::string FleetStatus(const std::string& base, const std::string& name);
std::string FleetDrain(const std::string& base, const std::string& alias);

// If `topic` is a spawnpoint heartbeat topic, the spawnpoint's path; else nullopt.
std::optional<std::string> PathOfHeartbeat(const std::string& topic);

}  // namespace spawn::topics
