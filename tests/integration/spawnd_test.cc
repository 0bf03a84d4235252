// The real spawnd binary on the real Mosquitto and Docker engine; the test is a bare MQTT client
// speaking the wire format (no spawnclient). Containers use the busybox image built FROM scratch
// (SPAWN_TEST_IMAGE, never pulled). Each test has its own spawnpoint path, state dir and spawnd
// log (printed when a test fails); at the end its containers are removed by label, its retained
// messages cleared and its persistent session on the broker dropped. Waits are condition-variable
// waits with generous timeouts: nothing asserts on time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "harness.h"
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
using namespace spawn::testing;

// Ports of this file's private brokers (SIGKILLed: they save nothing, so sessions are lost).
int BrokerPort() { return PrivateBrokerPort(18830); }

TEST(SpawndTest, DeployRestartStopZombieAndPurgeOverTheBus) {
  SpawndProcess spawnd;
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

  ASSERT_TRUE(DeployOverBus(probe, p, Busybox("web"), "d1"));
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
  ASSERT_TRUE(probe.WaitFor(IsReply("r1", 200)));
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    auto s = proto::DecodeServiceHeartbeat(m.payload);
    return m.topic == topics::ServiceHeartbeat(p, "web") && s.ok() && s->restarts == 1 &&
           s->state == proto::ServiceState::kRunning;
  }));

  probe.Subscribe(topics::Reply(p, "s1"));
  probe.Publish(topics::StopSlot(p), proto::Encode(proto::ServiceCommand{"s1", "web"}));
  ASSERT_TRUE(probe.WaitFor(IsReply("s1", 200)));
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
  SpawndProcess spawnd;
  Probe probe;
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  spawnd.Start();
  // Its first session: commands count only once it has subscribed and says so.
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    return m.topic == topics::Presence(p) && m.payload == "online";
  }));
  ASSERT_TRUE(DeployOverBus(probe, p, Busybox("phoenix", true), "d1"));
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
  SpawndProcess spawnd;
  Probe probe;
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));
  ServiceConfig huge = Busybox("huge");
  huge.mem_alloc_bytes = 4096 * kMiB;
  ASSERT_TRUE(DeployOverBus(probe, p, huge, "big", 503));
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
    ASSERT_TRUE(probe.WaitFor(IsReply(id, 400))) << slot;
    probe.Publish(slot, std::string("\x00\xff\xfe not msgpack", 16));
  }
  // A deploy with an unsafe archive is refused with 400, naming the entry.
  TarWriter unsafe;
  unsafe.AddFile("../../etc/cron.d/evil", "x");
  probe.Subscribe(topics::Reply(p, "unsafe"));
  probe.Publish(topics::ConfigSlot(p), proto::Encode(proto::DeployRequest{
                                           "unsafe", Busybox("evil"), unsafe.Finish(), false, ""}));
  auto refused = probe.WaitFor(IsReply("unsafe", 400));
  ASSERT_TRUE(refused);
  EXPECT_THAT(proto::DecodeReply(refused->payload)->message, HasSubstr("../../etc/cron.d/evil"));
  // Still serving.
  ASSERT_TRUE(DeployOverBus(probe, p, Busybox("after"), "ok1"));
  ASSERT_TRUE(probe.WaitFor(
      ServiceIn(topics::ServiceHeartbeat(p, "after"), proto::ServiceState::kRunning)));
  // A repeated RequestId is answered again, not acted on again (still one container).
  probe.Publish(topics::ConfigSlot(p),
                proto::Encode(proto::DeployRequest{"ok1", Busybox("after"), TarWriter().Finish(),
                                                   false, ""}));
  ASSERT_TRUE(probe.WaitFor(IsReply("ok1", 200)));
  CurlDockerEngine engine("/var/run/docker.sock");
  EXPECT_EQ(engine.ListContainers("io.spawnpoint.path", p)->size(), 1u);
}

// As the original spawnd: without -c it reads config.yml from its working directory, and when
// there is none it says where it looked.
TEST(SpawndTest, RunsFromConfigYmlInItsWorkingDirectoryWithoutAFlag) {
  SpawndOptions options;
  options.config_in_working_dir = true;
  SpawndProcess spawnd(options);
  Probe probe(kDefaultBroker);
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));

  TempDir empty("no-config");
  const std::string command =
      "cd " + empty.str() + " && " SPAWN_BINARY_DIR "/spawnd/daemon/spawnd run 2>&1; echo exit=$?";
  FILE* out = popen(command.c_str(), "r");
  ASSERT_NE(out, nullptr);
  std::string said;
  char buffer[512];
  while (fgets(buffer, sizeof buffer, out)) said += buffer;
  pclose(out);
  EXPECT_THAT(said, HasSubstr(empty.str() + "/config.yml"));
  EXPECT_THAT(said, HasSubstr("-c FILE"));
  EXPECT_THAT(said, HasSubstr("exit=2"));
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
  PrivateBroker broker(BrokerPort(), 0);
  ASSERT_TRUE(broker.Start());
  SpawndOptions options;
  options.broker = broker.uri();
  SpawndProcess spawnd(options);
  const std::string& p = spawnd.path();
  {
    Probe probe(broker.uri());
    probe.Subscribe(topics::Presence(p));
    spawnd.Start();
    ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) { return m.payload == "online"; }));
  }
  broker.Kill();  // SIGKILL: nothing saved, the session and retained messages are gone with it
  ASSERT_TRUE(broker.Start());
  Probe probe(broker.uri());
  probe.Subscribe(topics::Root(p) + "/#");
  // spawnd reconnects by itself, subscribes again and says it is back.
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    return m.topic == topics::Presence(p) && m.payload == "online";
  }));
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) { return m.topic == topics::Heartbeat(p); }));
  ASSERT_TRUE(DeployOverBus(probe, p, Busybox("back"), "after-restart"));
  ASSERT_TRUE(
      probe.WaitFor(ServiceIn(topics::ServiceHeartbeat(p, "back"), proto::ServiceState::kRunning)));
}

TEST(SpawndTest, KilledDaemonGoesOfflineAndTheNextAdoptsItsServicesAndCarriesOutQueuedCommands) {
  SpawndProcess spawnd;
  Probe probe;
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  spawnd.Start();
  // Its first session: commands count only once it has subscribed and says so.
  ASSERT_TRUE(probe.WaitFor([&](const BusMessage& m) {
    return m.topic == topics::Presence(p) && m.payload == "online";
  }));
  for (const char* name : {"one", "two", "three"}) {
    ASSERT_TRUE(DeployOverBus(probe, p, Busybox(name, true), std::string("d-") + name));
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
  ASSERT_TRUE(probe.WaitFor(IsReply("stop-while-down", 200)));
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

// MQTT 5: commands queued in spawnd's persistent session while it is away carry their expiry; after
// the restart only the one still in time is carried out. The broker delivers them in the order
// they were published and spawnd handles them in that order, so once the second is answered the
// first would have been too.
TEST(SpawndTest, ACommandQueuedWhileSpawndIsAwayExpiresAndOnlyTheOneInTimeIsCarriedOut) {
  SpawndProcess spawnd;
  Probe probe;
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));
  const int status = spawnd.Kill(SIGTERM);  // a clean stop: its persistent session stays
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << spawnd.Log();
  probe.Clear();
  auto deploy = [&](const std::string& name, std::chrono::seconds expiry) {
    return probe.bus().Publish(
        {topics::ConfigSlot(p),
         proto::Encode(proto::DeployRequest{name, Busybox(name), TarWriter().Finish(), false, ""}),
         1, false, expiry});
  };
  ASSERT_TRUE(deploy("brief", 2s).ok());
  ASSERT_TRUE(deploy("lasting", 10min).ok());
  std::this_thread::sleep_for(3s);  // spawnd stays away past the brief command's expiry

  spawnd.Start();
  ASSERT_TRUE(probe.WaitFor(IsReply("lasting", 200)));
  ASSERT_TRUE(probe.WaitFor(
      ServiceIn(topics::ServiceHeartbeat(p, "lasting"), proto::ServiceState::kRunning)));
  EXPECT_TRUE(
      probe.All([&](const BusMessage& m) { return m.topic == topics::Reply(p, "brief"); }).empty());
  EXPECT_TRUE(
      probe
          .All([&](const BusMessage& m) { return m.topic == topics::ServiceHeartbeat(p, "brief"); })
          .empty());
  CurlDockerEngine engine(kDefaultDockerSocket);
  auto containers = engine.ListContainers("io.spawnpoint.path", p);
  ASSERT_TRUE(containers.ok());
  ASSERT_EQ(containers->size(), 1u);
  EXPECT_EQ(containers->front().labels.at("io.spawnpoint.service"), "lasting");
}

}  // namespace
}  // namespace spawn
