#include "fake_dynsec.h"

#include "spawn/access/dynsec_client.h"

namespace spawn::access {

FakeDynsec::FakeDynsec(FakeBroker& broker) : bus_(broker) {
  bus_.SetMessageHandler([this](const BusMessage& m) { OnMessage(m); });
  bus_.Connect().IgnoreError();
  bus_.Subscribe(kDynsecControlTopic, 1).IgnoreError();
}

std::vector<dynsec::Json> FakeDynsec::Commands() const {
  MutexLock lock(mu_);
  return commands_;
}

std::vector<std::string> FakeDynsec::CommandNames() const {
  std::vector<std::string> names;
  for (const auto& c : Commands()) names.push_back(c.value("command", ""));
  return names;
}

void FakeDynsec::ClearCommands() {
  MutexLock lock(mu_);
  commands_.clear();
}

void FakeDynsec::FailNext(const std::string& command, const std::string& error) {
  MutexLock lock(mu_);
  fail_next_[command] = error;
}

std::map<std::string, FakeDynsec::Client> FakeDynsec::Clients() const {
  MutexLock lock(mu_);
  return clients_;
}

std::map<std::string, dynsec::Json> FakeDynsec::Roles() const {
  MutexLock lock(mu_);
  return roles_;
}

void FakeDynsec::AddClient(const std::string& username, Client client) {
  MutexLock lock(mu_);
  clients_[username] = std::move(client);
}

void FakeDynsec::OnMessage(const BusMessage& message) {
  const dynsec::Json body = dynsec::Json::parse(message.payload);
  dynsec::Json responses = dynsec::Json::array();
  for (dynsec::Json command : body["commands"]) {
    dynsec::Json answer = Answer(command);
    if (command.contains("correlationData")) answer["correlationData"] = command["correlationData"];
    responses.push_back(answer);
  }
  if (silent_) return;
  const dynsec::Json reply = {{"responses", responses}};
  bus_.Publish({kDynsecResponseTopic, reply.dump(), 1, false}).IgnoreError();
}

dynsec::Json FakeDynsec::Answer(const dynsec::Json& command) {
  MutexLock lock(mu_);
  dynsec::Json recorded = command;
  recorded.erase("correlationData");
  commands_.push_back(recorded);
  const std::string name = command.value("command", "");
  dynsec::Json answer = {{"command", name}};
  auto fail = [&answer](const std::string& error) {
    answer["error"] = error;
    return answer;
  };
  if (auto it = fail_next_.find(name); it != fail_next_.end()) {
    const std::string error = it->second;
    fail_next_.erase(it);
    return fail(error);
  }
  const std::string user = command.value("username", ""), role = command.value("rolename", "");
  auto client_json = [](const std::string& username, const Client& c) {
    dynsec::Json roles = dynsec::Json::array();
    for (const auto& r : c.roles) roles.push_back({{"rolename", r}});
    return dynsec::Json{
        {"username", username}, {"roles", roles}, {"groups", dynsec::Json::array()}};
  };
  if (name == "createClient") {
    if (clients_.count(user)) return fail("Client already exists");
    Client c{command.value("password", ""), {}};
    for (const auto& r : command.value("roles", dynsec::Json::array())) {
      if (!roles_.count(r["rolename"])) return fail("Role not found");
      c.roles.push_back(r["rolename"]);
    }
    clients_[user] = c;
  } else if (name == "deleteClient") {
    if (!clients_.erase(user)) return fail("Client not found");
  } else if (name == "getClient") {
    auto it = clients_.find(user);
    if (it == clients_.end()) return fail("Client not found");
    answer["data"] = {{"client", client_json(user, it->second)}};
  } else if (name == "setClientPassword") {
    auto it = clients_.find(user);
    if (it == clients_.end()) return fail("Client not found");
    it->second.password = command.value("password", "");
  } else if (name == "listClients") {
    dynsec::Json clients = dynsec::Json::array();
    for (const auto& [u, c] : clients_) clients.push_back(client_json(u, c));
    answer["data"] = {{"totalCount", clients.size()}, {"clients", clients}};
  } else if (name == "createRole") {
    if (roles_.count(role)) return fail("Role already exists");
    roles_[role] = command.value("acls", dynsec::Json::array());
  } else if (name == "deleteRole") {
    if (!roles_.erase(role)) return fail("Role not found");
  } else if (name == "getRole") {
    auto it = roles_.find(role);
    if (it == roles_.end()) return fail("Role not found");
    answer["data"] = {{"role", {{"rolename", role}, {"acls", it->second}}}};
  } else {
    return fail("Unknown command");
  }
  return answer;
}

}  // namespace spawn::access
