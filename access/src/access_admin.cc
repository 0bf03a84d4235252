#include "spawn/access/access_admin.h"

#include <algorithm>
#include <set>

namespace spawn::access {
namespace {

bool IsNotFound(const Status& s) { return s.code() == Code::kNotFound; }

}  // namespace

AccessAdmin::AccessAdmin(DynsecClient& dynsec, PasswordSource passwords)
    : dynsec_(dynsec), passwords_(std::move(passwords)) {}

Result<std::vector<DynsecResponse>> AccessAdmin::Run(
    std::vector<dynsec::Json> commands, const std::string& context,
    const std::function<bool(const Status&)>& tolerate) {
  auto answers = dynsec_.Execute(std::move(commands));
  if (!answers.ok()) return answers.status().WithContext(context);
  for (const DynsecResponse& a : *answers) {
    if (!a.status.ok() && !(tolerate && tolerate(a.status))) return a.status.WithContext(context);
  }
  return answers;
}

Result<HostCredentials> AccessAdmin::ProvisionHost(const std::string& path) {
  SPAWN_RETURN_IF_ERROR(ValidatePath(path));
  HostCredentials c{path, HostUsername(path), "", ServicesUsername(path), ""};
  auto existing =
      dynsec_.Execute({dynsec::GetClient(c.username), dynsec::GetClient(c.services_username)});
  if (!existing.ok()) return existing.status().WithContext("access host " + path);
  for (size_t i = 0; i < existing->size(); ++i) {
    const Status& s = (*existing)[i].status;
    const std::string& user = i == 0 ? c.username : c.services_username;
    if (s.ok()) {
      return Status::Conflict("user " + user +
                              " already exists; expected a path without "
                              "identities (use --rotate for new passwords, or revoke " +
                              c.username + " and " + c.services_username + " first)");
    }
    if (!IsNotFound(s)) return s.WithContext("looking up " + user);
  }
  SPAWN_RETURN_IF_ERROR(NewPasswords(c));

  const Role host = HostRole(path), services = ServicesRole(path);
  auto made = Run(
      {dynsec::DeleteRole(host.name), dynsec::DeleteRole(services.name), dynsec::CreateRole(host),
       dynsec::CreateRole(services), dynsec::CreateClient(c.username, c.password, {host.name}),
       dynsec::CreateClient(c.services_username, c.services_password, {services.name})},
      "making the identities of " + path, IsNotFound);
  if (!made.ok()) return made.status();
  return c;
}

Status AccessAdmin::NewPasswords(HostCredentials& c) {
  for (std::string* field : {&c.password, &c.services_password}) {
    auto password = passwords_();
    if (!password.ok()) return password.status();
    *field = std::move(*password);
  }
  return Status::Ok();
}

Result<HostCredentials> AccessAdmin::RotateHost(const std::string& path) {
  SPAWN_RETURN_IF_ERROR(ValidatePath(path));
  HostCredentials c{path, HostUsername(path), "", ServicesUsername(path), ""};
  SPAWN_RETURN_IF_ERROR(NewPasswords(c));
  auto answers =
      dynsec_.Execute({dynsec::SetClientPassword(c.username, c.password),
                       dynsec::SetClientPassword(c.services_username, c.services_password)});
  if (!answers.ok()) return answers.status().WithContext("access host --rotate " + path);
  for (size_t i = 0; i < answers->size(); ++i) {
    const Status& s = (*answers)[i].status;
    const std::string& user = i == 0 ? c.username : c.services_username;
    if (IsNotFound(s)) {
      return Status::NotFound("no user " + user + " on the broker; expected the identities of " +
                              path + " (make them with access host " + path + ", no --rotate)");
    }
    if (!s.ok()) return s.WithContext("setting the password of " + user);
  }
  return c;
}

Result<UserCredentials> AccessAdmin::ProvisionOperator(const std::string& name,
                                                       const std::string& base) {
  SPAWN_RETURN_IF_ERROR(ValidateBase(base));
  return ProvisionUser(name, base, OperatorRole(base));
}

Result<UserCredentials> AccessAdmin::ProvisionViewer(const std::string& name,
                                                     const std::string& base) {
  SPAWN_RETURN_IF_ERROR(ValidateBase(base));
  return ProvisionUser(name, base, ViewerRole(base));
}

Result<UserCredentials> AccessAdmin::ProvisionUser(const std::string& name, const std::string& base,
                                                   const Role& role) {
  SPAWN_RETURN_IF_ERROR(ValidateUserName(name));
  auto existing = dynsec_.Execute({dynsec::GetClient(name), dynsec::GetRole(role.name)});
  if (!existing.ok()) return existing.status().WithContext("making user " + name);
  const Status& client = (*existing)[0].status;
  if (client.ok())
    return Status::Conflict("user " + name + " already exists; expected a new name (or revoke " +
                            name + " first)");
  if (!IsNotFound(client)) return client.WithContext("looking up " + name);
  const Status& role_found = (*existing)[1].status;
  if (!role_found.ok() && !IsNotFound(role_found))
    return role_found.WithContext("looking up role " + role.name);

  auto password = passwords_();
  if (!password.ok()) return password.status();
  UserCredentials c{name, std::move(*password), role.name};
  std::vector<dynsec::Json> commands;
  // Users of one kind on one base share the role; the first one makes it.
  if (!role_found.ok()) commands.push_back(dynsec::CreateRole(role));
  commands.push_back(dynsec::CreateClient(name, c.password, {role.name}));
  auto made = Run(std::move(commands), "making user " + name + " for " + base);
  if (!made.ok()) return made.status();
  return c;
}

Result<std::vector<dynsec::ClientInfo>> AccessAdmin::List() {
  auto answers = Run({dynsec::ListClients()}, "listing the broker's users");
  if (!answers.ok()) return answers.status();
  return dynsec::ClientsOf(answers->front().data);
}

Result<std::vector<std::string>> AccessAdmin::Revoke(const std::string& username) {
  if (username.empty()) return Status::BadRequest("user name is empty; expected a user to revoke");
  auto found = dynsec_.Execute({dynsec::GetClient(username)});
  if (!found.ok()) return found.status().WithContext("revoking " + username);
  const Status& s = found->front().status;
  if (IsNotFound(s))
    return Status::NotFound("no user " + username +
                            " on the broker; expected one of those access list shows");
  if (!s.ok()) return s.WithContext("looking up " + username);
  auto client = dynsec::ClientOf(found->front().data);
  if (!client.ok()) return client.status();

  auto rest = Run({dynsec::DeleteClient(username), dynsec::ListClients()}, "revoking " + username);
  if (!rest.ok()) return rest.status();
  auto others = dynsec::ClientsOf((*rest)[1].data);
  if (!others.ok()) return others.status();
  std::set<std::string> still_used;
  for (const auto& other : *others) still_used.insert(other.roles.begin(), other.roles.end());
  std::vector<std::string> unused;
  std::vector<dynsec::Json> deletes;
  for (const std::string& role : client->roles) {
    if (!IsSpawnpointRole(role) || still_used.count(role) > 0) continue;
    unused.push_back(role);
    deletes.push_back(dynsec::DeleteRole(role));
  }
  if (deletes.empty()) return unused;
  // Someone may have deleted a role meanwhile: it is gone either way.
  auto deleted = Run(std::move(deletes), "deleting the roles of " + username, IsNotFound);
  if (!deleted.ok()) return deleted.status();
  return unused;
}

std::string KindOf(const dynsec::ClientInfo& client) {
  for (const std::string& role : client.roles) {
    if (!IsSpawnpointRole(role)) continue;
    const std::string kind = role.substr(3, role.find(':') - 3);
    return kind == "svc" ? "services" : kind;
  }
  return "";
}

}  // namespace spawn::access
