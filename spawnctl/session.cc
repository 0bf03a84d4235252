#include "session.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

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

Status Session::Open() {
  BusOptions o;
  o.uri = g_.broker;
  o.client_id = "";  // random, clean session
  o.username = g_.username;
  o.ca_file = g_.ca_file;
  o.cert_file = g_.cert_file;
  o.key_file = g_.key_file;
  o.auto_reconnect = false;
  if (!g_.password_file.empty()) {
    std::ifstream in(g_.password_file);
    if (!in) return Status::BadRequest("cannot read --password-file " + g_.password_file);
    std::getline(in, o.password);
  }
  auto client = SpawnClient::Connect(o);
  if (!client.ok()) return client.status();
  client_ = std::move(*client);
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

int Session::PrintReply(const Result<proto::Reply>& reply, const std::string& what) {
  if (!reply.ok()) return Fail(reply.status().WithContext(what));
  if (g_.json) {
    Print(ToJson(*reply));
  } else if (reply->ok) {
    Print(FormatReply(*reply, format_));
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
