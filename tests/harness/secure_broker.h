// SecureBroker: a Mosquitto of the test's own as a fleet's broker should be (see
// examples/secure/mosquitto.conf): one TLS listener on 127.0.0.1:`port` (certificates made by
// scripts/make-certs.sh for localhost and 127.0.0.1), no anonymous clients, and users and rights
// kept by the dynamic security plugin, with persistence in its own directory.
//
// It has two users from the start:
// - the plugin's admin (admin_username/admin_password, and admin_password_file for spawnctl's
//   --password-file), which may manage the plugin and subscribe to and receive everything, but
//   publish nothing else: a probe with its options observes what the broker delivers;
// - a "root" user (root_username/root_password) that may publish and subscribe anywhere: what a
//   test uses to publish the retained state (heartbeats, slots) that others' rights are tried on.
// Other users are made by the test, e.g. with `spawnctl access` or Ctrl().
//
// Not thread-safe; the process is stopped on destruction and the directory deleted.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "harness.h"
#include "spawn/bus/bus.h"

namespace spawn::testing {

class SecureBroker {
 public:
  // Pick the port with PrivateBrokerPort(base), with a base no other test file of the same run
  // uses.
  explicit SecureBroker(int port);
  ~SecureBroker();
  SecureBroker(const SecureBroker&) = delete;
  SecureBroker& operator=(const SecureBroker&) = delete;

  // Makes the certificates and the plugin's configuration (on the first start), starts Mosquitto
  // and waits until the admin can connect, then makes the root user (first start). False (with
  // a gtest failure naming the step and the broker's log) on any failure.
  bool Start();
  // SIGTERM (Mosquitto saves its state, the plugin its users) and reaps it. Idempotent.
  void Stop();

  // Runs `mosquitto_ctrl` as the admin against this broker with `args` (e.g. {"dynsec",
  // "listClients"}); returns its exit code and output.
  ShellRun Ctrl(const std::vector<std::string>& args) const;

  std::string uri() const { return "ssl://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  std::string ca_file() const;
  const std::string& admin_username() const { return admin_username_; }
  const std::string& admin_password() const { return admin_password_; }
  std::string admin_password_file() const;
  const std::string& root_username() const { return root_username_; }
  const std::string& root_password() const { return root_password_; }
  // Options of a clean-session connection to this broker as `username` (TLS with ca_file()), no
  // automatic reconnection, so that a refused CONNECT fails Connect() at once.
  BusOptions Options(const std::string& username, const std::string& password) const;
  BusOptions AdminOptions() const { return Options(admin_username_, admin_password_); }
  BusOptions RootOptions() const { return Options(root_username_, root_password_); }
  // The spawnctl arguments that connect as the admin (before the command).
  std::vector<std::string> AdminSpawnctlArgs() const;
  // What it has logged so far.
  std::string Log() const;

 private:
  int port_;
  TempDir dir_;
  pid_t pid_ = 0;
  bool made_ = false;  // certificates, plugin config and root user exist
  std::string admin_username_ = "admin";
  std::string admin_password_;
  std::string root_username_ = "root";
  std::string root_password_;
};

}  // namespace spawn::testing
