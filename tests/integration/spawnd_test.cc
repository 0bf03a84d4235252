// The real spawnd binary on the real Mosquitto and Docker engine; the test is a bare MQTT client
// speaking the wire format (no spawnclient). Containers use the busybox image built FROM scratch
// (SPAWN_TEST_IMAGE, never pulled). Each test has its own spawnpoint path, state dir and spawnd
// log (printed when a test fails); at the end its containers are removed by label, its retained
// messages cleared and its persistent session on the broker dropped. Waits are condition-variable
// waits with generous timeouts: nothing asserts on time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>

#include "spawn/bus/paho_bus.h"
#include "spawn/common/config.h"
#include "spawn/common/tar.h"
#include "spawn/common/units.h"
#include "spawn/daemon/daemon.h"
#include "spawn/engine/curl_docker_engine.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// Records every message on a connection; WaitFor blocks until one matches.
class Probe {
 public:
  explicit Probe(const std::string& uri = "tcp://127.0.0.1:1883") {
    BusOptions o;
    o.uri = uri;
    bus_ = MakePahoBus(o);
    bus_->SetMessageHandler([this](const BusMessage& m) {
      std::lock_guard lock(mu_);
      seen_.push_back(m);
      cv_.notify_all();
    });
    EXPECT_TRUE(bus_->Connect().ok());
  }
  void Subscribe(const std::string& filter) { ASSERT_TRUE(bus_->Subscribe(filter, 1).ok()); }
  void Publish(const std::string& topic, const std::string& payload, bool retained = false) {
    ASSERT_TRUE(bus_->Publish({topic, payload, 1, retained}).ok());
  }
  std::optional<BusMessage> WaitFor(std::function<bool(const BusMessage&)> match,
                                    std::chrono::seconds timeout = 60s) {
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
  void Clear() {
    std::lock_guard lock(mu_);
    seen_.clear();
  }

 private:
  std::unique_ptr<Bus> bus_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<BusMessage> seen_;
};

int counter = 0;

class Spawnd {
 public:
  explicit Spawnd(std::string broker = "tcp://127.0.0.1:1883", std::string mem = "512M")
      : broker_(broker),
        path_("test/spawnd-" + std::to_string(getpid()) + "-" + std::to_string(++counter)),
        dir_(std::filesystem::temp_directory_path() /
             ("spawnd-test-" + std::to_string(getpid()) + "-" + std::to_string(counter))) {
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "spawnd.yml")
        << "path: " << path_ << "\nbroker: " << broker << "\nmemAlloc: " << mem
        << "\ncpuShares: 1024\nheartbeatInterval: 1s\nzombiePeriod: 3s\n"
        << "allowHostNet: true\nstateDir: " << (dir_ / "state").string()
        << "\ndefaultImage: " << SPAWN_TEST_IMAGE << "\n";
    std::ofstream(dir_ / "metadata.yml") << "room: lab 410\n";
    retained_topics_ = {topics::Presence(path_), topics::Heartbeat(path_),
                        topics::Meta(path_, "room")};
    for (const char* service :
         {"web", "phoenix", "huge", "evil", "after", "back", "one", "two", "three"})
      retained_topics_.push_back(topics::ServiceHeartbeat(path_, service));
  }
  ~Spawnd() {
    Kill(SIGKILL);
    if (::testing::Test::HasFailure()) std::cerr << "---- spawnd log ----\n" << Log() << "----\n";
    CurlDockerEngine engine("/var/run/docker.sock");
    auto left = engine.ListContainers("io.spawnpoint.path", path_);
    if (left.ok()) {
      for (const auto& c : *left) engine.RemoveContainer(c.id, true).IgnoreError();
    }
    // Leave nothing on the broker: the persistent session (a clean connection with the same client
    // id drops it) and the retained messages under the path.
    BusOptions o;
    o.uri = broker_;
    o.client_id = SpawndClientId(path_);
    o.clean_session = true;
    auto bus = MakePahoBus(o);
    if (bus->Connect().ok()) {
      for (const auto& topic : retained_topics_) bus->Publish({topic, "", 1, true}).IgnoreError();
      bus->Disconnect().IgnoreError();
    }
    std::filesystem::remove_all(dir_);
  }
  void Start() {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string log = (dir_ / "spawnd.log").string();
      freopen(log.c_str(), "a", stderr);
      execl(SPAWN_BINARY_DIR "/spawnd/daemon/spawnd", "spawnd", "run", "-c",
            (dir_ / "spawnd.yml").c_str(), "-m", (dir_ / "metadata.yml").c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  // Sends `sig` and reaps the process; returns its wait status.
  int Kill(int sig) {
    if (pid_ <= 0) return 0;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
    return status;
  }
  std::string Log() const {
    std::ifstream in(dir_ / "spawnd.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  const std::string& path() const { return path_; }

 private:
  std::string broker_;
  std::string path_;
  std::filesystem::path dir_;
  pid_t pid_ = 0;
  std::vector<std::string> retained_topics_;
};

ServiceConfig Busybox(const std::string& name, bool auto_restart = false) {
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

// Starts spawnd and waits until it says `online`, which it does only after subscribing to its
// slots.
void StartAndWaitOnline(Spawnd& spawnd, Probe& probe) {
  probe.Clear();
  spawnd.Start();
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    return m.topic == topics::Presence(spawnd.path()) && m.payload == "online";
  })) << spawnd.Log();
}

bool IsReply(const BusMessage& m, const std::string& id, int code) {
  auto r = proto::DecodeReply(m.payload);
  return r.ok() && r->request_id == id && r->code == code;
}

std::function<bool(const BusMessage&)> ServiceIn(const std::string& topic,
                                                 proto::ServiceState state) {
  return [topic, state](const BusMessage& m) {
    if (m.topic != topic || m.payload.empty()) return false;
    auto hb = proto::DecodeServiceHeartbeat(m.payload);
    return hb.ok() && hb->state == state;
  };
}

std::function<bool(const BusMessage&)> LogContains(const std::string& topic,
                                                   const std::string& text) {
  return [topic, text](const BusMessage& m) {
    auto line = proto::DecodeLogMessage(m.payload);
    return m.topic == topic && line.ok() && line->contents.find(text) != std::string::npos;
  };
}

void Deploy(Probe& probe, const std::string& path, const ServiceConfig& config,
            const std::string& id, int code = 200) {
  probe.Subscribe(topics::Reply(path, id));
  probe.Publish(topics::ConfigSlot(path),
                proto::Encode(proto::DeployRequest{id, config, TarWriter().Finish(), false, ""}));
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) { return IsReply(m, id, code); }))
      << "no " << code << " reply to " << id;
}

TEST(SpawndTest, DeployRestartStopZombieAndPurgeOverTheBus) {
  Spawnd spawnd;
  Probe probe;
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  spawnd.Start();
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    return m.topic == topics::Presence(p) && m.payload == "online";
  }));
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    return m.topic == topics::Meta(p, "room") && m.payload == "lab 410";
  }));

  Deploy(probe, p, Busybox("web"), "d1");
  ASSERT_TRUE(probe.WaitFor(
      LogContains(topics::ServiceLog(p, "web"), "[SUCCESS] Service container has started")));
  ASSERT_TRUE(probe.WaitFor(LogContains(topics::ServiceLog(p, "web"), "hello from web")));
  // The logs slot returns the history (container output and status lines), ended by an empty list.
  probe.Subscribe(topics::LogsReply(p, "l0"));
  probe.Publish(topics::LogsSlot(p), proto::Encode(proto::LogsRequest{"l0", "web", 0}));
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    auto r = proto::DecodeLogsReply(m.payload);
    if (m.topic != topics::LogsReply(p, "l0") || !r.ok()) return false;
    for (const auto& line : r->messages) {
      if (line.contents.find("hello from web") != std::string::npos) return true;
    }
    return false;
  }));
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    auto r = proto::DecodeLogsReply(m.payload);
    return m.topic == topics::LogsReply(p, "l0") && r.ok() && r->messages.empty();
  }));
  // A fresh subscriber sees the retained heartbeat listing it, and the service running with usage.
  Probe late;
  late.Subscribe(topics::Heartbeat(p));
  auto hb = late.WaitFor(
      [&](const BusMessage& m) { return m.topic == topics::Heartbeat(p) && m.retained; });
  ASSERT_TRUE(hb);
  auto decoded = proto::DecodeSpawnpointHeartbeat(hb->payload);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->services, std::vector<std::string>{"web"});
  EXPECT_EQ(decoded->available_mem_mib, 512 - 64);
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    auto s = proto::DecodeServiceHeartbeat(m.payload);
    return m.topic == topics::ServiceHeartbeat(p, "web") && s.ok() &&
           s->state == proto::ServiceState::kRunning && s->mem_usage_mib > 0;
  }));

  probe.Subscribe(topics::Reply(p, "r1"));
  probe.Publish(topics::RestartSlot(p), proto::Encode(proto::ServiceCommand{"r1", "web"}));
  ASSERT_TRUE(probe.WaitFor([](const BusMessage& m) { return IsReply(m, "r1", 200); }));
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    auto s = proto::DecodeServiceHeartbeat(m.payload);
    return m.topic == topics::ServiceHeartbeat(p, "web") && s.ok() && s->restarts == 1 &&
           s->state == proto::ServiceState::kRunning;
  }));

  probe.Subscribe(topics::Reply(p, "s1"));
  probe.Publish(topics::StopSlot(p), proto::Encode(proto::ServiceCommand{"s1", "web"}));
  ASSERT_TRUE(probe.WaitFor([](const BusMessage& m) { return IsReply(m, "s1", 200); }));
  ASSERT_TRUE(
      probe.WaitFor(ServiceIn(topics::ServiceHeartbeat(p, "web"), proto::ServiceState::kZombie)));
  // After zombiePeriod (3 s) the retained heartbeat is cleared by an empty payload.
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    return m.topic == topics::ServiceHeartbeat(p, "web") && m.payload.empty();
  }));
  Probe after;
  after.Subscribe(topics::ServiceHeartbeatWildcard(p));
  after.Subscribe("spawntest/sentinel/" + p);
  after.Publish("spawntest/sentinel/" + p, "end");
  auto first = after.WaitFor([](const BusMessage&) { return true; });
  ASSERT_TRUE(first);
  EXPECT_EQ(first->topic, "spawntest/sentinel/" + p);  // nothing retained for the purged service

  // A purged service has no history left: just the end of the list.
  probe.Subscribe(topics::LogsReply(p, "l1"));
  probe.Publish(topics::LogsSlot(p), proto::Encode(proto::LogsRequest{"l1", "web", 0}));
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    auto r = proto::DecodeLogsReply(m.payload);
    return m.topic == topics::LogsReply(p, "l1") && r.ok() && r->messages.empty();
  }));
}

TEST(SpawndTest, AutoRestartBringsAKilledContainerBack) {
  Spawnd spawnd;
  Probe probe;
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  spawnd.Start();
  // Its first session: commands count only once it has subscribed and says so.
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    return m.topic == topics::Presence(p) && m.payload == "online";
  }));
  Deploy(probe, p, Busybox("phoenix", true), "d1");
  ASSERT_TRUE(probe.WaitFor(
      ServiceIn(topics::ServiceHeartbeat(p, "phoenix"), proto::ServiceState::kRunning)));
  CurlDockerEngine engine("/var/run/docker.sock");
  auto before = engine.ListContainers("io.spawnpoint.path", p);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), 1u);
  probe.Clear();
  ASSERT_TRUE(engine.KillContainer((*before)[0].id, "KILL").ok());
  ASSERT_TRUE(probe.WaitFor(
      ServiceIn(topics::ServiceHeartbeat(p, "phoenix"), proto::ServiceState::kRestarting)));
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    auto s = proto::DecodeServiceHeartbeat(m.payload);
    return m.topic == topics::ServiceHeartbeat(p, "phoenix") && s.ok() &&
           s->state == proto::ServiceState::kRunning && s->restarts == 1 && s->exit_code == 137 &&
           s->container_id == (*before)[0].id;
  }));
}

TEST(SpawndTest, OverBudgetIs503AndGarbageIs400AndTheDaemonGoesOn) {
  Spawnd spawnd;
  Probe probe;
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  StartAndWaitOnline(spawnd, probe);
  ServiceConfig huge = Busybox("huge");
  huge.mem_alloc_bytes = 4096 * kMiB;
  Deploy(probe, p, huge, "big", 503);
  ASSERT_TRUE(probe.WaitFor(LogContains(topics::ServiceLog(p, "huge"),
                                        "[ERROR 503] Insufficient resources for service. CPU: Have "
                                        "1024, Want 128. Mem: Have 512, Want 4096")));

  // Garbage with a RequestId gets a 400 on every slot; garbage without one is logged and ignored.
  // msgpack {RequestId: id, <key>: 42}: well formed, but the second value has the wrong type.
  auto garbage_with_id = [](const std::string& id, const std::string& key) {
    auto str = [](const std::string& s) { return std::string(1, char(0xa0 | s.size())) + s; };
    return std::string(1, char(0x82)) + str("RequestId") + str(id) + str(key) +
           std::string(1, char(42));
  };
  int n = 0;
  for (const auto& slot :
       {topics::ConfigSlot(p), topics::RestartSlot(p), topics::StopSlot(p), topics::LogsSlot(p)}) {
    const std::string id = "garbage" + std::to_string(n++);
    probe.Subscribe(topics::Reply(p, id));
    probe.Publish(slot, garbage_with_id(id, slot == topics::ConfigSlot(p) ? "Config" : "Service"));
    ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) { return IsReply(m, id, 400); })) << slot;
    probe.Publish(slot, std::string("\x00\xff\xfe not msgpack", 16));
  }
  // A deploy with an unsafe archive is refused with 400, naming the entry.
  TarWriter unsafe;
  unsafe.AddFile("../../etc/cron.d/evil", "x");
  probe.Subscribe(topics::Reply(p, "unsafe"));
  probe.Publish(topics::ConfigSlot(p), proto::Encode(proto::DeployRequest{
                                           "unsafe", Busybox("evil"), unsafe.Finish(), false, ""}));
  auto refused = probe.WaitFor([](const BusMessage& m) { return IsReply(m, "unsafe", 400); });
  ASSERT_TRUE(refused);
  EXPECT_THAT(proto::DecodeReply(refused->payload)->message, HasSubstr("../../etc/cron.d/evil"));
  // Still serving.
  Deploy(probe, p, Busybox("after"), "ok1");
  ASSERT_TRUE(probe.WaitFor(
      ServiceIn(topics::ServiceHeartbeat(p, "after"), proto::ServiceState::kRunning)));
  // A repeated RequestId is answered again, not acted on again (still one container).
  probe.Publish(topics::ConfigSlot(p),
                proto::Encode(proto::DeployRequest{"ok1", Busybox("after"), TarWriter().Finish(),
                                                   false, ""}));
  ASSERT_TRUE(probe.WaitFor([](const BusMessage& m) { return IsReply(m, "ok1", 200); }));
  CurlDockerEngine engine("/var/run/docker.sock");
  EXPECT_EQ(engine.ListContainers("io.spawnpoint.path", p)->size(), 1u);
}

class PrivateBroker {
 public:
  PrivateBroker()
      : port_(18830 + getpid() % 1000), dir_("/tmp/spawntest-broker-" + std::to_string(getpid())) {
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ + "/mosquitto.conf")
        << "listener " << port_ << " 127.0.0.1\nallow_anonymous true\n"
        << "persistence true\npersistence_location " << dir_ << "/\n";
    Start();
  }
  ~PrivateBroker() {
    Stop();
    std::filesystem::remove_all(dir_);
  }
  void Start() {
    pid_ = fork();
    if (pid_ == 0) {
      freopen("/dev/null", "w", stderr);
      execlp("mosquitto", "mosquitto", "-c", (dir_ + "/mosquitto.conf").c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      BusOptions o;
      o.uri = uri();
      o.connect_timeout = 1s;
      if (MakePahoBus(o)->Connect().ok()) return;
      usleep(100000);
    }
    FAIL() << "private mosquitto did not start";
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::string dir_;
  pid_t pid_ = 0;
};

// PahoBus on a private broker: what spawnd relies on.
class Recorder {
 public:
  explicit Recorder(Bus& bus) {
    bus.SetMessageHandler([this](const BusMessage& m) {
      std::lock_guard lock(mu_);
      messages_.push_back(m.topic + "=" + m.payload);
      cv_.notify_all();
    });
    bus.SetConnectionHandler([this](bool up) {
      std::lock_guard lock(mu_);
      connections_.push_back(up);
      cv_.notify_all();
    });
  }
  bool WaitMessage(const std::string& expected) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 60s, [&] {
      return std::find(messages_.begin(), messages_.end(), expected) != messages_.end();
    });
  }
  // Waits until the connection handler was called with `up` after `after` earlier calls.
  bool WaitConnection(bool up, size_t after) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 60s, [&] {
      return std::find(connections_.begin() + std::min(after, connections_.size()),
                       connections_.end(), up) != connections_.end();
    });
  }
  size_t connections() {
    std::lock_guard lock(mu_);
    return connections_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> messages_;
  std::vector<bool> connections_;
};

TEST(PahoBusTest, APersistentSessionGetsWhatWasPublishedWhileItWasAway) {
  PrivateBroker broker;
  BusOptions o;
  o.uri = broker.uri();
  o.client_id = "paho-bus-test-" + std::to_string(getpid());
  o.clean_session = false;
  {
    auto first = MakePahoBus(o);
    ASSERT_TRUE(first->Connect().ok());
    ASSERT_TRUE(first->Subscribe("q/#", 1).ok());
    ASSERT_TRUE(first->Disconnect().ok());
  }
  Probe publisher(broker.uri());
  publisher.Publish("q/one", "while away");
  auto again = MakePahoBus(o);  // a new process would start with no filters remembered
  Recorder recorder(*again);
  ASSERT_TRUE(again->Connect().ok());
  EXPECT_TRUE(recorder.WaitMessage("q/one=while away"));
}

TEST(PahoBusTest, ReconnectsByItselfAndRenewsItsSubscriptionsWhenTheBrokerLostTheSession) {
  PrivateBroker broker;
  BusOptions o;
  o.uri = broker.uri();
  o.client_id = "paho-bus-test-r-" + std::to_string(getpid());
  o.clean_session = false;
  auto bus = MakePahoBus(o);
  Recorder recorder(*bus);
  ASSERT_TRUE(bus->Connect().ok());
  ASSERT_TRUE(bus->Subscribe("r/#", 1).ok());
  const size_t before = recorder.connections();
  broker.Stop();  // SIGKILL: the session is not saved
  ASSERT_TRUE(recorder.WaitConnection(false, before));
  EXPECT_FALSE(bus->Publish({"r/x", "lost", 1, false}).ok());  // fails fast, not buffered
  broker.Start();
  ASSERT_TRUE(recorder.WaitConnection(true, before));
  ASSERT_TRUE(
      bus->Publish({"r/x", "back", 1, false}).ok());  // to itself, through the renewed filter
  EXPECT_TRUE(recorder.WaitMessage("r/x=back"));
}

TEST(PahoBusTest, ConnectingToNothingFailsWithTheAddress) {
  BusOptions o;
  o.uri = "tcp://127.0.0.1:9";  // discard port: nobody listens
  o.connect_timeout = 2s;
  auto bus = MakePahoBus(o);
  Status status = bus->Connect();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("127.0.0.1:9"));
  EXPECT_TRUE(bus->Disconnect().ok());
}

TEST(SpawndExampleTest, TheExampleConfigLoads) {
  auto config = LoadSpawndConfigFile(SPAWN_SOURCE_DIR "/examples/spawnd.yml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->path, "demo/spawnpoint/alpha");
  EXPECT_EQ(config->mem_alloc_bytes, 2048 * kMiB);
  EXPECT_EQ(config->cpu_shares, 2048);
  EXPECT_EQ(config->heartbeat_interval, 2s);
  EXPECT_TRUE(config->allow_host_net);
  EXPECT_EQ(config->state_dir, "/tmp/spawnpoint-run/state");
}

TEST(SpawndTest, ReconnectsAfterTheBrokerRestartsAndServesADeploy) {
  PrivateBroker broker;
  Spawnd spawnd(broker.uri());
  const std::string& p = spawnd.path();
  {
    Probe probe(broker.uri());
    probe.Subscribe(topics::Presence(p));
    spawnd.Start();
    ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) { return m.payload == "online"; }));
  }
  broker.Stop();  // SIGKILL: nothing saved, the session and retained messages are gone with it
  broker.Start();
  Probe probe(broker.uri());
  probe.Subscribe(topics::Root(p) + "/#");
  // spawnd reconnects by itself, subscribes again and says it is back.
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    return m.topic == topics::Presence(p) && m.payload == "online";
  }));
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) { return m.topic == topics::Heartbeat(p); }));
  Deploy(probe, p, Busybox("back"), "after-restart");
  ASSERT_TRUE(
      probe.WaitFor(ServiceIn(topics::ServiceHeartbeat(p, "back"), proto::ServiceState::kRunning)));
}

TEST(SpawndTest, KilledDaemonGoesOfflineAndTheNextAdoptsItsServicesAndCarriesOutQueuedCommands) {
  Spawnd spawnd;
  Probe probe;
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  spawnd.Start();
  // Its first session: commands count only once it has subscribed and says so.
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    return m.topic == topics::Presence(p) && m.payload == "online";
  }));
  for (const char* name : {"one", "two", "three"}) {
    Deploy(probe, p, Busybox(name, true), std::string("d-") + name);
    ASSERT_TRUE(
        probe.WaitFor(ServiceIn(topics::ServiceHeartbeat(p, name), proto::ServiceState::kRunning)));
  }
  CurlDockerEngine engine("/var/run/docker.sock");
  std::map<std::string, ContainerInfo> before;
  auto listed = engine.ListContainers("io.spawnpoint.path", p);
  ASSERT_TRUE(listed.ok());
  for (const auto& c : *listed) before[c.labels.at("io.spawnpoint.service")] = c;
  ASSERT_EQ(before.size(), 3u);

  probe.Clear();
  spawnd.Kill(SIGKILL);
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    return m.topic == topics::Presence(p) && m.payload == "offline";
  }));
  // Published while spawnd is down: the broker keeps it in spawnd's persistent session.
  probe.Subscribe(topics::Reply(p, "stop-while-down"));
  probe.Publish(topics::StopSlot(p),
                proto::Encode(proto::ServiceCommand{"stop-while-down", "one"}));

  spawnd.Start();
  ASSERT_TRUE(
      probe.WaitFor([](const BusMessage& m) { return IsReply(m, "stop-while-down", 200); }));
  ASSERT_TRUE(
      probe.WaitFor(ServiceIn(topics::ServiceHeartbeat(p, "one"), proto::ServiceState::kZombie)));
  for (const char* name : {"two", "three"}) {
    auto now = engine.InspectContainer(before[name].id);
    ASSERT_TRUE(now.ok());
    EXPECT_TRUE(now->running) << name;
    EXPECT_EQ(now->started_at, before[name].started_at) << name << " was restarted, not adopted";
  }
  // Still supervised after adoption: a death is restarted.
  probe.Clear();
  ASSERT_TRUE(engine.KillContainer(before["two"].id, "KILL").ok());
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    auto s = proto::DecodeServiceHeartbeat(m.payload);
    return m.topic == topics::ServiceHeartbeat(p, "two") && s.ok() &&
           s->state == proto::ServiceState::kRunning && s->restarts == 1;
  }));
  // A clean SIGTERM leaves the containers running and says offline itself.
  probe.Clear();
  const int status = spawnd.Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << spawnd.Log();
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    return m.topic == topics::Presence(p) && m.payload == "offline";
  }));
  EXPECT_TRUE(engine.InspectContainer(before["three"].id)->running);
}

}  // namespace
}  // namespace spawn
