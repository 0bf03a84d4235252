// spawnd: library plus main(). Builds the real parts (libcurl engine, Paho bus, file state store,
// steady-clock loop), wires them and runs until SIGINT or SIGTERM; containers keep running after
// exit.
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include "spawn/bus/paho_bus.h"
#include "spawn/common/logging.h"
#include "spawn/core/executor.h"
#include "spawn/core/state_store.h"
#include "spawn/daemon/daemon.h"
#include "spawn/daemon/openssl_setup.h"
#include "spawn/engine/curl_docker_engine.h"
#include "spawn/proto/topics.h"

// GnuTLS initialises itself in a library constructor (about 0.9 MiB of pages resident for good).
// spawnd never uses it: it is loaded only because Debian's libcurl links librtmp, which links
// GnuTLS. GnuTLS asks this weak, exported hook whether to skip that implicit initialisation
// (the same switch as GNUTLS_NO_IMPLICIT_INIT=1, without needing the environment); a library that
// does use GnuTLS still calls gnutls_global_init() itself, which works as before.
extern "C" __attribute__((visibility("default"))) int _gnutls_global_init_skip() { return 1; }

namespace spawn {
namespace {

constexpr auto kHeapTrimInterval = std::chrono::seconds(10);

Result<std::string> ReadSecret(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read passwordFile " + path);
  std::string secret;
  std::getline(in, secret);
  return secret;
}

int Run(const std::string& config_path, const std::string& metadata_path) {
  // glibc gives each thread that allocates an arena of its own; spawnd's threads allocate little
  // and rarely at once, and every arena keeps pages resident, so two are plenty.
  mallopt(M_ARENA_MAX, 2);
  auto config = LoadSpawndConfigFile(config_path);
  if (!config.ok()) {
    spdlog::error("{}", config.status().message());
    return 2;
  }
  std::map<std::string, std::string> metadata;
  if (!metadata_path.empty()) {
    auto loaded = LoadMetadataFile(metadata_path);
    if (!loaded.ok()) {
      spdlog::error("{}", loaded.status().message());
      return 2;
    }
    metadata = *loaded;
  }

  // Before the engine's libcurl initialises OpenSSL in full for nothing.
  SetUpOpenSsl(BrokerUsesTls(config->broker));

  // Signals are taken by one thread with sigwait: no work in a handler, and every thread inherits
  // the mask, so none is interrupted by them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Declared first, destroyed last: the bus, the executor's tasks and the supervisor Post to it.
  RealEventLoop loop;
  CurlDockerEngine engine(config->docker_socket);
  // Stats feed the heartbeats: a sample per heartbeat is all that is published.
  engine.SetStatsInterval(config->heartbeat_interval);
  auto version = engine.Connect();
  if (!version.ok()) {
    spdlog::error("cannot reach the Docker engine at {}: {}", config->docker_socket,
                  version.status().message());
    return 1;
  }
  spdlog::info("engine: Docker {} (API {}) at {}", version->version, version->api_version,
               config->docker_socket);

  BusOptions options;
  options.uri = config->broker;
  options.client_id = SpawndClientId(config->path);
  // The broker keeps our subscriptions and queues commands while we are away.
  options.clean_session = false;
  options.username = config->username;
  if (!config->password_file.empty()) {
    auto secret = ReadSecret(config->password_file);
    if (!secret.ok()) {
      spdlog::error("{}", secret.status().message());
      return 2;
    }
    options.password = *secret;
  }
  options.ca_file = config->ca_file;
  options.cert_file = config->cert_file;
  options.key_file = config->key_file;
  options.will = BusMessage{topics::Presence(config->path), "offline", 1, true};
  auto bus = MakePahoBus(options);

  auto store = MakeFileStateStore(config->state_dir);
  ThreadedExecutor executor;
  Daemon daemon(*config, metadata, *bus, loop);
  auto supervisor = MakeSupervisor(*config, engine, loop, *store, executor, daemon, [] {
    static thread_local std::mt19937 rng(std::random_device{}());
    return std::uniform_real_distribution<double>(0.9, 1.1)(rng);
  });
  daemon.SetSupervisor(supervisor.get());
  // Commands on disk from arrival to answer: a crash loses none and repeats none.
  auto journal =
      MakeFileCommandJournal(config->state_dir + "/commands", Daemon::kRepliesRemembered);
  auto recovered = journal->Load();
  if (!recovered.ok()) {
    spdlog::error("cannot read the command journal: {}", recovered.status().message());
    return 1;
  }
  daemon.SetJournal(journal.get(), std::move(*recovered));
  daemon.InstallHandlers();

  std::atomic<bool> stopping{false};
  std::thread signal_thread([&] {
    int received = 0;
    sigwait(&signals, &received);
    spdlog::info("received {}; shutting down (services keep running)", strsignal(received));
    stopping = true;
    loop.Post([&] {
      supervisor->Shutdown();
      daemon.Shutdown();
      bus->Disconnect().IgnoreError();
      loop.Stop();
    });
  });

  // The broker may come up after us: keep trying, with back-off, until it answers or we are
  // stopped.
  auto delay = std::chrono::milliseconds(500);
  for (;;) {
    Status connected = bus->Connect();
    if (connected.ok()) break;
    if (stopping) break;
    spdlog::warn("{}; retrying in {} ms", connected.message(), delay.count());
    for (auto waited = std::chrono::milliseconds(0); waited < delay && !stopping;
         waited += std::chrono::milliseconds(100)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    delay = std::min(delay * 2, std::chrono::milliseconds(30000));
  }
  int exit_code = 0;
  if (!stopping) {
    // The loop has not started: this thread is its owner until Run().
    Status started = supervisor->Start();
    if (started.ok()) started = daemon.Start();
    if (!started.ok()) {
      spdlog::error("cannot start: {}", started.message());
      exit_code = 1;
      pthread_kill(signal_thread.native_handle(), SIGTERM);
    }
  }
  // glibc keeps the pages of freed heap chunks that are not at the top of an arena: after a burst
  // of work (a hundred deploys, their concurrent engine calls and buffers) they would stay
  // resident for the daemon's lifetime. Handing them back now and then costs a walk of the heap.
  std::function<void()> trim_heap = [&] {
    malloc_trim(0);
    loop.RunAfter(kHeapTrimInterval, trim_heap);
  };
  loop.RunAfter(kHeapTrimInterval, trim_heap);
  loop.Run();
  signal_thread.join();
  return exit_code;
}

}  // namespace
}  // namespace spawn

int main(int argc, char** argv) {
  CLI::App app{"spawnd: runs and supervises services in Docker containers, driven over MQTT"};
  app.set_version_flag("--version", SPAWN_VERSION);
  app.require_subcommand(1);
  std::string config_path, metadata_path, log_level = "info";
  CLI::App* run = app.add_subcommand("run", "Run the daemon in the foreground (logs to stderr)");
  run->add_option("-c,--config", config_path, "spawnd.yml: the spawnpoint's configuration")
      ->required()
      ->check(CLI::ExistingFile);
  run->add_option("-m,--metadata", metadata_path,
                  "metadata.yml: key/value pairs published as metadata")
      ->check(CLI::ExistingFile);
  run->add_option("--log-level", log_level, "trace, debug, info, warn or error")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spawn::SetUpLogging("spawnd", log_level);
  return spawn::Run(config_path, metadata_path);
}
