// The broker rights of spawnpoint's identities, as data for Mosquitto's dynamic security plugin
// (Mosquitto 2.0). Pure functions, no I/O.
//
// In Mosquitto 2.0 an ACL topic is a literal filter (no %u or %c substitution), so every right is
// written out for one spawnpoint PATH or one BASE. A spawnpoint's path is BASE/<alias>: one level
// under its base, so that "every spawnpoint of a base" is the filter BASE/+/...
//
//   identity                 may publish                              may subscribe
//   host     sp:PATH          PATH/s.spawnpoint/#                      its own four slots
//   services sp-svc:PATH      PATH/s.spawnpoint/+/# but not .../server PATH/s.spawnpoint/+/#
//   operator (a name)         BASE/+/.../slot/+, scan's markers,       BASE/#
//                             BASE/s.spawnfleet/# (the fleet)
//   viewer   (a name)         BASE/+/.../slot/logs, scan's markers     BASE/#, but not a fleet
//                                                                      set's files
//
// Nobody but the host receives a slot (a config carries entities and archives): the plugin lets a
// client receive whatever it may subscribe to unless a publishClientReceive ACL denies it, so the
// services, operator and viewer roles deny the slots with a higher priority than their allows.
#pragma once

#include <string>
#include <vector>

#include "spawn/common/status.h"

namespace spawn::access {

// The plugin's ACL types, named as in its JSON.
enum class AclType {
  kPublishClientSend,     // the client publishing
  kPublishClientReceive,  // the broker delivering to the client
  kSubscribeLiteral,
  kSubscribePattern,
  kUnsubscribeLiteral,
  kUnsubscribePattern,
};
// "publishClientSend", ...
const char* ToString(AclType type);

struct Acl {
  AclType type;
  std::string topic;
  bool allow = true;
  int priority = 0;  // higher is checked first
  friend bool operator==(const Acl&, const Acl&) = default;
};

struct Role {
  std::string name;
  std::string description;  // the plugin's textdescription
  std::vector<Acl> acls;
};

// What an ACL priority means in these roles: a deny of a narrower topic outranks the allow it
// carves out of.
inline constexpr int kAllowPriority = 1;
inline constexpr int kDenyPriority = 10;

// A base: at least one level, no empty level, no + or #, not a $ topic. kBadRequest naming the
// value and what was expected.
Status ValidateBase(const std::string& base);
// A spawnpoint path: BASE/<alias>, i.e. at least two levels, each valid as for a base.
Status ValidatePath(const std::string& path);
// The base of a valid path (everything before the last level).
std::string BaseOf(const std::string& path);
// An operator's or viewer's user name: not empty, no spaces or control characters, and not one of
// the names `access host` makes (sp:..., sp-svc:...).
Status ValidateUserName(const std::string& name);

std::string HostUsername(const std::string& path);      // "sp:PATH"
std::string ServicesUsername(const std::string& path);  // "sp-svc:PATH"

// The roles (one per path or base; role names start with "sp-", which is how revoke knows a role
// is one of spawnpoint's).
Role HostRole(const std::string& path);      // "sp-host:PATH"
Role ServicesRole(const std::string& path);  // "sp-svc:PATH"
Role OperatorRole(const std::string& base);  // "sp-operator:BASE"
Role ViewerRole(const std::string& base);    // "sp-viewer:BASE"
// True for a role name made by the functions above.
bool IsSpawnpointRole(const std::string& role_name);

}  // namespace spawn::access
