#include "session.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "spawn/client/settings.h"
#include "spawn/common/units.h"

namespace spawn {

int Fail(ExitCode code, const std::string& reason) {
  std::string line = reason;
  for (char& c : line) {
    if (c == '\n') c = ' ';
  }
  std::cerr << "spawnctl: " << line << std::endl;
  return static_cast<int>(code);
}

int Fail(const Status& status) { return Fail(ExitCodeFor(status), status.message()); }

Session::Session(const Globals& g, Interrupts& interrupts) : g_(g), interrupts_(interrupts) {
  format_.color = isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
  format_.local_time = true;
}

Session::~Session() {
  if (client_) client_->Disconnect();
  (void)client_.release();
}

Result<BusOptions> GlobalBusOptions(const Globals& g) {
  BusOptions o;
  o.uri = g.broker;
  o.client_id = "";  // random, clean session
  o.username = g.username;
  o.ca_file = g.ca_file;
  o.cert_file = g.cert_file;
  o.key_file = g.key_file;
  o.auto_reconnect = false;
  auto version = ParseMqttVersion(g.mqtt_version);
  if (!version.ok()) {
    return version.status().WithContext("--mqtt-version (or SPAWNPOINT_MQTT_VERSION)");
  }
  o.mqtt_version = *version;
  if (!g.password_file.empty()) {
    std::ifstream in(g.password_file);
    if (!in) return Status::BadRequest("cannot read --password-file " + g.password_file);
    std::getline(in, o.password);
  }
  return o;
}

Status Session::Open() {
  auto options = GlobalBusOptions(g_);
  if (!options.ok()) return options.status();
  auto expiry = ParseExpiry(g_.expire);
  if (!expiry.ok()) return expiry.status();
  auto client = SpawnClient::Connect(*options);
  if (!client.ok()) return client.status();
  client_ = std::move(*client);
  client_->set_command_expiry(*expiry);
  return Status::Ok();
}

Duration Session::timeout() const {
  return ParseDuration(g_.timeout).value_or(std::chrono::seconds(30));
}

void Session::Print(const std::string& text) {
  MutexLock lock(out_mu_);
  std::cout << text << std::endl;
}

void Session::PrintLog(const proto::LogMessage& m) {
  Print(g_.json ? ToJson(m) : FormatLogLine(m, format_));
}

int Session::PrintReply(const Result<proto::Reply>& reply, const std::string& what,
                        const std::string& action, bool job) {
  if (!reply.ok() && reply.status().code() == Code::kForbidden) {
    return Fail(ExitCode::kNotAuthorised,
                "not authorised to " + action + " (the broker refused the command)");
  }
  if (!reply.ok() && reply.status().code() == Code::kTimeout && g_.mqtt_version == "3.1.1") {
    // An MQTT 3.1.1 broker acknowledges a publish it refuses and drops it: silence is all we get.
    return Fail(ExitCode::kNoAnswer,
                reply.status().WithContext(what).message() +
                    "; the broker may have refused the command (under MQTT 3.1.1 it drops a "
                    "command it does not authorise without a word)");
  }
  if (!reply.ok()) return Fail(reply.status().WithContext(what));
  if (g_.json) {
    Print(ToJson(*reply));
  } else if (reply->ok) {
    Print(FormatReply(*reply, format_));
    if (job && !reply->request_id.empty()) {
      std::cerr << "Job " << reply->request_id << " (spawnctl job -u " << g_.uri << " "
                << reply->request_id << " --wait)" << std::endl;
    }
  }
  const ExitCode code = ExitCodeFor(*reply);
  if (code == ExitCode::kDone) return 0;
  std::string hint;
  if (reply->code == 409) hint = " (use --replace to replace it)";
  if (reply->code == 404) hint = " (spawnctl scan " + g_.uri + " lists its services)";
  return Fail(code, FormatReply(*reply, FormatOptions{}) + hint);
}

int AfterCommand(Session& s, ServiceWatch& watch, std::optional<proto::ServiceState> wait_for,
                 Duration wait_limit) {
  if (!wait_for) {
    if (!s.globals().json)
      std::cerr << "Tailing service logs. Press CTRL-c to exit..." << std::endl;
    s.interrupts().WaitForInterrupt();
    return static_cast<int>(ExitCode::kDone);
  }
  s.interrupts().OnInterrupt([&watch] { watch.Cancel(); });
  Status st = watch.WaitForState(*wait_for, wait_limit);
  s.interrupts().OnInterrupt(nullptr);
  if (s.interrupts().fired()) return static_cast<int>(ExitCode::kInterrupted);
  if (!st.ok()) return Fail(ExitCodeForWait(st), st.message());
  if (!s.globals().json) {
    auto latest = watch.Latest();
    s.Print("service " + (latest ? latest->name : std::string("")) + " is " +
            proto::ToString(*wait_for));
  }
  return static_cast<int>(ExitCode::kDone);
}

Result<std::unique_ptr<ServiceWatch>> WatchPrinting(Session& s, const std::string& name) {
  return s.client().Watch(s.globals().uri, name,
                          [&s](const proto::LogMessage& m) { s.PrintLog(m); });
}

}  // namespace spawn
