// Shared pieces of the integration, acceptance and fault tests and of the benchmarks: they drive
// the real spawnd and spawnctl binaries against a real Mosquitto and a real Docker engine.
//
// - Probe: an MQTT connection that records every message; WaitFor blocks until one matches.
// - SpawndProcess: a spawnd child process with its own spawnpoint path, spawnd.yml, state dir and
//   log; on destruction it is killed, its containers removed by label, its retained messages and
//   persistent broker session cleared and its directory deleted.
// - RunSpawnctl: the spawnctl binary run with its own HOME; stdout, stderr and exit code captured.
// - PrivateBroker / PrivateEngine: a Mosquitto or a dockerd of the test's own (own port or socket),
//   so a fault test can kill and restart it without disturbing anything else on the machine.
//
// Nothing here asserts on time: waits are condition-variable waits with generous timeouts.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "spawn/bus/bus.h"
#include "spawn/common/config.h"
#include "spawn/proto/messages.h"

namespace spawn::testing {

inline constexpr const char* kDefaultBroker = "tcp://127.0.0.1:1883";
inline constexpr const char* kDefaultDockerSocket = "/var/run/docker.sock";

using MessageMatcher = std::function<bool(const BusMessage&)>;

// Records every message delivered on its own connection. Thread-safe.
class Probe {
 public:
  explicit Probe(const std::string& broker = kDefaultBroker);
  // With `options` (a persistent session, say: the broker then keeps what comes while the probe
  // is reconnecting).
  explicit Probe(const BusOptions& options);
  ~Probe();
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // Subscribes at QoS 1; false (and a gtest failure) when the broker refuses.
  bool Subscribe(const std::string& filter);
  bool Publish(const std::string& topic, const std::string& payload, bool retained = false);
  // The first recorded message (since the last Clear) that matches, waiting up to `timeout`.
  std::optional<BusMessage> WaitFor(const MessageMatcher& match,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Every recorded message that matches, without waiting.
  std::vector<BusMessage> All(const MessageMatcher& match);
  void Clear();
  Bus& bus() { return *bus_; }

 private:
  std::unique_ptr<Bus> bus_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<BusMessage> seen_;
};

// What goes into the spawnd.yml of a SpawndProcess. `extra_yaml` is appended verbatim.
struct SpawndOptions {
  std::string broker = kDefaultBroker;
  std::string docker_socket = kDefaultDockerSocket;
  std::string mem_alloc = "512M";
  int cpu_shares = 1024;
  std::string heartbeat_interval = "1s";
  std::string zombie_period = "3s";
  std::string default_image = SPAWN_TEST_IMAGE;
  std::string metadata_yaml = "room: lab 410\n";
  std::string extra_yaml;
  // As the original spawnd was run: the configuration is config.yml in spawnd's working directory
  // and no -c is given.
  bool config_in_working_dir = false;
  // The spawnpoint's path; empty: test/<a unique name>.
  std::string path;
  // How the harness connects to `broker` to clear spawnd's session and retained messages when
  // the process is destroyed (a secured broker needs a user who may do that); unset: anonymous.
  std::optional<BusOptions> cleanup;
};

// A spawnd child process; see the file comment.
class SpawndProcess {
 public:
  explicit SpawndProcess(SpawndOptions options = {});
  ~SpawndProcess();
  SpawndProcess(const SpawndProcess&) = delete;
  SpawndProcess& operator=(const SpawndProcess&) = delete;

  // Forks and execs spawnd; stderr goes to the log file.
  void Start();
  // Starts spawnd and waits (on `probe`) for presence `online`, which spawnd publishes only once it
  // has subscribed to its slots. False (with the log) when it does not come online.
  bool StartAndWaitOnline(Probe& probe, std::chrono::seconds timeout = std::chrono::seconds(60));
  // Sends `signal` and reaps the process; returns the wait status (0 if it was not running).
  int Kill(int signal);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  std::string Log() const;
  const std::string& path() const { return path_; }
  const std::filesystem::path& dir() const { return dir_; }
  const SpawndOptions& options() const { return options_; }

 private:
  SpawndOptions options_;
  std::string path_;
  std::filesystem::path dir_;
  pid_t pid_ = 0;
};

// A scratch directory under /tmp removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  // Writes `contents` to `relative` (creating folders) and returns its full path.
  std::filesystem::path Write(const std::string& relative, const std::string& contents) const;

 private:
  std::filesystem::path path_;
};

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs SPAWN_BINARY_DIR/spawnctl/spawnctl with `args`, HOME=`home`, SPAWNPOINT_BROKER=`broker` and
// no SPAWNPOINT_DEFAULT_URI; stdin is /dev/null.
CliRun RunSpawnctl(const std::vector<std::string>& args, const std::string& home,
                   const std::string& broker = kDefaultBroker);

// A busybox service (SPAWN_TEST_IMAGE, host networking) that prints "hello from NAME" and sleeps.
ServiceConfig Busybox(const std::string& name, bool auto_restart = false);

// Publishes a deploy of `config` (with an empty archive) and waits for the reply with `code`.
// False (and a gtest failure) when that reply does not come.
bool DeployOverBus(Probe& probe, const std::string& path, const ServiceConfig& config,
                   const std::string& request_id, int code = 200);

MessageMatcher IsReply(const std::string& request_id, int code);
MessageMatcher ServiceIn(const std::string& topic, proto::ServiceState state);
// A (non-empty) service heartbeat on `topic` for which `match` holds.
MessageMatcher ServiceHeartbeatWhere(const std::string& topic,
                                     std::function<bool(const proto::ServiceHeartbeat&)> match);
// The spawnpoint heartbeat of `path`, when `match` holds.
MessageMatcher SpawnpointHeartbeatWhere(
    const std::string& path, std::function<bool(const proto::SpawnpointHeartbeat&)> match);
MessageMatcher LogContains(const std::string& topic, const std::string& text);
MessageMatcher TopicIs(const std::string& topic, const std::string& payload);

// A loopback port for a private broker of this test process: `base` plus a number taken from the
// process id, so that test programs run side by side pick different ports.
int PrivateBrokerPort(int base);

// A Mosquitto of the test's own on 127.0.0.1:`port` with persistence under its own directory,
// so it can be killed and restarted with its state. It saves its state every `autosave_seconds`
// and on a clean stop; 0 saves only on a clean stop, so Kill() loses every session.
class PrivateBroker {
 public:
  // `extra_config` is appended to its mosquitto.conf (say, a second listener with TLS).
  explicit PrivateBroker(int port, int autosave_seconds = 1, const std::string& extra_config = "");
  ~PrivateBroker();
  // Starts it and waits until it accepts connections; false if it does not within 10 s.
  bool Start();
  // SIGTERM (Mosquitto saves its state) and reaps it.
  void Stop();
  // SIGKILL: sessions and retained messages since the last autosave are lost, as in a crash.
  void Kill();
  // SIGSTOP and SIGCONT: a broker that hangs, its connections open but unanswered.
  void Freeze();
  void Thaw();
  // Options of a persistent session on this broker (stable client id `name`-PID, no clean
  // start, MQTT 5 with an hour's session expiry): the broker keeps its subscriptions and queues
  // what comes while it is away.
  BusOptions PersistentSession(const std::string& name) const;
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  // What it has logged so far, over all its runs.
  std::string Log() const;

 private:
  int port_;
  TempDir dir_;
  pid_t pid_ = 0;
};

// A dockerd of the test's own (own socket, data root and exec root, no bridge, no iptables) so a
// test can restart the engine without touching the machine's. Images are copied into it from the
// machine's engine with CopyImage.
class PrivateEngine {
 public:
  PrivateEngine();
  ~PrivateEngine();
  // Starts dockerd and waits until it answers; false (with its log tail) if it does not in 60 s.
  bool Start();
  // SIGTERM and reap; with live-restore off, its containers stop with it.
  void Stop();
  // `docker save` from the machine's engine piped into `docker load` on this one.
  bool CopyImage(const std::string& image);
  std::string socket() const { return (dir_.path() / "docker.sock").string(); }
  std::string Log() const;

 private:
  TempDir dir_;
  pid_t pid_ = 0;
};

// A `docker` command line against `socket` (stdout captured, stderr to the test's stderr).
struct ShellRun {
  int exit_code = -1;
  std::string out;
};
ShellRun Shell(const std::string& command);
ShellRun Docker(const std::string& args, const std::string& socket = kDefaultDockerSocket);

std::string Quote(const std::string& s);
std::string Slurp(const std::filesystem::path& path);

// A name unique to this process and call, for paths, topics and containers.
std::string UniqueName(const std::string& prefix);

}  // namespace spawn::testing
