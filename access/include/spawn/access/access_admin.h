// AccessAdmin: the operations of `spawnctl access` on Mosquitto's dynamic security plugin. It
// makes, lists and removes spawnpoint's identities (clients) and their roles (roles.h); the
// plugin enforces them. Every operation validates its arguments before it sends anything, and
// returns errors that name the user, path or base and what was expected.
//
// It borrows a DynsecClient (connected with the broker admin's credentials) and a source of
// passwords (GeneratePassword by default; tests give fixed ones). Not thread-safe: one caller.
// The plugin has no transactions: an operation that fails half way says which step failed, and
// what it made stays (list shows it, revoke removes it).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "spawn/access/dynsec_client.h"
#include "spawn/access/dynsec_commands.h"
#include "spawn/access/password.h"
#include "spawn/common/status.h"

namespace spawn::access {

// What `access host` made: the spawnpoint's identity and its services' one.
struct HostCredentials {
  std::string path;
  std::string username, password;
  std::string services_username, services_password;
};

// What `access operator` or `access viewer` made.
struct UserCredentials {
  std::string username, password;
  std::string role;
};

class AccessAdmin {
 public:
  using PasswordSource = std::function<Result<std::string>()>;

  explicit AccessAdmin(
      DynsecClient& dynsec, PasswordSource passwords = [] { return GeneratePassword(); });

  // Makes sp:PATH (role sp-host:PATH) and sp-svc:PATH (role sp-svc:PATH) with new passwords.
  // kConflict when either user exists already (use RotateHost, or revoke both first). A leftover
  // role of the same name with no user of its own is replaced.
  Result<HostCredentials> ProvisionHost(const std::string& path);
  // New passwords for the existing sp:PATH and sp-svc:PATH (their roles stay); kNotFound when
  // they do not exist. Connections made with the old passwords stay until they reconnect.
  Result<HostCredentials> RotateHost(const std::string& path);
  // Makes user `name` with the role sp-operator:BASE (or sp-viewer:BASE), which users of the same
  // kind on the same base share; the role is made if it does not exist. kConflict when the user
  // exists.
  Result<UserCredentials> ProvisionOperator(const std::string& name, const std::string& base);
  Result<UserCredentials> ProvisionViewer(const std::string& name, const std::string& base);
  // Every client the plugin knows, spawnpoint's or not, with its roles.
  Result<std::vector<dynsec::ClientInfo>> List();
  // Deletes user `username` (the broker disconnects it), then each of its spawnpoint roles
  // (IsSpawnpointRole) that no other user has; returns the roles deleted. kNotFound when there is
  // no such user.
  Result<std::vector<std::string>> Revoke(const std::string& username);

 private:
  // Fresh passwords for both identities of a host.
  Status NewPasswords(HostCredentials& c);
  Result<UserCredentials> ProvisionUser(const std::string& name, const std::string& base,
                                        const Role& role);
  // Execute, with the first error among the answers (except those `tolerate` accepts) returned
  // with `context`.
  Result<std::vector<DynsecResponse>> Run(std::vector<dynsec::Json> commands,
                                          const std::string& context,
                                          const std::function<bool(const Status&)>& tolerate = {});

  DynsecClient& dynsec_;
  PasswordSource passwords_;
};

// "host", "services", "operator", "viewer" for a client with a spawnpoint role of that kind, else
// "" (the broker's admin, or a user made by other means).
std::string KindOf(const dynsec::ClientInfo& client);

}  // namespace spawn::access
