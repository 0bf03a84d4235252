// spawnctl: the command line for a fleet of spawnpoints. Library (spawnclient) plus main(): parsing
// arguments and printing; every bus interaction is SpawnClient's, every format format.h's.
//
// Exit codes: 0 success (a tail ended by Ctrl-C included); 1 failure, with one line on stderr
// saying why; CLI11's own non-zero codes for bad usage (with its message); 130 interrupted by
// Ctrl-C while waiting for an answer or a state.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <thread>

#include "paho_workarounds.h"
#include "spawn/client/client.h"
#include "spawn/client/format.h"
#include "spawn/client/settings.h"
#include "spawn/common/mutex.h"
#include "spawn/common/units.h"

namespace spawn {
namespace {

// SIGINT/SIGTERM are blocked in every thread and taken by one thread with sigwait(), so the
// interruption is ordinary code: it wakes whatever main() waits on. A second signal, or one while
// nothing is interruptible, ends the process.
class Interrupts {
 public:
  Interrupts() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);  // before any other thread exists
    std::thread([this] { Watch(); }).detach();
  }
  // What to do on Ctrl-C while the current wait lasts; cleared by passing nullptr.
  void OnInterrupt(std::function<void()> fn) EXCLUDES(mu_) {
    bool already;
    {
      MutexLock lock(mu_);
      on_interrupt_ = fn;
      already = fired_;
    }
    if (already && fn) fn();
  }
  void WaitForInterrupt() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    waiting_ = true;
    while (!fired_) cv_.Wait(lock);
  }
  bool fired() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return fired_;
  }

 private:
  void Watch() EXCLUDES(mu_) {
    while (true) {
      int sig = 0;
      if (sigwait(&set_, &sig) != 0) continue;
      std::function<void()> fn;
      {
        MutexLock lock(mu_);
        if (fired_ || (!on_interrupt_ && !waiting_)) std::_Exit(130);
        fired_ = true;
        fn = on_interrupt_;
      }
      cv_.NotifyAll();
      if (fn) fn();
    }
  }

  sigset_t set_;
  mutable Mutex mu_;
  CondVar cv_;
  bool fired_ GUARDED_BY(mu_) = false;
  bool waiting_ GUARDED_BY(mu_) = false;
  std::function<void()> on_interrupt_ GUARDED_BY(mu_);
};

struct Globals {
  std::string broker;
  std::string username, password_file, ca_file, cert_file, key_file;
  std::string uri;
  std::string history_file;
  bool json = false;
  std::string timeout = "30s";
};

int Fail(const std::string& reason) {
  std::string line = reason;
  for (char& c : line) {
    if (c == '\n') c = ' ';
  }
  std::cerr << "spawnctl: " << line << std::endl;
  return 1;
}

int64_t NowNs() { return ToUnixNanos(std::chrono::system_clock::now()); }

// Everything a command needs once arguments are parsed: the connected client, output settings and
// one lock for stdout (log lines arrive on a watch's thread).
class Session {
 public:
  Session(const Globals& g, Interrupts& interrupts) : g_(g), interrupts_(interrupts) {
    format_.color = isatty(STDOUT_FILENO) && std::getenv("NO_COLOR") == nullptr;
    format_.local_time = true;
  }
  // spawnctl exits right after: the broker gets a clean DISCONNECT, and the client is left to the
  // process's end, because destroying it waits for Paho's threads in 100 ms steps, which would
  // double the time of a scan or a deploy.
  ~Session() {
    if (client_) client_->Disconnect();
    (void)client_.release();
  }

  Status Open() {
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
      if (!in) return Status::NotFound("cannot read --password-file " + g_.password_file);
      std::getline(in, o.password);
    }
    auto client = SpawnClient::Connect(o);
    if (!client.ok()) return client.status();
    client_ = std::move(*client);
    return Status::Ok();
  }

  SpawnClient& client() { return *client_; }
  const Globals& globals() const { return g_; }
  Interrupts& interrupts() { return interrupts_; }
  FormatOptions& format() { return format_; }
  Duration timeout() const { return ParseDuration(g_.timeout).value_or(std::chrono::seconds(30)); }

  void Print(const std::string& text) EXCLUDES(out_mu_) {
    MutexLock lock(out_mu_);
    std::cout << text << std::endl;
  }
  void PrintLog(const proto::LogMessage& m) {
    Print(g_.json ? ToJson(m) : FormatLogLine(m, format_));
  }
  // Prints the reply; 0 if the spawnpoint accepted, else 1 with the refusal (and a hint) on stderr.
  int PrintReply(const Result<proto::Reply>& reply, const std::string& what) {
    if (!reply.ok()) return Fail(what + ": " + reply.status().message());
    if (g_.json) {
      Print(ToJson(*reply));
    } else if (reply->ok) {
      Print(FormatReply(*reply, format_));
    }
    if (reply->ok) return 0;
    std::string hint;
    if (reply->code == 409) hint = " (use --replace to replace it)";
    if (reply->code == 404) hint = " (spawnctl scan " + g_.uri + " lists its services)";
    return Fail(FormatReply(*reply, FormatOptions{}) + hint);
  }

 private:
  const Globals& g_;
  Interrupts& interrupts_;
  FormatOptions format_;
  Mutex out_mu_;
  std::unique_ptr<SpawnClient> client_;
};

// After a command: follow the log until Ctrl-C, or (wait_for) until the service reaches a state.
int AfterCommand(Session& s, ServiceWatch& watch, std::optional<proto::ServiceState> wait_for,
                 Duration wait_limit) {
  if (!wait_for) {
    if (!s.globals().json)
      std::cerr << "Tailing service logs. Press CTRL-c to exit..." << std::endl;
    s.interrupts().WaitForInterrupt();
    return 0;
  }
  s.interrupts().OnInterrupt([&watch] { watch.Cancel(); });
  Status st = watch.WaitForState(*wait_for, wait_limit);
  s.interrupts().OnInterrupt(nullptr);
  if (s.interrupts().fired()) return 130;
  if (!st.ok()) return Fail(st.message());
  if (!s.globals().json) {
    auto latest = watch.Latest();
    s.Print("service " + (latest ? latest->name : std::string("")) + " is " +
            proto::ToString(*wait_for));
  }
  return 0;
}

Result<std::unique_ptr<ServiceWatch>> WatchPrinting(Session& s, const std::string& name) {
  return s.client().Watch(s.globals().uri, name,
                          [&s](const proto::LogMessage& m) { s.PrintLog(m); });
}

int Deploy(Session& s, const std::string& yaml, const std::optional<std::string>& name,
           bool replace, bool no_follow, Duration wait) {
  const Globals& g = s.globals();
  auto request = PrepareDeploy(yaml, name, replace);
  if (!request.ok()) return Fail(request.status().message());
  Status st = s.Open();
  if (!st.ok()) return Fail(st.message());
  const std::string service = request->config.name;
  Status recorded =
      AppendHistory(g.history_file,
                    {g.uri, std::filesystem::absolute(yaml).lexically_normal().string(), service});
  if (!recorded.ok()) std::cerr << "spawnctl: warning: " << recorded.message() << std::endl;
  // Subscribed to the log before publishing, so the build's progress is not missed.
  auto watch = WatchPrinting(s, service);
  if (!watch.ok()) return Fail(watch.status().message());
  if (!g.json) std::cerr << "Deploying " << service << " to " << g.uri << "..." << std::endl;
  const int replied =
      s.PrintReply(s.client().Deploy(g.uri, std::move(*request), s.timeout()), "deploy");
  if (replied != 0) return replied;
  return AfterCommand(
      s, **watch, no_follow ? std::optional(proto::ServiceState::kRunning) : std::nullopt, wait);
}

int RestartOrStop(Session& s, bool restart, const std::string& name, bool no_follow,
                  Duration wait) {
  const Globals& g = s.globals();
  Status st = s.Open();
  if (!st.ok()) return Fail(st.message());
  auto watch = WatchPrinting(s, name);
  if (!watch.ok()) return Fail(watch.status().message());
  auto reply = restart ? s.client().Restart(g.uri, name, s.timeout())
                       : s.client().Stop(g.uri, name, s.timeout());
  const int replied = s.PrintReply(reply, restart ? "restart" : "stop");
  if (replied != 0) return replied;
  if (no_follow && !restart) return 0;
  return AfterCommand(
      s, **watch, no_follow ? std::optional(proto::ServiceState::kRunning) : std::nullopt, wait);
}

int Main(int argc, char** argv) {
  Interrupts interrupts;
  const CliDefaults defaults = DefaultsFromEnvironment(ProcessEnvironment());
  Globals g;
  g.broker = defaults.broker;
  g.uri = defaults.uri;
  g.history_file = defaults.history_file;

  CLI::App app{"spawnctl: deploy, inspect and control services on spawnpoints over MQTT"};
  app.set_version_flag("--version", SPAWN_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("-b,--broker", g.broker, "MQTT broker URI (env SPAWNPOINT_BROKER)")
      ->capture_default_str();
  app.add_option("--username", g.username, "broker user name");
  app.add_option("--password-file", g.password_file, "file holding the broker password")
      ->check(CLI::ExistingFile);
  app.add_option("--ca-file", g.ca_file, "CA certificate for ssl:// brokers")
      ->check(CLI::ExistingFile);
  app.add_option("--cert-file", g.cert_file, "client certificate")->check(CLI::ExistingFile);
  app.add_option("--key-file", g.key_file, "client private key")->check(CLI::ExistingFile);
  app.add_flag("--json", g.json, "print decoded messages as JSON, one per line");
  app.add_option("--timeout", g.timeout, "how long to wait for a spawnpoint's answer")
      ->capture_default_str()
      ->check([](const std::string& v) {
        auto d = ParseDuration(v);
        return d.ok() ? std::string() : d.status().message();
      });
  const std::string uri_help = "the spawnpoint's path (env SPAWNPOINT_DEFAULT_URI)";

  std::string base, yaml, name, since = "0s", wait = "10m", down_after;
  bool all = false, replace = false, no_follow = false;
  auto* scan = app.add_subcommand("scan", "List the spawnpoints under a base path");
  scan->add_option("base", base, "base path; a spawnpoint's own path shows it in detail");
  scan->add_option("-u,--uri", g.uri, uri_help);
  scan->add_flag("-a,--all", all, "include zombie services");
  scan->add_option("--down-after", down_after,
                   "a spawnpoint silent this long appears to be down (default: three of the "
                   "heartbeat intervals it announces)");

  auto* deploy = app.add_subcommand("deploy", "Deploy a service from its deploy.yml");
  deploy->add_option("-u,--uri", g.uri, uri_help);
  deploy->add_option("-c,--config", yaml, "the service's deploy.yml")
      ->required()
      ->check(CLI::ExistingFile);
  deploy->add_option("-n,--name", name, "service name (overrides the file's)");
  deploy->add_flag("--replace", replace, "replace a service of the same name");

  auto* deploy_last = app.add_subcommand(
      "deploy-last", "Deploy the last deployment again (from ~/.spawnpoint_history)");
  deploy_last->add_flag("--replace", replace, "replace the service if it exists");

  auto* restart = app.add_subcommand("restart", "Restart a service (or revive a zombie)");
  auto* stop = app.add_subcommand("stop", "Stop a service (it stays a zombie for a while)");
  auto* tail = app.add_subcommand("tail", "Follow a service's log until Ctrl-C");
  auto* logs = app.add_subcommand("logs", "Print the log history a spawnpoint keeps for a service");
  auto* inspect =
      app.add_subcommand("inspect", "Show a service's original config and current heartbeat");
  for (auto* sub : {restart, stop, tail, logs, inspect}) {
    sub->add_option("-u,--uri", g.uri, uri_help);
    sub->add_option("-n,--name", name, "service name")->required();
  }
  for (auto* sub : {deploy, deploy_last, restart, stop}) {
    sub->add_flag("--no-follow", no_follow,
                  "do not tail the log: return once the service runs (stop: after the reply)");
    sub->add_option("--wait", wait, "with --no-follow: how long to wait for it to run")
        ->capture_default_str();
  }
  logs->add_option("--since", since, "only lines newer than this, e.g. 10m (0s: all kept)")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  auto wait_limit = ParseDuration(wait);
  if (!wait_limit.ok()) return Fail("--wait: " + wait_limit.status().message());
  Session session(g, interrupts);

  if (scan->parsed()) {
    if (base.empty()) base = g.uri;
    if (base.empty())
      return Fail("scan: no base path: give one, use -u or set SPAWNPOINT_DEFAULT_URI");
    auto down = down_after.empty() ? Result<Duration>(Duration::zero()) : ParseDuration(down_after);
    if (!down.ok()) return Fail("--down-after: " + down.status().message());
    Status st = session.Open();
    if (!st.ok()) return Fail(st.message());
    // The listing shows state and usage; only --json prints the services' original configs.
    auto found = session.client().Scan(base, session.timeout(),
                                       g.json ? proto::HeartbeatDetail::kWithOriginalConfig
                                              : proto::HeartbeatDetail::kWithoutOriginalConfig);
    if (!found.ok()) return Fail(found.status().message());
    if (g.json) {
      session.Print(ToJson(*found, NowNs(), *down));
    } else {
      FormatOptions f = session.format();
      f.show_zombies = all;
      f.down_after = *down;
      std::cout << FormatScan(*found, NowNs(), f) << std::flush;
    }
    return 0;
  }

  std::optional<std::string> name_override = name.empty() ? std::nullopt : std::optional(name);
  if (deploy_last->parsed()) {
    auto last = LastHistoryEntry(g.history_file);
    if (!last.ok()) return Fail("deploy-last: " + last.status().message());
    g.uri = last->uri;
    yaml = last->config_path;
    name_override = last->name.empty() ? std::nullopt : std::optional(last->name);
    if (!g.json) std::cerr << "Deploying " << yaml << " to " << g.uri << " again" << std::endl;
  }
  if (g.uri.empty()) return Fail("no spawnpoint given: use -u PATH or set SPAWNPOINT_DEFAULT_URI");

  if (deploy->parsed() || deploy_last->parsed())
    return Deploy(session, yaml, name_override, replace, no_follow, *wait_limit);
  if (restart->parsed() || stop->parsed())
    return RestartOrStop(session, restart->parsed(), name, no_follow, *wait_limit);

  Status st = session.Open();
  if (!st.ok()) return Fail(st.message());
  if (tail->parsed()) {
    auto watch = WatchPrinting(session, name);
    if (!watch.ok()) return Fail(watch.status().message());
    return AfterCommand(session, **watch, std::nullopt, Duration(0));
  }
  if (logs->parsed()) {
    auto since_ns = SinceToUnixNs(since, NowNs());
    if (!since_ns.ok()) return Fail(since_ns.status().message());
    auto lines = session.client().Logs(g.uri, name, *since_ns, session.timeout());
    if (!lines.ok()) return Fail(lines.status().message());
    for (const auto& m : *lines) session.PrintLog(m);
    return 0;
  }
  if (inspect->parsed()) {
    auto hb = session.client().Inspect(g.uri, name, session.timeout());
    if (!hb.ok()) return Fail(hb.status().message());
    if (g.json) {
      session.Print(ToJson(*hb));
    } else {
      std::cout << FormatInspect(*hb, NowNs(), session.format()) << std::flush;
    }
    return 0;
  }
  return Fail("no command given (see --help)");
}

}  // namespace
}  // namespace spawn

int main(int argc, char** argv) {
  spawn::InstallPahoWorkarounds();  // only for the Paho C they were written for
  return spawn::Main(argc, argv);
}
