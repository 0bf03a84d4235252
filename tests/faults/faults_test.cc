// Faults: the real spawnd under a crash of its own, a broker restarted under a stream of commands,
// an engine restarted under running services, deploys racing for a small pool, and a storm of
// malformed payloads. The broker and engine that are restarted are private to the test
// (PrivateBroker, PrivateEngine), so nothing else on the machine is disturbed. Waits are bounded
// condition waits; nothing asserts on time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "harness.h"
#include "spawn/common/tar.h"
#include "spawn/common/units.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using namespace std::chrono_literals;
using namespace spawn::testing;
using ::testing::HasSubstr;

int PrivatePort(int offset) { return 19000 + (getpid() % 400) * 2 + offset; }

// "id started_at running" of every container spawnd runs on `path`, by service name.
std::map<std::string, std::string> Containers(const std::string& path,
                                              const std::string& socket = kDefaultDockerSocket) {
  std::map<std::string, std::string> out;
  const std::string ids =
      Docker("ps -aq --no-trunc --filter label=io.spawnpoint.path=" + path, socket).out;
  std::istringstream lines(ids);
  for (std::string id; std::getline(lines, id);) {
    std::string info = Docker(
                           "inspect -f '{{index .Config.Labels \"io.spawnpoint.service\"}} "
                           "{{.Id}} {{.State.StartedAt}} {{.State.Running}}' " +
                               id,
                           socket)
                           .out;
    if (!info.empty() && info.back() == '\n') info.pop_back();
    const size_t space = info.find(' ');
    if (space != std::string::npos) out[info.substr(0, space)] = info.substr(space + 1);
  }
  return out;
}

size_t RunningCount(const std::map<std::string, std::string>& containers) {
  size_t n = 0;
  for (const auto& [name, info] : containers) n += info.ends_with(" true");
  return n;
}

long RssKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

ServiceConfig Small(const std::string& name, int mem_mib, bool auto_restart = false) {
  ServiceConfig c = Busybox(name, auto_restart);
  c.mem_alloc_bytes = int64_t{mem_mib} * kMiB;
  c.cpu_shares = 16;
  return c;
}

// 1. Killed with ten services running and started again: every service adopted as it was.
TEST(FaultsTest, SpawndKilledWithTenServicesLosesAndRestartsNone) {
  SpawndOptions options;
  options.mem_alloc = "1G";
  options.cpu_shares = 2048;
  SpawndProcess spawnd(options);
  Probe probe;
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));
  for (int i = 0; i < 10; ++i) {
    const std::string name = "svc" + std::to_string(i);
    ASSERT_TRUE(DeployOverBus(probe, p, Busybox(name, true), "d" + std::to_string(i)));
  }
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(probe.WaitFor(ServiceIn(topics::ServiceHeartbeat(p, "svc" + std::to_string(i)),
                                        proto::ServiceState::kRunning)));
  }
  const auto before = Containers(p);
  ASSERT_EQ(before.size(), 10u);
  ASSERT_EQ(RunningCount(before), 10u);

  spawnd.Kill(SIGKILL);
  ASSERT_TRUE(probe.WaitFor(TopicIs(topics::Presence(p), "offline")));
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));
  // The first heartbeat of the new spawnd: all ten, and the pool as it was.
  auto first = probe.WaitFor(SpawnpointHeartbeatWhere(p, [](const auto&) { return true; }));
  ASSERT_TRUE(first);
  auto hb = proto::DecodeSpawnpointHeartbeat(first->payload);
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->services.size(), 10u);
  EXPECT_EQ(hb->available_mem_mib, 1024 - 10 * 64);
  EXPECT_EQ(hb->available_cpu_shares, 2048 - 10 * 128);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(probe.WaitFor(ServiceHeartbeatWhere(
        topics::ServiceHeartbeat(p, "svc" + std::to_string(i)), [](const auto& s) {
          return s.state == proto::ServiceState::kRunning && s.restarts == 0;
        })));
  }
  EXPECT_EQ(Containers(p), before) << "a container was replaced or restarted";
}

// 2. The broker restarted while a client streams commands. The client publishes at QoS 1 with a
// RequestId per command and keeps a persistent session; it retries a publish while the broker is
// away. Afterwards every command was answered without being asked again (spawnclient's resend of
// an unanswered command is only a fallback here, and counted) and carried out exactly once.
TEST(FaultsTest, BrokerRestartedUnderACommandStreamLosesNoneAndRunsNoneTwice) {
  PrivateBroker broker(PrivatePort(0));
  ASSERT_TRUE(broker.Start());
  SpawndOptions options;
  options.broker = broker.uri();
  options.mem_alloc = "1G";
  SpawndProcess spawnd(options);
  const std::string& p = spawnd.path();
  // The requester keeps a persistent session, as spawnd does: what is published for it while it
  // reconnects after a restart waits for it at the broker, so no reply should need a resend.
  Probe probe(broker.PersistentSession("faults-requester"));
  probe.Subscribe(topics::Root(p) + "/#");
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));
  // The engine's events for this spawnpoint, recorded live: the engine keeps only its last few
  // hundred events, so asking for them afterwards may come too late.
  TempDir record("events");
  const std::string events_file = record.str() + "/events.txt";
  const std::string listener =
      Shell("docker events --filter label=io.spawnpoint.path=" + p +
            " --format '{{.Action}} {{index .Actor.Attributes \"io.spawnpoint.service\"}}' > " +
            events_file + " 2>/dev/null & echo $!")
          .out;
  std::this_thread::sleep_for(500ms);  // let it attach before the first command

  constexpr int kServices = 12;
  struct Command {
    std::string id, topic, payload;
  };
  std::vector<Command> commands;
  for (int i = 0; i < kServices; ++i) {
    const std::string name = "s" + std::to_string(i), id = "deploy-" + name;
    commands.push_back({id, topics::ConfigSlot(p),
                        proto::Encode(proto::DeployRequest{id, Small(name, 32),
                                                           TarWriter().Finish(), false, ""})});
  }
  for (int i = 0; i < kServices; ++i) {
    const std::string name = "s" + std::to_string(i), id = "restart-" + name;
    commands.push_back(
        {id, topics::RestartSlot(p), proto::Encode(proto::ServiceCommand{id, name})});
  }
  // Only the reply topic counts: the probe also hears its own commands, and a command's payload
  // (a RequestId and little else) decodes as a reply too.
  auto replies_to = [&](const std::string& id) {
    return probe.All([&](const BusMessage& m) { return m.topic == topics::Reply(p, id); });
  };
  auto replied = [&](const std::string& id) { return !replies_to(id).empty(); };
  auto send = [&](const Command& c) {  // retried while the broker is away
    for (int attempt = 0; attempt < 300; ++attempt) {
      if (probe.bus().Publish({c.topic, c.payload, 1, false}).ok()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  for (const auto& c : commands) probe.Subscribe(topics::Reply(p, c.id));
  int resends = 0;  // commands whose reply never came and that were sent again

  // The broker goes away twice during the stream (once among the deploys, once among the
  // restarts) and comes back with its saved state.
  std::atomic<int> sent{0};
  struct JoinOnExit {  // an ASSERT returning early must not leave the thread running
    std::atomic<int>& sent;
    std::thread& thread;
    ~JoinOnExit() {
      sent = 1 << 20;
      if (thread.joinable()) thread.join();
    }
  };
  std::thread chaos;
  JoinOnExit join_chaos{sent, chaos};
  chaos = std::thread([&] {
    for (int at : {kServices / 2, kServices + kServices / 2}) {
      while (sent < at) std::this_thread::sleep_for(10ms);
      broker.Stop();
      std::this_thread::sleep_for(1500ms);
      EXPECT_TRUE(broker.Start());
    }
  });
  for (size_t i = 0; i < commands.size(); ++i) {
    // A restart follows its deploy's reply, as a person would.
    if (i >= kServices) {
      const std::string& deploy_id = commands[i - kServices].id;
      for (int wait = 0; wait < 6 && !probe.WaitFor(IsReply(deploy_id, 200), 10s); ++wait) {
        std::cerr << "no reply to " << deploy_id << " within 10 s: sending it again\n";
        ++resends;
        send(commands[i - kServices]);  // no reply: the same command again
      }
      ASSERT_TRUE(
          probe.WaitFor(ServiceIn(topics::ServiceHeartbeat(p, "s" + std::to_string(i - kServices)),
                                  proto::ServiceState::kRunning)));
    }
    ASSERT_TRUE(send(commands[i])) << commands[i].id;
    ++sent;
    std::this_thread::sleep_for(50ms);
  }
  sent = 1 << 20;
  chaos.join();
  for (const auto& c : commands) {
    for (int wait = 0; wait < 6 && !replied(c.id); ++wait) {
      if (probe.WaitFor(IsReply(c.id, 200), 10s)) continue;
      std::cerr << "no reply to " << c.id << " within 10 s: sending it again\n";
      ++resends;
      send(c);
    }
    std::string replies;
    for (const auto& m : replies_to(c.id)) {
      auto r = proto::DecodeReply(m.payload);
      if (r.ok()) replies += " [" + std::to_string(r->code) + " " + r->message + "]";
    }
    EXPECT_TRUE(probe.WaitFor(IsReply(c.id, 200), 1s))
        << "no 200 reply to " << c.id << "; replies:" << replies << "\n"
        << spawnd.Log();
  }
  // With both sessions persistent, nothing published by either side is lost, so the fallback
  // above should never be needed: a resend means a reply or a command went missing.
  EXPECT_EQ(resends, 0) << spawnd.Log();
  // Exactly once: each service was created once, and started twice (its deploy, its restart).
  for (int i = 0; i < kServices; ++i) {
    ASSERT_TRUE(probe.WaitFor(ServiceHeartbeatWhere(
        topics::ServiceHeartbeat(p, "s" + std::to_string(i)),
        [](const auto& s) { return s.state == proto::ServiceState::kRunning && s.restarts == 1; })))
        << "s" << i;
  }
  std::this_thread::sleep_for(500ms);  // the last events on their way to the listener
  Shell("kill " + listener);
  const std::string events = Slurp(events_file);
  std::map<std::string, int> creates, starts;
  std::istringstream lines(events);
  for (std::string action, service; lines >> action >> service;) {
    if (action == "create") ++creates[service];
    if (action == "start") ++starts[service];
  }
  for (int i = 0; i < kServices; ++i) {
    const std::string name = "s" + std::to_string(i);
    EXPECT_EQ(creates[name], 1) << name << " created more than once\n" << events;
    EXPECT_EQ(starts[name], 2) << name << " started other than by its deploy and restart\n"
                               << events;
  }
}

// 3. The engine restarted under running services: spawnd stays up, notices, resyncs and brings
// back what died with the engine.
TEST(FaultsTest, EngineRestartedSpawndResyncsAndRestartsWhatDied) {
  PrivateEngine engine;
  ASSERT_TRUE(engine.Start());
  ASSERT_TRUE(engine.CopyImage(SPAWN_TEST_IMAGE));
  SpawndOptions options;
  options.docker_socket = engine.socket();
  SpawndProcess spawnd(options);
  Probe probe;
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));
  const std::vector<std::string> names = {"alpha", "beta", "gamma"};
  for (const auto& name : names) {
    ASSERT_TRUE(DeployOverBus(probe, p, Busybox(name, true), "d-" + name));
    ASSERT_TRUE(
        probe.WaitFor(ServiceIn(topics::ServiceHeartbeat(p, name), proto::ServiceState::kRunning)));
  }
  ASSERT_EQ(RunningCount(Containers(p, engine.socket())), 3u);

  probe.Clear();
  engine.Stop();  // live-restore is off: its containers die with it
  ASSERT_TRUE(engine.Start());
  for (const auto& name : names) {
    ASSERT_TRUE(probe.WaitFor(ServiceHeartbeatWhere(
        topics::ServiceHeartbeat(p, name),
        [](const auto& s) { return s.state == proto::ServiceState::kRunning && s.restarts >= 1; })))
        << name;
  }
  EXPECT_TRUE(spawnd.running());
  EXPECT_EQ(kill(spawnd.pid(), 0), 0) << "spawnd exited";
  EXPECT_THAT(spawnd.Log(), HasSubstr("event stream reconnected"));
  for (int i = 0; i < 100 && RunningCount(Containers(p, engine.socket())) < 3; ++i)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(RunningCount(Containers(p, engine.socket())), 3u);
  ASSERT_TRUE(probe.WaitFor(SpawnpointHeartbeatWhere(p, [](const proto::SpawnpointHeartbeat& hb) {
    return hb.services.size() == 3 && hb.available_mem_mib == 512 - 3 * 64 &&
           hb.available_cpu_shares == 1024 - 3 * 128;
  })));
}

// 4. Fifty deploys published at once for a pool that fits twenty: exactly twenty run.
TEST(FaultsTest, FiftyDeploysRacingForAPoolOfTwentyRunExactlyTwenty) {
  SpawndOptions options;
  options.mem_alloc = "640M";  // 20 x 32M
  SpawndProcess spawnd(options);
  Probe probe;
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));
  for (int i = 0; i < 50; ++i) {
    const std::string name = "r" + std::to_string(i);
    ASSERT_TRUE(probe.Publish(topics::ConfigSlot(p), proto::Encode(proto::DeployRequest{
                                                         "race-" + name, Small(name, 32),
                                                         TarWriter().Finish(), false, ""})));
  }
  std::map<int, int> codes;
  std::set<std::string> accepted;
  for (int i = 0; i < 50; ++i) {
    const std::string id = "race-r" + std::to_string(i);
    auto reply = probe.WaitFor([&](const BusMessage& m) {
      auto r = proto::DecodeReply(m.payload);
      return m.topic == topics::Reply(p, id) && r.ok();
    });
    ASSERT_TRUE(reply) << "no reply to " << id;
    const int code = proto::DecodeReply(reply->payload)->code;
    ++codes[code];
    if (code == 200) accepted.insert("r" + std::to_string(i));
  }
  EXPECT_EQ(codes[200], 20);
  EXPECT_EQ(codes[503], 30);
  for (const auto& name : accepted) {
    ASSERT_TRUE(
        probe.WaitFor(ServiceIn(topics::ServiceHeartbeat(p, name), proto::ServiceState::kRunning)));
  }
  ASSERT_TRUE(probe.WaitFor(SpawnpointHeartbeatWhere(p, [](const proto::SpawnpointHeartbeat& hb) {
    return hb.services.size() == 20 && hb.available_mem_mib == 0 &&
           hb.available_cpu_shares == 1024 - 20 * 16;
  })));
  const auto containers = Containers(p);
  EXPECT_EQ(containers.size(), 20u);
  EXPECT_EQ(RunningCount(containers), 20u);
  for (const auto& [name, info] : containers) EXPECT_TRUE(accepted.count(name)) << name;
}

// 5. A thousand malformed payloads over every slot: spawnd answers what it can, stays up, still
// deploys, and a second identical storm leaves its memory where the first did.
TEST(FaultsTest, MalformedStormLeavesSpawndAnsweringWithBoundedMemory) {
  SpawndProcess spawnd;
  Probe probe;
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));
  const std::vector<std::string> slots = {topics::ConfigSlot(p), topics::RestartSlot(p),
                                          topics::StopSlot(p), topics::LogsSlot(p)};
  const std::string valid_deploy =
      proto::Encode(proto::DeployRequest{"v", Busybox("storm"), TarWriter().Finish(), false, ""});
  size_t storm_bytes = 0;
  auto storm = [&](int round) {
    std::mt19937 rng(42);  // the same storm each round
    storm_bytes = 0;
    for (int i = 0; i < 1000; ++i) {
      std::string payload;
      switch (i % 5) {
        case 0:  // random bytes
          payload.resize(1 + rng() % 512);
          for (auto& c : payload) c = static_cast<char>(rng());
          break;
        case 1:  // a valid message cut short
          payload = valid_deploy.substr(0, rng() % valid_deploy.size());
          break;
        case 2: {  // {RequestId: "...", Service: 42}: a wrongly typed value, answered with 400
          const std::string id = "bad-" + std::to_string(round) + "-" + std::to_string(i);
          payload = std::string("\x82\xa9RequestId", 11) + static_cast<char>(0xa0 | id.size()) +
                    id + std::string("\xa7Service\x2a", 9);
          break;
        }
        case 3:  // large and meaningless
          payload.assign(200 * 1024, static_cast<char>(rng()));
          break;
        case 4:  // a bare name that is nobody
          payload = "nobody-" + std::to_string(i);
          break;
      }
      storm_bytes += payload.size();
      ASSERT_TRUE(probe.bus().Publish({slots[i % slots.size()], payload, 1, false}).ok());
    }
    // Handled in order: once this is answered, the storm was.
    const std::string id = "after-storm-" + std::to_string(round);
    probe.Publish(topics::RestartSlot(p), proto::Encode(proto::ServiceCommand{id, "ghost"}));
    ASSERT_TRUE(probe.WaitFor(IsReply(id, 404), 300s)) << "spawnd stopped answering";
  };
  const long before = RssKiB(spawnd.pid());
  storm(1);
  const long after_first = RssKiB(spawnd.pid());
  storm(2);
  const long after_second = RssKiB(spawnd.pid());
  EXPECT_EQ(kill(spawnd.pid(), 0), 0) << "spawnd died";
  ASSERT_TRUE(DeployOverBus(probe, p, Busybox("after"), "deploy-after-storm"));
  ASSERT_TRUE(probe.WaitFor(
      ServiceIn(topics::ServiceHeartbeat(p, "after"), proto::ServiceState::kRunning)));
  // Why this bound: the second storm carries ~40 MB; had spawnd kept any part of each message
  // (payload, a pending journal entry, an unbounded reply memory), its memory would grow with it.
  // What it may keep is bounded by design (1,024 remembered replies, 500 log lines per service),
  // and the first storm already filled those and warmed the allocator.
  std::cout << "spawnd RSS: " << before << " KiB before, " << after_first << " after storm 1, "
            << after_second << " after storm 2 (" << storm_bytes / 1024 << " KiB sent per storm)"
            << std::endl;
  EXPECT_LT(after_second - after_first, 4 * 1024) << "KiB grown during the second storm";
  EXPECT_LT(static_cast<size_t>(std::max(0L, after_second - after_first)) * 1024, storm_bytes / 10);
  // The journal did not keep them either.
  size_t pending = 0;
  for (const auto& entry : std::filesystem::directory_iterator(spawnd.dir() / "state/commands"))
    pending += entry.path().extension() == ".cmd";
  EXPECT_EQ(pending, 0u);
}

}  // namespace
}  // namespace spawn
