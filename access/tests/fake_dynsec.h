// FakeDynsec: a scripted stand-in for Mosquitto's dynamic security plugin on a FakeBroker. It
// answers the commands DynsecClient publishes on $CONTROL/dynamic-security/v1 from an in-memory
// model of clients and roles (with the plugin's error strings), records every command it got
// (without correlationData), and can be told to stay silent or to fail a command.
//
// Thread-safety: as FakeBus; answers are published on the publisher's thread.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "spawn/access/dynsec_commands.h"
#include "spawn/bus/fake_bus.h"
#include "spawn/common/mutex.h"

namespace spawn::access {

class FakeDynsec {
 public:
  explicit FakeDynsec(FakeBroker& broker);

  struct Client {
    std::string password;
    std::vector<std::string> roles;
  };

  // Every command received, in order, without its correlationData.
  std::vector<dynsec::Json> Commands() const;
  // The "command" names received, in order.
  std::vector<std::string> CommandNames() const;
  void ClearCommands();
  // Answers nothing while true (a broker without the plugin, or a user who is not its admin).
  void Silence(bool silent) { silent_ = silent; }
  // The next command named `command` fails with `error` (the plugin's string).
  void FailNext(const std::string& command, const std::string& error);

  std::map<std::string, Client> Clients() const;
  // Role name -> its ACLs as the plugin was given them.
  std::map<std::string, dynsec::Json> Roles() const;
  void AddClient(const std::string& username, Client client);

 private:
  void OnMessage(const BusMessage& message);
  dynsec::Json Answer(const dynsec::Json& command);

  FakeBus bus_;
  std::atomic<bool> silent_{false};
  mutable Mutex mu_;
  std::vector<dynsec::Json> commands_ GUARDED_BY(mu_);
  std::map<std::string, std::string> fail_next_ GUARDED_BY(mu_);
  std::map<std::string, Client> clients_ GUARDED_BY(mu_);
  std::map<std::string, dynsec::Json> roles_ GUARDED_BY(mu_);
};

}  // namespace spawn::access
