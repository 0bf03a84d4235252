// The JSON commands of Mosquitto's dynamic security plugin (Mosquitto 2.0) that `spawnctl access`
// sends, and the decoding of the data its answers carry. Pure functions, no I/O: DynsecClient
// sends them (one {"commands": [...]} message to $CONTROL/dynamic-security/v1) and adds each
// command's correlationData.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "spawn/access/roles.h"
#include "spawn/common/status.h"

namespace spawn::access::dynsec {

using Json = nlohmann::json;

// A client as listClients (verbose) and getClient describe it.
struct ClientInfo {
  std::string username;
  std::vector<std::string> roles;
  friend bool operator==(const ClientInfo&, const ClientInfo&) = default;
};

Json CreateRole(const Role& role);  // with its ACLs
Json DeleteRole(const std::string& role_name);
Json GetRole(const std::string& role_name);
// A client with these roles (same priority each) and no client id restriction.
Json CreateClient(const std::string& username, const std::string& password,
                  const std::vector<std::string>& role_names);
Json SetClientPassword(const std::string& username, const std::string& password);
Json DeleteClient(const std::string& username);
Json GetClient(const std::string& username);
Json ListClients();  // verbose: with their roles

// The `data` of a getClient answer ({"client": {...}}) or of a listClients answer
// ({"clients": [...]}). kInternal naming what is missing when the answer has another shape.
Result<ClientInfo> ClientOf(const Json& get_client_data);
Result<std::vector<ClientInfo>> ClientsOf(const Json& list_clients_data);

// The status an error string of the plugin means: "... already exists" kConflict, "... not found"
// kNotFound, "Invalid..."/"Missing..." kBadRequest, anything else kInternal; the message is the
// plugin's.
Status StatusOfError(const std::string& error);

}  // namespace spawn::access::dynsec
