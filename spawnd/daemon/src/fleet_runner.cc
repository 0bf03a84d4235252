#include "spawn/daemon/fleet_runner.h"

#include <spdlog/spdlog.h>

#include <fstream>

#include "spawn/bus/paho_bus.h"
#include "spawn/daemon/broker_connector.h"
#include "spawn/fleet/agent.h"

namespace spawn {

Result<std::unique_ptr<FleetRunner>> FleetRunner::Make(const SpawndConfig& config) {
  if (!config.fleet) return std::unique_ptr<FleetRunner>();
  const FleetAgentConfig& f = *config.fleet;
  BusOptions options;
  options.uri = config.broker;
  options.client_id = RandomClientId("spawnd-fleet-");
  options.clean_session = true;
  options.mqtt_version = config.mqtt_version;
  options.username = f.username;
  if (!f.password_file.empty()) {
    std::ifstream in(f.password_file);
    if (!in) return Status::NotFound("fleet: cannot read passwordFile " + f.password_file);
    std::getline(in, options.password);
  }
  options.ca_file = config.ca_file;
  options.cert_file = config.cert_file;
  options.key_file = config.key_file;
  return std::unique_ptr<FleetRunner>(new FleetRunner(f.base, MakePahoBus(options)));
}

FleetRunner::FleetRunner(std::string base, std::unique_ptr<Bus> bus)
    : base_(std::move(base)), bus_(std::move(bus)) {
  fleet::AgentOptions options;
  options.reconciler.base = base_;
  agent_ = std::make_unique<fleet::FleetAgent>(options, *bus_, loop_);
  agent_->Install();
  connector_ = std::make_unique<BrokerConnector>(*bus_, loop_);
}

FleetRunner::~FleetRunner() { Stop(); }

void FleetRunner::Start() {
  thread_ = std::thread([this] {
    connector_->Start([this] {
      const Status started = agent_->Start();
      if (started.ok()) {
        spdlog::info("fleet: reconciling the sets under {}", base_);
      } else {
        spdlog::error("fleet: cannot read the base {}: {}", base_, started.message());
      }
    });
    loop_.Run();
  });
}

void FleetRunner::Stop() {
  if (!thread_.joinable()) return;
  loop_.Post([this] {
    connector_->Stop();
    agent_->Stop();
    loop_.Stop();
  });
  thread_.join();
  bus_->Disconnect().IgnoreError();
}

}  // namespace spawn
