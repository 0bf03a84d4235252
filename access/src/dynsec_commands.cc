#include "spawn/access/dynsec_commands.h"

namespace spawn::access::dynsec {
namespace {

bool Contains(const std::string& text, const char* word) {
  return text.find(word) != std::string::npos;
}

Result<ClientInfo> ClientFromJson(const Json& client) {
  if (!client.is_object() || !client.contains("username") || !client["username"].is_string())
    return Status::Internal("the broker described a client without a username: " + client.dump());
  ClientInfo info{client["username"].get<std::string>(), {}};
  if (client.contains("roles") && client["roles"].is_array()) {
    for (const Json& role : client["roles"]) {
      if (role.is_object() && role.contains("rolename") && role["rolename"].is_string())
        info.roles.push_back(role["rolename"].get<std::string>());
    }
  }
  return info;
}

}  // namespace

Json CreateRole(const Role& role) {
  Json acls = Json::array();
  for (const Acl& acl : role.acls) {
    acls.push_back({{"acltype", ToString(acl.type)},
                    {"topic", acl.topic},
                    {"priority", acl.priority},
                    {"allow", acl.allow}});
  }
  return {{"command", "createRole"},
          {"rolename", role.name},
          {"textdescription", role.description},
          {"acls", acls}};
}

Json DeleteRole(const std::string& role_name) {
  return {{"command", "deleteRole"}, {"rolename", role_name}};
}

Json GetRole(const std::string& role_name) {
  return {{"command", "getRole"}, {"rolename", role_name}};
}

Json CreateClient(const std::string& username, const std::string& password,
                  const std::vector<std::string>& role_names) {
  Json roles = Json::array();
  for (const auto& name : role_names) roles.push_back({{"rolename", name}, {"priority", 0}});
  return {{"command", "createClient"},
          {"username", username},
          {"password", password},
          {"roles", roles}};
}

Json SetClientPassword(const std::string& username, const std::string& password) {
  return {{"command", "setClientPassword"}, {"username", username}, {"password", password}};
}

Json DeleteClient(const std::string& username) {
  return {{"command", "deleteClient"}, {"username", username}};
}

Json GetClient(const std::string& username) {
  return {{"command", "getClient"}, {"username", username}};
}

Json ListClients() { return {{"command", "listClients"}, {"verbose", true}}; }

Result<ClientInfo> ClientOf(const Json& get_client_data) {
  if (!get_client_data.is_object() || !get_client_data.contains("client"))
    return Status::Internal("the broker's getClient answer has no client: " +
                            get_client_data.dump());
  return ClientFromJson(get_client_data["client"]);
}

Result<std::vector<ClientInfo>> ClientsOf(const Json& list_clients_data) {
  if (!list_clients_data.is_object() || !list_clients_data.contains("clients") ||
      !list_clients_data["clients"].is_array())
    return Status::Internal("the broker's listClients answer has no list of clients: " +
                            list_clients_data.dump());
  std::vector<ClientInfo> clients;
  for (const Json& client : list_clients_data["clients"]) {
    auto info = ClientFromJson(client);
    if (!info.ok()) return info.status();
    clients.push_back(std::move(*info));
  }
  return clients;
}

Status StatusOfError(const std::string& error) {
  if (Contains(error, "already exists")) return Status::Conflict(error);
  if (Contains(error, "not found")) return Status::NotFound(error);
  if (Contains(error, "Invalid") || Contains(error, "Missing") || Contains(error, "missing"))
    return Status::BadRequest(error);
  return Status::Internal(error);
}

}  // namespace spawn::access::dynsec
