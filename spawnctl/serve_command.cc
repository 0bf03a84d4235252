#include "serve_command.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "spawn/bus/paho_bus.h"
#include "spawn/client/settings.h"
#include "spawn/common/units.h"
#include "spawn/gateway/dashboard_assets.h"
#include "spawn/gateway/fleet_feed.h"
#include "spawn/gateway/server.h"

namespace spawn {
namespace {

int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::BadRequest("cannot read --token-file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.size() < 16) {
    return Status::BadRequest("--token-file " + path +
                              ": the token must be at least 16 characters (e.g. openssl rand -hex "
                              "32 > " +
                              path + ")");
  }
  return token;
}

}  // namespace

ServeCommand::ServeCommand(CLI::App& app, const Globals& g) : g_(g) {
  serve_ = app.add_subcommand(
      "serve",
      "Serve the fleet under BASE over HTTP: a live dashboard at /, a JSON API under /api/v1 "
      "(see /api/v1/openapi.json) and Prometheus metrics at /metrics");
  serve_->add_option("base", base_,
                     "base path of the spawnpoints to show (default: --uri; empty: all)");
  serve_
      ->add_option("--listen", listen_,
                   "HOST:PORT to listen on; a non-loopback address wants --token-file")
      ->capture_default_str();
  serve_
      ->add_option("--token-file", token_file_,
                   "file holding the token every request must carry (Authorization: Bearer, or "
                   "the dashboard's login)")
      ->check(CLI::ExistingFile);
  serve_->add_flag("--read-only", read_only_,
                   "refuse deploy, restart and stop (the dashboard hides their buttons)");
  serve_->add_option("--down-after", down_after_,
                     "a spawnpoint silent this long appears to be down (default: three of the "
                     "heartbeat intervals it announces)");
}

int ServeCommand::Run(Interrupts& interrupts) {
  std::string base = base_.empty() ? g_.uri : base_;
  std::string host;
  int port = 0;
  if (Status s = gateway::ParseListen(listen_, &host, &port); !s.ok())
    return Fail(ExitCode::kUsage, "serve: " + s.message());
  Duration down_after = Duration::zero();
  if (!down_after_.empty()) {
    auto d = ParseDuration(down_after_);
    if (!d.ok()) return Fail(ExitCode::kUsage, "serve: --down-after: " + d.status().message());
    down_after = *d;
  }
  std::string token;
  if (!token_file_.empty()) {
    auto t = ReadToken(token_file_);
    if (!t.ok()) return Fail(ExitCode::kUsage, "serve: " + t.status().message());
    token = *t;
  }
  const bool loopback = gateway::IsLoopback(host);
  if (!loopback && token.empty()) {
    std::cerr << "spawnctl serve: warning: listening on " << host
              << " without --token-file: anyone who reaches it can "
              << (read_only_ ? "read the fleet" : "deploy, restart and stop services") << std::endl;
  }
  auto options = GlobalBusOptions(g_);
  if (!options.ok()) return Fail(options.status());
  options->auto_reconnect = true;  // a gateway outlives broker restarts

  gateway::FleetStateOptions state_options;
  state_options.down_after = down_after;
  gateway::FleetState state(base, state_options);
  std::unique_ptr<Bus> feed_bus = MakePahoBus(*options);
  gateway::FleetFeed feed(*feed_bus, state, WallNowNs);
  feed_bus->SetConnectionHandler([](bool connected) {
    std::cerr << "spawnctl serve: "
              << (connected ? "connected to the broker" : "lost the broker; reconnecting")
              << std::endl;
  });
  if (Status s = feed_bus->Connect(); !s.ok()) return Fail(s);
  if (Status s = feed.Start(); !s.ok()) return Fail(s);
  auto expiry = ParseExpiry(g_.expire);
  if (!expiry.ok()) return Fail(expiry.status());
  auto client = SpawnClient::Connect(*options);
  if (!client.ok()) return Fail(client.status());
  (*client)->set_command_expiry(*expiry);
  const Duration timeout = ParseDuration(g_.timeout).value_or(std::chrono::seconds(30));
  gateway::ClientCommands commands(**client, timeout);

  gateway::AccessPolicy access({token, read_only_, loopback});
  gateway::Api api(state, commands, access, gateway::DashboardAssets(), down_after);
  gateway::ServerOptions server_options;
  server_options.host = host;
  server_options.port = port;
  gateway::GatewayServer server(api, state, server_options);
  if (Status s = server.Start(); !s.ok()) return Fail(s.WithContext("serve"));
  const std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::cout << "spawnctl serve: http://" << shown_host << ":" << server.port()
            << "/ shows the fleet under " << (base.empty() ? "the whole broker" : base)
            << (read_only_ ? " (read-only)" : "") << "; Ctrl-C stops" << std::endl;
  interrupts.WaitForInterrupt();
  server.Stop();
  (*client)->Disconnect();
  feed_bus->Disconnect().IgnoreError();
  return static_cast<int>(ExitCode::kDone);
}

}  // namespace spawn
