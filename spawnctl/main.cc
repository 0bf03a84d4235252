// spawnctl: the command line for a fleet of spawnpoints. Library (spawnclient) plus main(): parsing
// arguments and printing; every bus interaction is SpawnClient's.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "spawn/bus/paho_bus.h"
#include "spawn/client/client.h"
#include "spawn/client/format.h"
#include "spawn/common/units.h"

namespace spawn {
namespace {

std::atomic<bool> interrupted{false};
extern "C" void OnInterrupt(int) { interrupted = true; }

struct Globals {
  std::string broker = "tcp://127.0.0.1:1883";
  std::string username, password_file, ca_file, cert_file, key_file;
  std::string uri;
  bool json = false;
  std::string timeout = "30s";
};

int Fail(const std::string& reason) {
  std::cerr << "spawnctl: " << reason << "\n";
  return 1;
}

int64_t NowNs() { return ToUnixNanos(std::chrono::system_clock::now()); }

std::string HistoryPath() {
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.spawnpoint_history";
}

class Session {
 public:
  explicit Session(const Globals& g) : g_(g) {}

  Status Open() {
    BusOptions o;
    o.uri = g_.broker;
    o.username = g_.username;
    o.ca_file = g_.ca_file;
    o.cert_file = g_.cert_file;
    o.key_file = g_.key_file;
    if (!g_.password_file.empty()) {
      std::ifstream in(g_.password_file);
      if (!in) return Status::NotFound("cannot read --password-file " + g_.password_file);
      std::getline(in, o.password);
    }
    bus_ = MakePahoBus(o);
    client_ = std::make_unique<SpawnClient>(*bus_);
    return bus_->Connect();
  }
  SpawnClient& client() { return *client_; }
  std::chrono::milliseconds timeout() const {
    return ParseDuration(g_.timeout).value_or(std::chrono::seconds(30));
  }
  FormatOptions format() const {
    FormatOptions f;
    f.color = isatty(STDOUT_FILENO);
    return f;
  }

 private:
  const Globals& g_;
  std::unique_ptr<Bus> bus_;
  std::unique_ptr<SpawnClient> client_;
};

// Prints the service's log and state changes until Ctrl-C, or (until_running) until it runs.
int Follow(Session& session, const Globals& g, const std::string& name, bool until_running,
           std::chrono::milliseconds wait_limit) {
  std::mutex mu;
  std::optional<proto::ServiceState> state;
  const FormatOptions f = session.format();
  auto watch = session.client().Follow(
      g.uri, name,
      [&](const proto::LogMessage& m) {
        std::lock_guard lock(mu);
        std::cout << (g.json ? ToJson(m) : FormatLogLine(m, f)) << std::endl;
      },
      [&](const proto::ServiceHeartbeat& hb) {
        std::lock_guard lock(mu);
        state = hb.state;
      });
  if (!watch.ok()) return Fail(watch.status().message());
  if (!until_running && !g.json)
    std::cerr << "Tailing service logs. Press CTRL-c to exit..." << std::endl;
  const auto deadline = std::chrono::steady_clock::now() + wait_limit;
  while (!interrupted) {
    {
      std::lock_guard lock(mu);
      if (until_running && state == proto::ServiceState::kRunning) return 0;
      if (until_running && state == proto::ServiceState::kZombie) {
        return Fail("service " + name + " did not start (it is a zombie; see its log above)");
      }
    }
    if (until_running && std::chrono::steady_clock::now() > deadline) {
      return Fail("service " + name + " is not running after " +
                  FormatDuration(std::chrono::duration_cast<Duration>(wait_limit)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return until_running ? 130 : 0;
}

int PrintReply(Session& session, const Globals& g, const Result<proto::Reply>& reply) {
  if (!reply.ok()) return Fail(reply.status().message());
  std::cout << (g.json ? ToJson(*reply) : FormatReply(*reply, session.format())) << std::endl;
  return reply->ok ? 0 : 1;
}

int Deploy(Session& session, const Globals& g, const std::string& yaml,
           const std::optional<std::string>& name, bool replace, bool no_follow,
           const std::string& wait) {
  auto request = PrepareDeploy(yaml, name, replace);
  if (!request.ok()) return Fail(request.status().message());
  const std::string service = request->config.name;
  {
    std::ofstream history(HistoryPath(), std::ios::app);
    history << g.uri << "\t" << std::filesystem::absolute(yaml).string() << "\t" << service << "\n";
  }
  // Subscribe to the log first, so the build's progress is not missed.
  std::mutex mu;
  std::optional<proto::ServiceState> state;
  const FormatOptions f = session.format();
  auto watch = session.client().Follow(
      g.uri, service,
      [&](const proto::LogMessage& m) {
        std::lock_guard lock(mu);
        std::cout << (g.json ? ToJson(m) : FormatLogLine(m, f)) << std::endl;
      },
      [&](const proto::ServiceHeartbeat&) {});
  if (!watch.ok()) return Fail(watch.status().message());
  const int replied = PrintReply(
      session, g, session.client().Deploy(g.uri, std::move(*request), session.timeout()));
  if (replied != 0) return replied;
  watch->reset();
  return Follow(session, g, service, no_follow,
                ParseDuration(wait).value_or(std::chrono::minutes(10)));
}

void AddGlobals(CLI::App& app, Globals& g) {
  if (const char* b = std::getenv("SPAWNPOINT_BROKER")) g.broker = b;
  if (const char* u = std::getenv("SPAWNPOINT_DEFAULT_URI")) g.uri = u;
  app.add_option("-b,--broker", g.broker, "MQTT broker URI (env SPAWNPOINT_BROKER)")
      ->capture_default_str();
  app.add_option("--username", g.username, "broker user name");
  app.add_option("--password-file", g.password_file, "file holding the broker password");
  app.add_option("--ca-file", g.ca_file, "CA certificate for ssl:// brokers");
  app.add_option("--cert-file", g.cert_file, "client certificate");
  app.add_option("--key-file", g.key_file, "client private key");
  app.add_flag("--json", g.json, "print decoded messages as JSON, one per line");
  app.add_option("--timeout", g.timeout, "how long to wait for an answer")->capture_default_str();
}

int Main(int argc, char** argv) {
  CLI::App app{"spawnctl: deploy, inspect and control services on spawnpoints over MQTT"};
  app.set_version_flag("--version", SPAWN_VERSION);
  app.require_subcommand(1);
  Globals g;
  AddGlobals(app, g);
  auto uri_option = [&g](CLI::App* sub) {
    sub->add_option("-u,--uri", g.uri, "the spawnpoint's path (env SPAWNPOINT_DEFAULT_URI)");
  };

  std::string base, yaml, name, since = "0s", wait = "10m";
  bool all = false, replace = false, no_follow = false;
  std::string down_after = "15s";
  auto* scan =
      app.add_subcommand("scan", "List the spawnpoints under a base path, and their services");
  scan->add_option("base", base, "base path (a spawnpoint's path shows it in detail)");
  uri_option(scan);
  scan->add_flag("-a,--all", all, "include zombie services");
  scan->add_option("--down-after", down_after, "a spawnpoint silent this long appears to be down")
      ->capture_default_str();

  auto* deploy = app.add_subcommand("deploy", "Deploy a service from its deploy.yml");
  uri_option(deploy);
  deploy->add_option("-c,--config", yaml, "the service's deploy.yml")
      ->required()
      ->check(CLI::ExistingFile);
  deploy->add_option("-n,--name", name, "service name (overrides the file's)");
  deploy->add_flag("--replace", replace, "replace a service of the same name");
  deploy->add_flag("--no-follow", no_follow,
                   "return once the service runs instead of tailing its log");
  deploy->add_option("--wait", wait, "with --no-follow: how long to wait for it to run")
      ->capture_default_str();

  auto* restart = app.add_subcommand("restart", "Restart a service (or revive a zombie)");
  auto* stop = app.add_subcommand("stop", "Stop a service (it stays a zombie for a while)");
  auto* tail = app.add_subcommand("tail", "Follow a service's log");
  auto* logs = app.add_subcommand("logs", "Print a service's recent log history");
  auto* inspect =
      app.add_subcommand("inspect", "Show a service's original config and its current heartbeat");
  for (auto* sub : {restart, stop, tail, logs, inspect}) {
    uri_option(sub);
    sub->add_option("-n,--name", name, "service name")->required();
  }
  for (auto* sub : {restart, stop})
    sub->add_flag("--no-follow", no_follow, "return after the reply");
  logs->add_option("--since", since, "only lines newer than this, e.g. 10m (0s: all kept)")
      ->capture_default_str();
  auto* deploy_last =
      app.add_subcommand("deploy-last", "Deploy again the last deployment (~/.spawnpoint_history)");
  deploy_last->add_flag("--no-follow", no_follow, "return once the service runs");
  deploy_last->add_flag("--replace", replace, "replace the running service");

  CLI11_PARSE(app, argc, argv);
  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);

  if (scan->parsed() && base.empty()) base = g.uri;
  if (deploy_last->parsed()) {
    std::ifstream in(HistoryPath());
    std::string line, last;
    while (std::getline(in, line)) {
      if (!line.empty()) last = line;
    }
    if (last.empty()) return Fail("no deployment recorded in " + HistoryPath() + " yet");
    std::stringstream fields(last);
    std::getline(fields, g.uri, '\t');
    std::getline(fields, yaml, '\t');
    std::getline(fields, name, '\t');
  }
  if (!scan->parsed() && g.uri.empty())
    return Fail("no spawnpoint given: use -u PATH or set SPAWNPOINT_DEFAULT_URI");
  if (ParseDuration(g.timeout).status().code() != Code::kOk)
    return Fail("--timeout: " + ParseDuration(g.timeout).status().message());

  Session session(g);
  Status connected = session.Open();
  if (!connected.ok()) return Fail(connected.message());

  if (scan->parsed()) {
    auto found = session.client().Scan(base, session.timeout());
    if (!found.ok()) return Fail(found.status().message());
    if (g.json) {
      std::cout << ToJson(*found) << std::endl;
    } else {
      FormatOptions f = session.format();
      f.show_zombies = all;
      f.down_after = ParseDuration(down_after).value_or(std::chrono::seconds(15));
      std::cout << FormatScan(*found, NowNs(), f);
    }
    return found->empty() ? 1 : 0;
  }
  if (deploy->parsed() || deploy_last->parsed()) {
    return Deploy(session, g, yaml, name.empty() ? std::nullopt : std::optional<std::string>(name),
                  replace, no_follow, wait);
  }
  if (restart->parsed() || stop->parsed()) {
    auto reply = restart->parsed() ? session.client().Restart(g.uri, name, session.timeout())
                                   : session.client().Stop(g.uri, name, session.timeout());
    const int code = PrintReply(session, g, reply);
    if (code != 0 || (no_follow && stop->parsed())) return code;
    return Follow(session, g, name, no_follow,
                  ParseDuration(wait).value_or(std::chrono::minutes(10)));
  }
  if (tail->parsed()) return Follow(session, g, name, false, std::chrono::milliseconds(0));
  if (logs->parsed()) {
    auto window = ParseDuration(since);
    if (!window.ok()) return Fail("--since: " + window.status().message());
    const int64_t since_ns = window->count() == 0 ? 0 : NowNs() - window->count() * 1000000;
    auto lines = session.client().Logs(g.uri, name, since_ns, session.timeout());
    if (!lines.ok()) return Fail(lines.status().message());
    for (const auto& m : *lines)
      std::cout << (g.json ? ToJson(m) : FormatLogLine(m, session.format())) << "\n";
    return 0;
  }
  if (inspect->parsed()) {
    auto hb = session.client().Inspect(g.uri, name, session.timeout());
    if (!hb.ok()) return Fail(hb.status().message());
    if (g.json) {
      std::cout << ToJson(*hb) << std::endl;
    } else {
      std::cout << FormatServiceHeartbeat(*hb, NowNs(), session.format())
                << "\n\nOriginal config:\n"
                << ServiceConfigToYaml(hb->original_config);
    }
    return 0;
  }
  return Fail("no command given (see --help)");
}

}  // namespace
}  // namespace spawn

int main(int argc, char** argv) { return spawn::Main(argc, argv); }
