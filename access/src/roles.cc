#include "spawn/access/roles.h"

#include "spawn/proto/topics.h"

namespace spawn::access {
namespace {

constexpr const char* kRolePrefix = "sp-";

std::string Server(const std::string& path) { return topics::Root(path) + "/server/i.spawnpoint"; }
std::string Slots(const std::string& path) { return Server(path) + "/slot"; }
// Every spawnpoint directly under `base`, as a filter prefix.
std::string AnyPathOf(const std::string& base) { return base + "/+"; }

Acl Allow(AclType type, std::string topic) {
  return Acl{type, std::move(topic), true, kAllowPriority};
}
Acl Deny(AclType type, std::string topic) {
  return Acl{type, std::move(topic), false, kDenyPriority};
}

// What spawnctl scan (and logs and inspect, which scan the spawnpoint first) publish: a marker
// under the scanned base or path (spawnclient's Scan: BASE/s.spawnctl/sync/<id>).
std::vector<Acl> ScanMarkers(const std::string& base) {
  return {Allow(AclType::kPublishClientSend, base + "/s.spawnctl/sync/+"),
          Allow(AclType::kPublishClientSend, AnyPathOf(base) + "/s.spawnctl/sync/+")};
}

// Reading a base: subscribe to anything under it, receive anything but the slots.
std::vector<Acl> ReadBase(const std::string& base) {
  return {Allow(AclType::kSubscribePattern, base + "/#"),
          Deny(AclType::kPublishClientReceive, Slots(AnyPathOf(base)) + "/#")};
}

Status CheckLevels(const std::string& value, const char* what, const char* expected,
                   size_t min_levels) {
  const std::string prefix = std::string(what) + " \"" + value + "\" ";
  if (value.empty())
    return Status::BadRequest(std::string(what) + " is empty; expected " + expected);
  if (value.find_first_of("+#") != std::string::npos)
    return Status::BadRequest(prefix + "has a wildcard (+ or #); expected " + expected);
  if (value.front() == '$')
    return Status::BadRequest(prefix + "starts with $ (a broker topic); expected " + expected);
  size_t levels = 1;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '/') continue;
    if (i == 0 || i + 1 == value.size() || value[i + 1] == '/')
      return Status::BadRequest(prefix + "has an empty level; expected " + expected);
    ++levels;
  }
  if (levels < min_levels)
    return Status::BadRequest(prefix + "has " + std::to_string(levels) + " level; expected " +
                              expected);
  return Status::Ok();
}

}  // namespace

const char* ToString(AclType type) {
  switch (type) {
    case AclType::kPublishClientSend:
      return "publishClientSend";
    case AclType::kPublishClientReceive:
      return "publishClientReceive";
    case AclType::kSubscribeLiteral:
      return "subscribeLiteral";
    case AclType::kSubscribePattern:
      return "subscribePattern";
    case AclType::kUnsubscribeLiteral:
      return "unsubscribeLiteral";
    case AclType::kUnsubscribePattern:
      return "unsubscribePattern";
  }
  return "?";
}

Status ValidateBase(const std::string& base) {
  return CheckLevels(base, "base", "levels separated by /, like fleet or site/lab", 1);
}

Status ValidatePath(const std::string& path) {
  return CheckLevels(path, "path", "BASE/<alias>, like fleet/alpha (at least two levels)", 2);
}

std::string BaseOf(const std::string& path) { return path.substr(0, path.rfind('/')); }

Status ValidateUserName(const std::string& name) {
  if (name.empty()) return Status::BadRequest("user name is empty; expected a name like alice");
  for (unsigned char c : name) {
    if (c <= ' ' || c == 0x7f)
      return Status::BadRequest("user name \"" + name +
                                "\" has a space or control character; expected a name like alice");
  }
  if (name.rfind("sp:", 0) == 0 || name.rfind("sp-svc:", 0) == 0)
    return Status::BadRequest("user name \"" + name +
                              "\" is reserved for spawnpoints (sp:, sp-svc:); expected another "
                              "name, like alice");
  return Status::Ok();
}

std::string HostUsername(const std::string& path) { return "sp:" + path; }
std::string ServicesUsername(const std::string& path) { return "sp-svc:" + path; }

Role HostRole(const std::string& path) {
  // Everything spawnd publishes is under its root: presence (and its will), metadata, heartbeats,
  // replies, log replies and its services' log lines. It subscribes to its slots only.
  return Role{std::string(kRolePrefix) + "host:" + path,
              "spawnpoint " + path + ": publishes under its root, reads its own slots",
              {Allow(AclType::kPublishClientSend, topics::Root(path) + "/#"),
               Allow(AclType::kSubscribePattern, Slots(path) + "/+")}};
}

Role ServicesRole(const std::string& path) {
  // A service's topics are PATH/s.spawnpoint/<service>/...; "server" is the spawnpoint's own, so
  // no service commands a spawnpoint, forges its heartbeats or reads a slot.
  const std::string root = topics::Root(path);
  return Role{std::string(kRolePrefix) + "svc:" + path,
              "services of spawnpoint " + path + ": their own topics, not the spawnpoint's",
              {Allow(AclType::kPublishClientSend, root + "/+/#"),
               Deny(AclType::kPublishClientSend, root + "/server/#"),
               Allow(AclType::kSubscribePattern, root + "/+/#"),
               Deny(AclType::kPublishClientReceive, Slots(path) + "/#")}};
}

Role OperatorRole(const std::string& base) {
  Role role{std::string(kRolePrefix) + "operator:" + base,
            "operator of " + base + ": deploys, restarts and stops; reads all but the slots",
            {Allow(AclType::kPublishClientSend, Slots(AnyPathOf(base)) + "/+"),
             // The fleet's desired sets, their statuses and drains (spawnctl fleet, and the
             // reconciler that spawnd runs with an operator's identity).
             Allow(AclType::kPublishClientSend, topics::FleetRoot(base) + "/#")}};
  for (auto& acl : ScanMarkers(base)) role.acls.push_back(acl);
  for (auto& acl : ReadBase(base)) role.acls.push_back(acl);
  return role;
}

Role ViewerRole(const std::string& base) {
  // Asking for a log history (spawnctl logs) is a publish to the logs slot; the answer comes on a
  // signal topic, which reading the base covers.
  Role role{std::string(kRolePrefix) + "viewer:" + base,
            "viewer of " + base + ": scans, tails and reads logs; reads all but the slots",
            {Allow(AclType::kPublishClientSend, topics::LogsSlot(AnyPathOf(base)))}};
  for (auto& acl : ScanMarkers(base)) role.acls.push_back(acl);
  for (auto& acl : ReadBase(base)) role.acls.push_back(acl);
  // A set's files carry its archive and entity: a viewer sees the set, not what it ships.
  role.acls.push_back(Deny(AclType::kPublishClientReceive, topics::FleetFiles(base, "+")));
  return role;
}

bool IsSpawnpointRole(const std::string& role_name) {
  for (const char* kind : {"host:", "svc:", "operator:", "viewer:"}) {
    if (role_name.rfind(std::string(kRolePrefix) + kind, 0) == 0) return true;
  }
  return false;
}

}  // namespace spawn::access
