#include "harness.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "spawn/bus/paho_bus.h"
#include "spawn/common/tar.h"
#include "spawn/common/units.h"
#include "spawn/daemon/daemon.h"
#include "spawn/engine/curl_docker_engine.h"
#include "spawn/proto/topics.h"

namespace spawn::testing {

using namespace std::chrono_literals;

namespace {

std::atomic<int> unique_counter{0};

// Sends SIGTERM, then SIGKILL after `grace`, and reaps.
void TerminateAndReap(pid_t pid, std::chrono::seconds grace) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(50ms);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// Clears every retained message under `root`: subscribes to it, then to a sentinel topic, and
// publishes to the sentinel; the broker delivers retained messages on subscribe, so by the time
// the sentinel arrives every retained message under `root` has been seen.
void ClearRetainedUnder(const BusOptions& options, const std::string& root) {
  Probe probe(options);
  const std::string sentinel = "spawntest/sentinel/" + UniqueName("clear");
  if (!probe.Subscribe(root + "/#") || !probe.Subscribe(sentinel)) return;
  probe.Publish(sentinel, "end");
  if (!probe.WaitFor([&](const BusMessage& m) { return m.topic == sentinel; }, 10s)) return;
  for (const auto& m : probe.All([](const BusMessage& m) { return m.retained; })) {
    if (!m.payload.empty()) probe.Publish(m.topic, "", true);
  }
}

}  // namespace

std::string UniqueName(const std::string& prefix) {
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(++unique_counter);
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- Probe ----

Probe::Probe(const std::string& broker)
    : Probe([&] {
        BusOptions o;
        o.uri = broker;
        return o;
      }()) {}

Probe::Probe(const BusOptions& options) {
  bus_ = MakePahoBus(options);
  bus_->SetMessageHandler([this](const BusMessage& m) {
    std::lock_guard lock(mu_);
    seen_.push_back(m);
    cv_.notify_all();
  });
  const Status connected = bus_->Connect();
  EXPECT_TRUE(connected.ok()) << "probe cannot connect to " << options.uri << ": "
                              << connected.message();
}

Probe::~Probe() { bus_->Disconnect().IgnoreError(); }

bool Probe::Subscribe(const std::string& filter) {
  const Status s = bus_->Subscribe(filter, 1);
  EXPECT_TRUE(s.ok()) << "subscribe " << filter << ": " << s.message();
  return s.ok();
}

bool Probe::Publish(const std::string& topic, const std::string& payload, bool retained) {
  const Status s = bus_->Publish({topic, payload, 1, retained});
  EXPECT_TRUE(s.ok()) << "publish " << topic << ": " << s.message();
  return s.ok();
}

std::optional<BusMessage> Probe::WaitFor(const MessageMatcher& match,
                                         std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  std::optional<BusMessage> found;
  cv_.wait_for(lock, timeout, [&] {
    for (const auto& m : seen_) {
      if (match(m)) {
        found = m;
        return true;
      }
    }
    return false;
  });
  return found;
}

std::vector<BusMessage> Probe::All(const MessageMatcher& match) {
  std::lock_guard lock(mu_);
  std::vector<BusMessage> out;
  for (const auto& m : seen_) {
    if (match(m)) out.push_back(m);
  }
  return out;
}

void Probe::Clear() {
  std::lock_guard lock(mu_);
  seen_.clear();
}

// ---- SpawndProcess ----

SpawndProcess::SpawndProcess(SpawndOptions options)
    : options_(std::move(options)),
      path_(options_.path.empty() ? "test/" + UniqueName("spawnd") : options_.path),
      dir_(std::filesystem::temp_directory_path() / UniqueName("spawnd-test")) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ / (options_.config_in_working_dir ? "config.yml" : "spawnd.yml"))
      << "path: " << path_ << "\nbroker: " << options_.broker
      << "\ndockerSocket: " << options_.docker_socket << "\nmemAlloc: " << options_.mem_alloc
      << "\ncpuShares: " << options_.cpu_shares
      << "\nheartbeatInterval: " << options_.heartbeat_interval
      << "\nzombiePeriod: " << options_.zombie_period
      << "\nallowHostNet: true\nstateDir: " << (dir_ / "state").string()
      << "\ndefaultImage: " << options_.default_image << "\n"
      << options_.extra_yaml;
  std::ofstream(dir_ / "metadata.yml") << options_.metadata_yaml;
}

SpawndProcess::~SpawndProcess() {
  Kill(SIGKILL);
  if (::testing::Test::HasFailure()) std::cerr << "---- spawnd log ----\n" << Log() << "----\n";
  CurlDockerEngine engine(options_.docker_socket);
  auto left = engine.ListContainers("io.spawnpoint.path", path_);
  if (left.ok()) {
    for (const auto& c : *left) engine.RemoveContainer(c.id, true).IgnoreError();
  }
  // Drop the persistent session (a clean connection with spawnd's client id does that), then the
  // retained messages under the path.
  BusOptions o;
  if (options_.cleanup) o = *options_.cleanup;
  o.uri = options_.broker;
  BusOptions session = o;
  session.client_id = SpawndClientId(path_);
  session.clean_session = true;
  auto bus = MakePahoBus(session);
  if (bus->Connect().ok()) bus->Disconnect().IgnoreError();
  ClearRetainedUnder(o, topics::Root(path_));
  std::filesystem::remove_all(dir_);
}

void SpawndProcess::Start() {
  pid_ = fork();
  if (pid_ == 0) {
    const std::string log = (dir_ / "spawnd.log").string();
    if (!std::freopen(log.c_str(), "a", stderr)) _exit(126);
    if (options_.config_in_working_dir) {
      if (chdir(dir_.c_str()) != 0) _exit(126);
      execl(SPAWN_BINARY_DIR "/spawnd/daemon/spawnd", "spawnd", "run", "-m",
            (dir_ / "metadata.yml").c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    execl(SPAWN_BINARY_DIR "/spawnd/daemon/spawnd", "spawnd", "run", "-c",
          (dir_ / "spawnd.yml").c_str(), "-m", (dir_ / "metadata.yml").c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
}

bool SpawndProcess::StartAndWaitOnline(Probe& probe, std::chrono::seconds timeout) {
  probe.Subscribe(topics::Presence(path_));
  probe.Clear();
  Start();
  const bool online =
      probe.WaitFor(TopicIs(topics::Presence(path_), "online"), timeout).has_value();
  EXPECT_TRUE(online) << "spawnd did not come online:\n" << Log();
  return online;
}

int SpawndProcess::Kill(int signal) {
  if (pid_ <= 0) return 0;
  kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = 0;
  return status;
}

std::string SpawndProcess::Log() const { return Slurp(dir_ / "spawnd.log"); }

// ---- TempDir ----

TempDir::TempDir(const std::string& prefix)
    : path_(std::filesystem::temp_directory_path() / UniqueName(prefix)) {
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path TempDir::Write(const std::string& relative,
                                     const std::string& contents) const {
  const auto full = path_ / relative;
  std::filesystem::create_directories(full.parent_path());
  std::ofstream(full) << contents;
  return full;
}

// ---- spawnctl, shell ----

CliRun RunSpawnctl(const std::vector<std::string>& args, const std::string& home,
                   const std::string& broker) {
  const std::string out_file = home + "/stdout.txt", err_file = home + "/stderr.txt";
  std::string command = "env -u SPAWNPOINT_DEFAULT_URI HOME=" + Quote(home) +
                        " SPAWNPOINT_BROKER=" + Quote(broker) + " " +
                        Quote(SPAWN_BINARY_DIR "/spawnctl/spawnctl");
  for (const auto& a : args) command += " " + Quote(a);
  command += " >" + Quote(out_file) + " 2>" + Quote(err_file) + " </dev/null";
  const int status = std::system(command.c_str());
  CliRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = Slurp(out_file);
  run.err = Slurp(err_file);
  return run;
}

ShellRun Shell(const std::string& command) {
  ShellRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return run;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) run.out.append(buffer, n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

ShellRun Docker(const std::string& args, const std::string& socket) {
  return Shell("docker -H " + Quote("unix://" + socket) + " " + args);
}

// ---- services and matchers ----

ServiceConfig Busybox(const std::string& name, bool auto_restart) {
  ServiceConfig c;
  c.name = name;
  c.image = SPAWN_TEST_IMAGE;
  c.run = {"sh", "-c", "echo hello from " + name + "; while true; do sleep 1; done"};
  c.mem_alloc_bytes = 64 * kMiB;
  c.cpu_shares = 128;
  c.use_host_net = true;
  c.auto_restart = auto_restart;
  c.restart_interval = 1s;
  c.stop_timeout = 1s;
  return c;
}

bool DeployOverBus(Probe& probe, const std::string& path, const ServiceConfig& config,
                   const std::string& request_id, int code) {
  probe.Subscribe(topics::Reply(path, request_id));
  probe.Publish(
      topics::ConfigSlot(path),
      proto::Encode(proto::DeployRequest{request_id, config, TarWriter().Finish(), false, ""}));
  const bool replied = probe.WaitFor(IsReply(request_id, code)).has_value();
  EXPECT_TRUE(replied) << "no " << code << " reply to " << request_id;
  return replied;
}

MessageMatcher IsReply(const std::string& request_id, int code) {
  return [request_id, code](const BusMessage& m) {
    auto r = proto::DecodeReply(m.payload);
    return r.ok() && r->request_id == request_id && r->code == code;
  };
}

MessageMatcher ServiceIn(const std::string& topic, proto::ServiceState state) {
  return ServiceHeartbeatWhere(
      topic, [state](const proto::ServiceHeartbeat& hb) { return hb.state == state; });
}

MessageMatcher ServiceHeartbeatWhere(const std::string& topic,
                                     std::function<bool(const proto::ServiceHeartbeat&)> match) {
  return [topic, match](const BusMessage& m) {
    if (m.topic != topic || m.payload.empty()) return false;
    auto hb = proto::DecodeServiceHeartbeat(m.payload);
    return hb.ok() && match(*hb);
  };
}

MessageMatcher SpawnpointHeartbeatWhere(
    const std::string& path, std::function<bool(const proto::SpawnpointHeartbeat&)> match) {
  return [topic = topics::Heartbeat(path), match](const BusMessage& m) {
    if (m.topic != topic) return false;
    auto hb = proto::DecodeSpawnpointHeartbeat(m.payload);
    return hb.ok() && match(*hb);
  };
}

MessageMatcher LogContains(const std::string& topic, const std::string& text) {
  return [topic, text](const BusMessage& m) {
    if (m.topic != topic) return false;
    auto line = proto::DecodeLogMessage(m.payload);
    return line.ok() && line->contents.find(text) != std::string::npos;
  };
}

MessageMatcher TopicIs(const std::string& topic, const std::string& payload) {
  return [topic, payload](const BusMessage& m) { return m.topic == topic && m.payload == payload; };
}

// ---- PrivateBroker ----

int PrivateBrokerPort(int base) { return base + getpid() % 1000; }

PrivateBroker::PrivateBroker(int port, int autosave_seconds, const std::string& extra_config)
    : port_(port), dir_("broker") {
  // `user`: started as root, Mosquitto would drop to its own user, could not write its state
  // into our directory, and would come back from a restart without sessions or retained messages.
  // `set_tcp_nodelay`: as in scripts/start-services.sh (see there).
  const passwd* self = getpwuid(geteuid());
  dir_.Write("mosquitto.conf",
             "listener " + std::to_string(port) +
                 " 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location " +
                 dir_.str() + "/\nautosave_interval " + std::to_string(autosave_seconds) +
                 "\nmax_queued_messages 100000\nset_tcp_nodelay true\nuser " +
                 (self ? self->pw_name : "root") + "\n" + extra_config);
}

PrivateBroker::~PrivateBroker() { Stop(); }

BusOptions PrivateBroker::PersistentSession(const std::string& name) const {
  BusOptions o;
  o.uri = uri();
  o.client_id = name + "-" + std::to_string(getpid());
  o.clean_session = false;
  // Under MQTT 5 a session with expiry 0 ends with the connection: an hour outlives every test.
  o.session_expiry = std::chrono::hours(1);
  return o;
}

bool PrivateBroker::Start() {
  pid_ = fork();
  if (pid_ == 0) {
    const std::string log = dir_.str() + "/mosquitto.log";
    if (!std::freopen(log.c_str(), "a", stderr)) _exit(126);
    execlp("mosquitto", "mosquitto", "-c", (dir_.str() + "/mosquitto.conf").c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  // Up once it answers a connect, even with a refusal: a broker whose configuration admits no
  // anonymous client refuses this one as soon as it is listening.
  BusOptions options;
  options.uri = uri();
  options.auto_reconnect = false;
  options.connect_timeout = 1s;
  for (int i = 0; i < 100; ++i) {
    auto bus = MakePahoBus(options);
    const Status connected = bus->Connect();
    bus->Disconnect().IgnoreError();
    if (connected.ok() || connected.code() == Code::kForbidden) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

std::string PrivateBroker::Log() const { return Slurp(dir_.str() + "/mosquitto.log"); }

void PrivateBroker::Stop() {
  Thaw();  // a frozen broker would not act on SIGTERM
  TerminateAndReap(pid_, 10s);
  pid_ = 0;
}

void PrivateBroker::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

void PrivateBroker::Freeze() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void PrivateBroker::Thaw() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

// ---- PrivateEngine ----

PrivateEngine::PrivateEngine() : dir_("engine") {}

PrivateEngine::~PrivateEngine() {
  if (pid_ > 0) {
    Docker("rm -f $(docker -H unix://" + socket() + " ps -aq) >/dev/null 2>&1", socket());
  }
  Stop();
  // Overlay mounts of its containers go with the daemon; the data root can then be deleted.
  Shell("umount -R " + Quote(dir_.str() + "/exec") + " >/dev/null 2>&1");
}

bool PrivateEngine::Start() {
  pid_ = fork();
  if (pid_ == 0) {
    const std::string log = dir_.str() + "/dockerd.log";
    if (!std::freopen(log.c_str(), "a", stderr)) _exit(126);
    if (!std::freopen(log.c_str(), "a", stdout)) _exit(126);
    const std::string host = "unix://" + socket();
    const std::string data = dir_.str() + "/data", exec = dir_.str() + "/exec",
                      pidfile = dir_.str() + "/dockerd.pid";
    execlp("dockerd", "dockerd", "--bridge=none", "--iptables=false", "--ip-masq=false",
           "--data-root", data.c_str(), "--exec-root", exec.c_str(), "--pidfile", pidfile.c_str(),
           "-H", host.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 600; ++i) {
    if (Docker("version >/dev/null 2>&1", socket()).exit_code == 0) return true;
    std::this_thread::sleep_for(100ms);
  }
  ADD_FAILURE() << "private dockerd did not answer within 60 s:\n" << Log();
  return false;
}

void PrivateEngine::Stop() {
  TerminateAndReap(pid_, 30s);
  pid_ = 0;
}

bool PrivateEngine::CopyImage(const std::string& image) {
  return Shell("docker save " + Quote(image) + " | docker -H " + Quote("unix://" + socket()) +
               " load >/dev/null")
             .exit_code == 0;
}

std::string PrivateEngine::Log() const { return Slurp(dir_.path() / "dockerd.log"); }

}  // namespace spawn::testing
