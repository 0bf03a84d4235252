#include "secure_broker.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace spawn::testing {

using namespace std::chrono_literals;

SecureBroker::SecureBroker(int port)
    : port_(port),
      dir_("secure-broker"),
      admin_password_(UniqueName("admin-pw")),
      root_password_(UniqueName("root-pw")) {}

SecureBroker::~SecureBroker() { Stop(); }

std::string SecureBroker::ca_file() const { return dir_.str() + "/certs/ca.pem"; }
std::string SecureBroker::admin_password_file() const { return dir_.str() + "/admin.password"; }
std::string SecureBroker::Log() const { return Slurp(dir_.path() / "mosquitto.log"); }

BusOptions SecureBroker::Options(const std::string& username, const std::string& password) const {
  BusOptions o;
  o.uri = uri();
  o.username = username;
  o.password = password;
  o.ca_file = ca_file();
  o.auto_reconnect = false;
  return o;
}

std::vector<std::string> SecureBroker::AdminSpawnctlArgs() const {
  return {"--broker",        uri(),
          "--username",      admin_username_,
          "--password-file", admin_password_file(),
          "--ca-file",       ca_file()};
}

ShellRun SecureBroker::Ctrl(const std::vector<std::string>& args) const {
  std::string command = "mosquitto_ctrl -h 127.0.0.1 -p " + std::to_string(port_) + " --cafile " +
                        Quote(ca_file()) + " -u " + Quote(admin_username_) + " -P " +
                        Quote(admin_password_);
  for (const auto& a : args) command += " " + Quote(a);
  return Shell(command + " 2>&1");
}

bool SecureBroker::Start() {
  const std::string dir = dir_.str();
  if (!made_) {
    const ShellRun certs = Shell("bash " + Quote(SPAWN_SOURCE_DIR "/scripts/make-certs.sh") + " " +
                                 Quote(dir + "/certs") + " 2>&1");
    if (certs.exit_code != 0) {
      ADD_FAILURE() << "make-certs.sh failed: " << certs.out;
      return false;
    }
    const ShellRun init =
        Shell("mosquitto_ctrl dynsec init " + Quote(dir + "/dynamic-security.json") + " " +
              Quote(admin_username_) + " " + Quote(admin_password_) + " 2>&1");
    if (init.exit_code != 0) {
      ADD_FAILURE() << "mosquitto_ctrl dynsec init failed: " << init.out;
      return false;
    }
    dir_.Write("admin.password", admin_password_);
    // `user`: as in PrivateBroker, so that a broker started as root can write its own state.
    const passwd* self = getpwuid(geteuid());
    dir_.Write("mosquitto.conf",
               "per_listener_settings false\nallow_anonymous false\n"
               "listener " +
                   std::to_string(port_) +
                   " 127.0.0.1\n"
                   "cafile " +
                   ca_file() + "\ncertfile " + dir + "/certs/server.pem\nkeyfile " + dir +
                   "/certs/server.key\ntls_version tlsv1.2\n"
                   "plugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so\n"
                   "plugin_opt_config_file " +
                   dir +
                   "/dynamic-security.json\n"
                   "persistence true\npersistence_location " +
                   dir +
                   "/\n"
                   "max_queued_messages 100000\nset_tcp_nodelay true\nuser " +
                   (self ? self->pw_name : "root") + "\n");
  }
  pid_ = fork();
  if (pid_ == 0) {
    const std::string log = dir + "/mosquitto.log";
    if (!std::freopen(log.c_str(), "a", stderr)) _exit(126);
    execlp("mosquitto", "mosquitto", "-c", (dir + "/mosquitto.conf").c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = Ctrl({"dynsec", "getDefaultACLAccess"}).exit_code == 0;
    if (!up) std::this_thread::sleep_for(100ms);
  }
  if (!up) {
    ADD_FAILURE() << "the secure broker did not come up on " << uri() << "; its log:\n" << Log();
    return false;
  }
  if (!made_) {
    const std::vector<std::vector<std::string>> steps = {
        {"dynsec", "createRole", "root"},
        {"dynsec", "addRoleACL", "root", "publishClientSend", "#", "allow", "1"},
        {"dynsec", "addRoleACL", "root", "subscribePattern", "#", "allow", "1"},
        {"dynsec", "createClient", root_username_, "-p", root_password_},
        {"dynsec", "addClientRole", root_username_, "root", "1"}};
    for (const auto& step : steps) {
      const ShellRun run = Ctrl(step);
      if (run.exit_code != 0) {
        ADD_FAILURE() << "mosquitto_ctrl " << step[1] << " failed: " << run.out;
        return false;
      }
    }
    made_ = true;
  }
  return true;
}

void SecureBroker::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  bool reaped = false;
  while (!reaped && std::chrono::steady_clock::now() < deadline) {
    reaped = waitpid(pid_, nullptr, WNOHANG) == pid_;
    if (!reaped) std::this_thread::sleep_for(50ms);
  }
  if (!reaped) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = 0;
}

}  // namespace spawn::testing
