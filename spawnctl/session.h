// What every spawnctl command shares once the arguments are parsed: the global options, the
// connection (opened by the commands that need one), the output settings, and how a failure is
// reported: one line on stderr and an exit code from spawnclient's table (exit_codes.h).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "interrupts.h"
#include "spawn/client/client.h"
#include "spawn/client/exit_codes.h"
#include "spawn/client/format.h"
#include "spawn/common/mutex.h"

namespace spawn {

struct Globals {
  std::string broker;
  std::string username, password_file, ca_file, cert_file, key_file;
  std::string uri;
  std::string history_file;
  bool json = false;
  std::string timeout = "30s";
  std::string mqtt_version = "5";  // --mqtt-version: "5" or "3.1.1"
  std::string expire = "10m";      // --expire of the commands deploy, restart and stop
};

// The connection the global options describe (clean session, random client id, no automatic
// reconnection). kBadRequest (kUsage) when --password-file cannot be read or the MQTT version
// (from SPAWNPOINT_MQTT_VERSION, which the command line does not check) is not one.
Result<BusOptions> GlobalBusOptions(const Globals& g);

// Prints "spawnctl: <reason>" (on one line) to stderr and returns `code` as an int for main().
int Fail(ExitCode code, const std::string& reason);
// Fail(ExitCodeFor(status), status.message()).
int Fail(const Status& status);

// The connected client, output settings and one lock for stdout (log lines arrive on a watch's
// thread).
class Session {
 public:
  Session(const Globals& g, Interrupts& interrupts);
  // spawnctl exits right after: the broker gets a clean DISCONNECT, and the client is left to the
  // process's end, because destroying it waits for Paho's threads in 100 ms steps, which would
  // double the time of a scan or a deploy.
  ~Session();

  // Connects. kBadRequest (an exit code of kUsage) when GlobalBusOptions or --expire is bad, else
  // the connect error (kUnavailable, kTimeout: kNoAnswer; kForbidden: credentials refused).
  Status Open();

  SpawnClient& client() { return *client_; }
  const Globals& globals() const { return g_; }
  Interrupts& interrupts() { return interrupts_; }
  FormatOptions& format() { return format_; }
  Duration timeout() const;

  void Print(const std::string& text) EXCLUDES(out_mu_);
  void PrintLog(const proto::LogMessage& m);
  // Prints the reply; kDone if the spawnpoint accepted, else (with the refusal and a hint on
  // stderr) kRefused, or the error's code when no reply came. `what` is the command ("deploy"),
  // `action` what it asked for ("deploy to PATH"), for a command the broker refused:
  // "not authorised to <action> (the broker refused the command)", kNotAuthorised. A `job`
  // command (deploy, restart, stop, rollback) that was accepted also says, on stderr, how to ask
  // after its job later.
  int PrintReply(const Result<proto::Reply>& reply, const std::string& what,
                 const std::string& action, bool job = false);

 private:
  const Globals& g_;
  Interrupts& interrupts_;
  FormatOptions format_;
  Mutex out_mu_;
  std::unique_ptr<SpawnClient> client_;
};

// After a command: follow the log until Ctrl-C (kDone), or (wait_for) until the service reaches a
// state: kDone, kRefused when it does not get there (ExitCodeForWait), kInterrupted on Ctrl-C.
int AfterCommand(Session& s, ServiceWatch& watch, std::optional<proto::ServiceState> wait_for,
                 Duration wait_limit);

// A watch of `name` on the session's spawnpoint that prints its log lines.
Result<std::unique_ptr<ServiceWatch>> WatchPrinting(Session& s, const std::string& name);

}  // namespace spawn
