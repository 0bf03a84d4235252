#include "spawn/daemon/run.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "spawn/bus/paho_bus.h"
#include "spawn/core/executor.h"
#include "spawn/core/service_secrets.h"
#include "spawn/core/state_store.h"
#include "spawn/core/supervisor.h"
#include "spawn/daemon/broker_connector.h"
#include "spawn/daemon/command_journal.h"
#include "spawn/daemon/daemon.h"
#include "spawn/daemon/fleet_runner.h"
#include "spawn/daemon/job_log.h"
#include "spawn/daemon/runtime_metadata.h"
#include "spawn/engine/curl_docker_engine.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

Result<std::string> ReadSecret(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read passwordFile " + path);
  std::string secret;
  std::getline(in, secret);
  return secret;
}

Result<BusOptions> SpawndBusOptions(const SpawndConfig& config) {
  BusOptions options;
  options.uri = config.broker;
  options.client_id = SpawndClientId(config.path);
  // The broker keeps our subscriptions and queues commands while we are away (under MQTT 5 for
  // sessionExpiry; a session of expiry 0 would end with each connection).
  options.clean_session = false;
  options.mqtt_version = config.mqtt_version;
  options.session_expiry = std::chrono::duration_cast<std::chrono::seconds>(config.session_expiry);
  options.username = config.username;
  if (!config.password_file.empty()) {
    auto secret = ReadSecret(config.password_file);
    if (!secret.ok()) return secret.status();
    options.password = *secret;
  }
  options.ca_file = config.ca_file;
  options.cert_file = config.cert_file;
  options.key_file = config.key_file;
  options.will = BusMessage{topics::Presence(config.path), "offline", 1, true};
  return options;
}

}  // namespace

Result<SpawndInputs> LoadSpawndInputs(const SpawndCommandLine& command_line) {
  auto config = LoadSpawndConfigFile(command_line.config_path);
  if (!config.ok() && config.status().code() == Code::kNotFound) {
    return Status::NotFound(config.status().message() + " (looked for " +
                            std::filesystem::absolute(command_line.config_path).string() +
                            "; give the configuration with -c FILE)");
  }
  if (!config.ok()) return config.status();
  for (const std::string& warning : config->warnings) spdlog::warn("{}", warning);
  SpawndInputs inputs{std::move(*config), {}};
  if (!command_line.metadata_path.empty()) {
    auto metadata = LoadMetadataFile(command_line.metadata_path);
    if (!metadata.ok()) return metadata.status();
    inputs.metadata = std::move(*metadata);
  }
  return inputs;
}

int RunSpawnd(const SpawndInputs& inputs, RealEventLoop& loop, const sigset_t& signals) {
  const SpawndConfig& config = inputs.config;
  CurlDockerEngine engine(config.docker_socket);
  // Stats feed the heartbeats: a sample per heartbeat is all that is published.
  engine.SetStatsInterval(config.heartbeat_interval);
  auto version = engine.Connect();
  if (!version.ok()) {
    spdlog::error("cannot reach the Docker engine at {}: {}", config.docker_socket,
                  version.status().message());
    return 1;
  }
  spdlog::info("engine: Docker {} (API {}) at {}", version->version, version->api_version,
               config.docker_socket);

  auto options = SpawndBusOptions(config);
  if (!options.ok()) {
    spdlog::error("{}", options.status().message());
    return 2;
  }
  // fleet: the fleet's reconciler, on a connection of its own with an operator's identity.
  auto fleet_runner = FleetRunner::Make(config);
  if (!fleet_runner.ok()) {
    spdlog::error("{}", fleet_runner.status().message());
    return 2;
  }
  auto bus = MakePahoBus(*options);
  auto store = MakeFileStateStore(config.state_dir);
  auto secrets = MakeFileServiceSecrets(config.state_dir);
  ThreadedExecutor executor;
  // The job log: what every command became, kept across restarts (made before the
  // daemon, which holds it, so it outlives it; a damaged file is reported and
  // the log starts again: it records, it decides nothing).
  auto job_store = MakeFileJobStore(config.state_dir + "/jobs/jobs.msgpack");
  JobLog jobs(*job_store);
  const Status jobs_loaded = jobs.Load();
  if (!jobs_loaded.ok())
    spdlog::error("jobs: {}; starting an empty job log", jobs_loaded.message());
  // Metadata set at run time (slot/meta) wins over the -m file's until removed, across restarts.
  auto meta_store = MakeFileMetaStore(config.state_dir + "/meta/meta.json");
  RuntimeMetadata metadata(inputs.metadata, meta_store.get());
  const Status meta_loaded = metadata.Load();
  if (!meta_loaded.ok())
    spdlog::error("metadata: {}; only the -m file's keys are published", meta_loaded.message());
  Daemon daemon(config, inputs.metadata, *bus, loop);
  auto supervisor = MakeSupervisor(
      config, engine, loop, *store, *secrets, executor, daemon,
      [] {
        static thread_local std::mt19937 rng(std::random_device{}());
        return std::uniform_real_distribution<double>(0.9, 1.1)(rng);
      },
      &engine);  // health probes share the engine's stream thread
  daemon.SetSupervisor(supervisor.get());
  // Commands on disk from arrival to answer: a crash loses none and repeats none.
  auto journal = MakeFileCommandJournal(config.state_dir + "/commands", Daemon::kRepliesRemembered);
  auto recovered = journal->Load();
  if (!recovered.ok()) {
    spdlog::error("cannot read the command journal: {}", recovered.status().message());
    return 1;
  }
  daemon.SetJournal(journal.get(), std::move(*recovered));
  daemon.SetJobLog(&jobs);
  daemon.SetRuntimeMetadata(&metadata);
  daemon.InstallHandlers();

  BrokerConnector connector(*bus, loop);
  // Set by the signal thread at once, so that a connection that succeeds after the signal (the
  // shutdown task waits behind the attempt) does not start what is about to stop.
  std::atomic<bool> stopping{false};
  std::thread signal_thread([&] {
    int received = 0;
    sigwait(&signals, &received);
    spdlog::info("received {}; shutting down (services keep running)", strsignal(received));
    stopping = true;
    loop.Post([&] {
      connector.Stop();
      supervisor->Shutdown();
      daemon.Shutdown();
      bus->Disconnect().IgnoreError();
      loop.Stop();
    });
  });

  int exit_code = 0;
  connector.Start([&] {
    if (stopping) return;
    Status started = supervisor->Start();
    if (started.ok()) started = daemon.Start();
    if (!started.ok()) {
      spdlog::error("cannot start: {}", started.message());
      exit_code = 1;
      pthread_kill(signal_thread.native_handle(), SIGTERM);  // shut down as on a signal
    }
  });
  if (*fleet_runner) (*fleet_runner)->Start();
  loop.Run();
  signal_thread.join();
  if (*fleet_runner) (*fleet_runner)->Stop();
  return exit_code;
}

}  // namespace spawn
