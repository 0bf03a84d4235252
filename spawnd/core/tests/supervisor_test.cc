#include "spawn/core/supervisor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "spawn/common/tar.h"
#include "spawn/common/units.h"
#include "spawn/core/executor.h"
#include "spawn/core/state_store.h"
#include "spawn/engine/fake_docker_engine.h"

namespace spawn {
namespace {

using proto::ServiceState;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::Contains;
using ::testing::HasSubstr;

class RecordingObserver : public SupervisorObserver {
 public:
  void OnServiceChanged(const ServiceSnapshot& s) override { states[s.name].push_back(s.state); }
  void OnServicePurged(const std::string& name) override { purged.push_back(name); }
  void OnServiceLog(const std::string& name, const std::string& stream,
                    const std::string& line) override {
    logs[name].push_back(stream + ": " + line);
  }
  bool Logged(const std::string& name, const std::string& text) const {
    auto it = logs.find(name);
    if (it == logs.end()) return false;
    for (const auto& l : it->second) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::map<std::string, std::vector<ServiceState>> states;
  std::map<std::string, std::vector<std::string>> logs;
  std::vector<std::string> purged;
};

class SupervisorTest : public ::testing::Test {
 protected:
  SupervisorTest() {
    config_.path = "test/sp";
    config_.alias = "sp";
    config_.mem_alloc_bytes = 1024 * kMiB;
    config_.cpu_shares = 1024;
    config_.zombie_period = minutes(2);
    config_.allow_host_net = false;
  }

  void Make() {
    supervisor_ =
        MakeSupervisor(config_, engine_, loop_, store_, executor_, observer_, [] { return 1.0; });
    ASSERT_TRUE(supervisor_->Start().ok());
    loop_.RunPending();
  }

  static ServiceConfig Config(const std::string& name, int64_t mem_mib = 64, int64_t cpu = 128) {
    ServiceConfig c;
    c.name = name;
    c.image = "spawnpoint/busybox";
    c.run = {"sh", "-c", "sleep 1000"};
    c.mem_alloc_bytes = mem_mib * kMiB;
    c.cpu_shares = cpu;
    return c;
  }

  Status Deploy(const ServiceConfig& c, bool replace = false,
                std::string archive = TarWriter().Finish()) {
    proto::DeployRequest request;
    request.request_id = "r";
    request.config = c;
    request.archive = std::move(archive);
    request.replace = replace;
    Status s = supervisor_->Deploy(request);
    loop_.RunPending();
    return s;
  }

  std::optional<ServiceSnapshot> Get(const std::string& name) {
    for (const auto& s : supervisor_->Services()) {
      if (s.name == name) return s;
    }
    return std::nullopt;
  }
  ServiceState StateOf(const std::string& name) { return Get(name).value().state; }
  std::string ContainerOf(const std::string& name) { return Get(name).value().container_id; }

  void ExpectPoolAddsUp() {
    int64_t mem = 0, cpu = 0;
    for (const auto& s : supervisor_->Services()) {
      if (s.state != ServiceState::kZombie) {
        mem += s.config.mem_alloc_bytes;
        cpu += s.config.cpu_shares;
      }
    }
    const PoolSnapshot pool = supervisor_->Pool();
    ASSERT_EQ(pool.free_mem_bytes, pool.total_mem_bytes - mem);
    ASSERT_EQ(pool.free_cpu_shares, pool.total_cpu_shares - cpu);
    ASSERT_GE(pool.free_mem_bytes, 0);
    ASSERT_GE(pool.free_cpu_shares, 0);
  }

  SpawndConfig config_;
  FakeDockerEngine engine_;
  ManualEventLoop loop_;
  MemoryStateStore store_;
  InlineExecutor executor_;
  RecordingObserver observer_;
  std::unique_ptr<Supervisor> supervisor_;
};

TEST_F(SupervisorTest, DeployBuildsCreatesAndRunsWithinLimits) {
  Make();
  ServiceConfig c = Config("web");
  c.env = {"MODE=test"};
  c.volumes = {"data"};
  ASSERT_TRUE(Deploy(c).ok());
  EXPECT_EQ(StateOf("web"), ServiceState::kRunning);
  EXPECT_EQ(observer_.states["web"],
            (std::vector<ServiceState>{ServiceState::kBuilding, ServiceState::kStarting,
                                       ServiceState::kRunning}));
  EXPECT_TRUE(observer_.Logged("web", "[INFO] Launching service..."));
  EXPECT_TRUE(observer_.Logged("web", "[SUCCESS] Service container has started"));
  auto containers = engine_.Containers();
  ASSERT_EQ(containers.size(), 1u);
  const ContainerSpec& spec = containers.begin()->second.spec;
  EXPECT_EQ(spec.name, "spawnpoint_sp_web");
  EXPECT_EQ(spec.memory_bytes, 64 * kMiB);
  EXPECT_EQ(spec.cpu_shares, 128);
  EXPECT_EQ(spec.network_mode, "none");
  EXPECT_EQ(spec.labels.at(kPathLabel), "test/sp");
  EXPECT_EQ(spec.labels.at(kServiceLabel), "web");
  EXPECT_THAT(spec.env, Contains("SPAWNPOINT_SERVICE_TOPIC=test/sp/s.spawnpoint/web"));
  EXPECT_THAT(spec.env, Contains("SPAWNPOINT_ALIAS=sp"));
  EXPECT_THAT(spec.env, Contains("MODE=test"));
  EXPECT_EQ(spec.volumes, std::vector<std::string>{"data"});
  EXPECT_EQ(supervisor_->Pool().free_mem_bytes, (1024 - 64) * kMiB);
  EXPECT_EQ(supervisor_->Pool().free_cpu_shares, 1024 - 128);
}

TEST_F(SupervisorTest, UnchangedImageIsNotRebuilt) {
  Make();
  ASSERT_TRUE(Deploy(Config("a")).ok());
  ASSERT_TRUE(supervisor_->Stop("a").ok());
  loop_.RunPending();
  loop_.AdvanceBy(minutes(3));  // purged
  ASSERT_TRUE(Deploy(Config("a")).ok());
  EXPECT_EQ(engine_.CountCalls("Build"), 1u);
  EXPECT_TRUE(observer_.Logged("a", "is up to date"));
}

TEST_F(SupervisorTest, RefusalCodes) {
  Make();
  ServiceConfig host = Config("host");
  host.use_host_net = true;
  EXPECT_EQ(Deploy(host).code(), Code::kForbidden);
  EXPECT_THAT(Deploy(host).message(), HasSubstr("allowHostNet"));
  ServiceConfig dev = Config("dev");
  dev.devices = {"/dev/null"};
  EXPECT_EQ(Deploy(dev).code(), Code::kForbidden);
  TarWriter unsafe;
  unsafe.AddFile("../../etc/passwd", "x");
  EXPECT_EQ(Deploy(Config("bad"), false, unsafe.Finish()).code(), Code::kBadRequest);
  EXPECT_EQ(Deploy(Config("bad"), false, "not a tar at all, not even close......").code(),
            Code::kBadRequest);
  ASSERT_TRUE(Deploy(Config("one")).ok());
  Status dup = Deploy(Config("one"));
  EXPECT_EQ(dup.code(), Code::kConflict);
  EXPECT_THAT(dup.message(), HasSubstr("already exists"));
  Status big = Deploy(Config("big", 2048, 2048));
  EXPECT_EQ(big.code(), Code::kUnavailable);
  EXPECT_EQ(
      big.message(),
      "Insufficient resources for service. CPU: Have 896, Want 2048. Mem: Have 960, Want 2048");
  EXPECT_EQ(supervisor_->Restart("nope").code(), Code::kNotFound);
  EXPECT_EQ(supervisor_->Stop("nope").code(), Code::kNotFound);
  ExpectPoolAddsUp();
  EXPECT_EQ(supervisor_->Services().size(), 1u);
}

TEST_F(SupervisorTest, PermissionsGrantedBySpawndAreHonoured) {
  config_.allow_host_net = true;
  config_.allow_device_mappings = true;
  Make();
  ServiceConfig c = Config("hw");
  c.use_host_net = true;
  c.devices = {"/dev/null"};
  ASSERT_TRUE(Deploy(c).ok());
  EXPECT_EQ(engine_.Containers().begin()->second.spec.network_mode, "host");
}

TEST_F(SupervisorTest, AutoRestartWaitsExactlyRestartInt) {
  Make();
  ServiceConfig c = Config("svc");
  c.auto_restart = true;
  c.restart_interval = seconds(2);
  ASSERT_TRUE(Deploy(c).ok());
  loop_.AdvanceBy(minutes(20));  // stays up long enough that this death is not a failure streak
  const std::string id = ContainerOf("svc");
  engine_.Die(id, 1);
  loop_.RunPending();
  EXPECT_EQ(StateOf("svc"), ServiceState::kRestarting);
  EXPECT_EQ(Get("svc")->exit_code, 1);
  const size_t starts = engine_.CountCalls("StartContainer");
  loop_.AdvanceBy(milliseconds(1999));
  EXPECT_EQ(engine_.CountCalls("StartContainer"), starts);
  EXPECT_EQ(StateOf("svc"), ServiceState::kRestarting);
  loop_.AdvanceBy(milliseconds(1));
  EXPECT_EQ(engine_.CountCalls("StartContainer"), starts + 1);
  EXPECT_EQ(StateOf("svc"), ServiceState::kRunning);
  EXPECT_EQ(Get("svc")->restarts, 1);
  EXPECT_EQ(ContainerOf("svc"), id);  // the same container, restarted
  ExpectPoolAddsUp();
}

TEST_F(SupervisorTest, QuickDeathsBackOffExponentiallyToTheCapAndResetAfterStayingUp) {
  Make();
  ServiceConfig c = Config("flaky");
  c.auto_restart = true;
  c.restart_interval = seconds(1);
  c.max_restart_interval = seconds(10);
  ASSERT_TRUE(Deploy(c).ok());
  std::vector<Duration> delays;
  for (int i = 0; i < 6; ++i) {
    engine_.Die(ContainerOf("flaky"), 2);
    loop_.RunPending();
    const SteadyTime died = loop_.Now();
    Duration seen = Get("flaky")->backoff;
    while (StateOf("flaky") != ServiceState::kRunning) loop_.AdvanceBy(milliseconds(100));
    delays.push_back(std::chrono::duration_cast<Duration>(loop_.Now() - died));
    if (i > 0) {
      EXPECT_EQ(seen, delays.back());
    }
  }
  EXPECT_EQ(delays, (std::vector<Duration>{seconds(1), seconds(2), seconds(4), seconds(8),
                                           seconds(10), seconds(10)}));
  EXPECT_TRUE(observer_.Logged("flaky", "backing off to 8s"));
  loop_.AdvanceBy(minutes(10));  // stays up: failures forgotten
  engine_.Die(ContainerOf("flaky"), 2);
  loop_.RunPending();
  EXPECT_EQ(Get("flaky")->backoff, Duration(0));
  const SteadyTime died = loop_.Now();
  while (StateOf("flaky") != ServiceState::kRunning) loop_.AdvanceBy(milliseconds(100));
  EXPECT_EQ(loop_.Now() - died, seconds(1));
}

TEST_F(SupervisorTest, DeathWithoutAutoRestartIsAZombieThenPurged) {
  Make();
  ASSERT_TRUE(Deploy(Config("once")).ok());
  const std::string id = ContainerOf("once");
  engine_.Die(id, 0);
  loop_.RunPending();
  EXPECT_EQ(StateOf("once"), ServiceState::kZombie);
  EXPECT_EQ(supervisor_->Pool().free_mem_bytes, 1024 * kMiB);  // released
  loop_.AdvanceBy(minutes(2) - milliseconds(1));
  EXPECT_TRUE(observer_.purged.empty());
  EXPECT_TRUE(Get("once").has_value());
  loop_.AdvanceBy(milliseconds(1));
  EXPECT_EQ(observer_.purged, std::vector<std::string>{"once"});
  EXPECT_FALSE(Get("once").has_value());
  EXPECT_EQ(engine_.Containers().count(id), 0u);  // container removed
  EXPECT_EQ(store_.records.count("once"), 0u);
}

TEST_F(SupervisorTest, ZombieRevivesWithinItsPeriodIfItStillFits) {
  Make();
  ASSERT_TRUE(Deploy(Config("z", 600)).ok());
  ASSERT_TRUE(supervisor_->Stop("z").ok());
  loop_.RunPending();
  EXPECT_EQ(StateOf("z"), ServiceState::kZombie);
  EXPECT_THAT(engine_.Calls(), Contains(HasSubstr("StopContainer")));
  ASSERT_TRUE(Deploy(Config("other", 600)).ok());  // takes the memory the zombie gave back
  Status revive = supervisor_->Restart("z");
  EXPECT_EQ(revive.code(), Code::kUnavailable);
  EXPECT_THAT(revive.message(), HasSubstr("Insufficient resources"));
  ASSERT_TRUE(supervisor_->Stop("other").ok());
  loop_.RunPending();
  ASSERT_TRUE(supervisor_->Restart("z").ok());
  loop_.RunPending();
  EXPECT_EQ(StateOf("z"), ServiceState::kRunning);
  loop_.AdvanceBy(minutes(5));
  EXPECT_EQ(StateOf("z"), ServiceState::kRunning);  // the revival cancelled the purge
  ExpectPoolAddsUp();
}

TEST_F(SupervisorTest, StopAndRestartDuringABuild) {
  Make();
  engine_.HoldBuilds(true);
  ASSERT_TRUE(Deploy(Config("slow")).ok());
  EXPECT_EQ(StateOf("slow"), ServiceState::kBuilding);
  EXPECT_TRUE(supervisor_->Restart("slow").ok());  // absorbed: it will start when built
  // Another service is not held up by the build.
  engine_.HoldBuilds(false);
  ASSERT_TRUE(Deploy(Config("fast")).ok());
  EXPECT_EQ(StateOf("fast"), ServiceState::kRunning);
  ASSERT_TRUE(supervisor_->Stop("slow").ok());
  loop_.RunPending();
  EXPECT_EQ(StateOf("slow"), ServiceState::kZombie);
  engine_.CompleteBuild(0, Status::Ok());  // a cancelled build's result is ignored
  loop_.RunPending();
  EXPECT_EQ(StateOf("slow"), ServiceState::kZombie);
  EXPECT_EQ(engine_.Containers().size(), 1u);
  ExpectPoolAddsUp();
}

TEST_F(SupervisorTest, BuildFailureReleasesTheReservation) {
  Make();
  engine_.FailNext("Build", Status::BadRequest("image build failed: RUN exit 7"));
  ASSERT_TRUE(Deploy(Config("broken", 512)).ok());
  EXPECT_EQ(StateOf("broken"), ServiceState::kZombie);
  EXPECT_TRUE(observer_.Logged("broken", "[ERROR 400] image build failed"));
  EXPECT_EQ(supervisor_->Pool().free_mem_bytes, 1024 * kMiB);
}

TEST_F(SupervisorTest, ReplaceStopsTheOldThenDeploysTheNew) {
  Make();
  ASSERT_TRUE(Deploy(Config("svc", 600)).ok());
  const std::string old_id = ContainerOf("svc");
  // 600 + 600 would not fit, but a replacement gets the old reservation back first.
  ASSERT_TRUE(Deploy(Config("svc", 600, 200), true).ok());
  EXPECT_EQ(StateOf("svc"), ServiceState::kRunning);
  EXPECT_NE(ContainerOf("svc"), old_id);
  EXPECT_EQ(engine_.Containers().count(old_id), 0u);
  EXPECT_EQ(Get("svc")->config.cpu_shares, 200);
  ExpectPoolAddsUp();
  EXPECT_EQ(Deploy(Config("svc", 2000), true).code(), Code::kUnavailable);
  EXPECT_EQ(StateOf("svc"), ServiceState::kRunning);  // a refused replacement leaves the old alone
}

TEST_F(SupervisorTest, RestartOfARunningServiceRestartsItsContainer) {
  Make();
  ServiceConfig c = Config("r");
  c.auto_restart = true;
  ASSERT_TRUE(Deploy(c).ok());
  ASSERT_TRUE(supervisor_->Restart("r").ok());
  loop_.RunPending();
  EXPECT_EQ(engine_.CountCalls("RestartContainer"), 1u);
  EXPECT_EQ(StateOf("r"), ServiceState::kRunning);
  EXPECT_EQ(Get("r")->restarts, 1);
  loop_.AdvanceBy(minutes(1));  // the restart's own die event did not schedule another restart
  EXPECT_EQ(engine_.CountCalls("StartContainer"), 1u);
}

TEST_F(SupervisorTest, EveryChangeIsPersisted) {
  Make();
  ASSERT_TRUE(Deploy(Config("p")).ok());
  ASSERT_EQ(store_.records.count("p"), 1u);
  EXPECT_EQ(store_.records["p"].container_id, ContainerOf("p"));
  EXPECT_TRUE(store_.records["p"].reserved);
  const int saves = store_.saves;
  ASSERT_TRUE(supervisor_->Stop("p").ok());
  loop_.RunPending();
  EXPECT_GT(store_.saves, saves);
  EXPECT_TRUE(store_.records["p"].stopped);
  EXPECT_FALSE(store_.records["p"].reserved);
  EXPECT_GT(store_.records["p"].zombie_deadline_unix_ns, 0);
}

TEST_F(SupervisorTest, LogsAndStatsOfTheContainerAreFollowed) {
  Make();
  ASSERT_TRUE(Deploy(Config("chatty")).ok());
  engine_.EmitLog(ContainerOf("chatty"), {"stderr", "warning: low disk"});
  ContainerStats stats;
  stats.memory_usage_bytes = 5 * kMiB;
  engine_.EmitStats(ContainerOf("chatty"), stats);
  loop_.RunPending();
  EXPECT_TRUE(observer_.Logged("chatty", "stderr: warning: low disk"));
  EXPECT_EQ(Get("chatty")->usage.memory_usage_bytes, 5 * kMiB);
}

// ---- adoption ----

class AdoptionTest : public SupervisorTest {
 protected:
  std::string Previous(const std::string& name, bool running, bool auto_restart,
                       int exit_code = 0) {
    ServiceRecord r;
    r.config = Config(name);
    r.config.auto_restart = auto_restart;
    r.reserved = true;
    r.image_tag = "spawnpoint/" + name + ":1";
    ContainerSpec spec;
    spec.name = "spawnpoint_sp_" + name;
    spec.labels = {{kPathLabel, "test/sp"},
                   {kServiceLabel, name},
                   {kConfigLabel, ServiceConfigToYaml(r.config)}};
    r.container_id = engine_.AddContainer(spec, running, exit_code);
    store_.records[name] = r;
    return r.container_id;
  }
};

TEST_F(AdoptionTest, RunningAreAdoptedDeadAutoRestartRestartedOthersZombiesUnknownRemoved) {
  const std::string running = Previous("running", true, false);
  const std::string dead_restart = Previous("phoenix", false, true, 1);
  const std::string dead = Previous("dead", false, false, 3);
  ContainerSpec stray;
  stray.name = "spawnpoint_sp_stray";
  stray.labels = {{kPathLabel, "test/sp"}, {kServiceLabel, "stray"}};
  const std::string stray_id = engine_.AddContainer(stray, true);
  ContainerSpec foreign;
  foreign.name = "someone-else";
  foreign.labels = {{kPathLabel, "other/sp"}, {kServiceLabel, "x"}};
  const std::string foreign_id = engine_.AddContainer(foreign, true);
  Make();
  EXPECT_EQ(StateOf("running"), ServiceState::kRunning);
  EXPECT_EQ(ContainerOf("running"), running);
  EXPECT_EQ(engine_.Containers()[running].starts, 1);  // not restarted
  EXPECT_EQ(StateOf("phoenix"), ServiceState::kRunning);
  EXPECT_EQ(engine_.Containers()[dead_restart].starts, 1);
  EXPECT_EQ(StateOf("dead"), ServiceState::kZombie);
  EXPECT_EQ(Get("dead")->exit_code, 3);
  EXPECT_EQ(engine_.Containers().count(stray_id), 0u);
  EXPECT_EQ(engine_.Containers().count(foreign_id), 1u);
  ExpectPoolAddsUp();
  // Still supervised: a later death is handled.
  engine_.Die(running, 9);
  loop_.RunPending();
  EXPECT_EQ(StateOf("running"), ServiceState::kZombie);
}

TEST_F(AdoptionTest, DamagedRecordIsRecoveredFromTheLabels) {
  const std::string id = Previous("precious", true, true);
  store_.records.erase("precious");
  store_.damaged.insert("precious");
  Make();
  ASSERT_TRUE(Get("precious").has_value());
  EXPECT_EQ(StateOf("precious"), ServiceState::kRunning);
  EXPECT_EQ(ContainerOf("precious"), id);
  EXPECT_TRUE(Get("precious")->config.auto_restart);
}

TEST_F(AdoptionTest, AdoptionNeverOversubscribesThePool) {
  config_.mem_alloc_bytes = 100 * kMiB;
  Previous("a", true, false);
  Previous("b", true, false);  // 64 + 64 > 100: the second cannot be reserved
  Make();
  EXPECT_EQ(StateOf("a"), ServiceState::kRunning);
  EXPECT_EQ(StateOf("b"), ServiceState::kRunning);
  EXPECT_GE(supervisor_->Pool().free_mem_bytes, 0);
}

TEST_F(SupervisorTest, EngineReconnectionResyncsMissedDeaths) {
  Make();
  ServiceConfig c = Config("missed");
  c.auto_restart = true;
  c.restart_interval = seconds(1);
  ASSERT_TRUE(Deploy(c).ok());
  // The container dies while the event stream is down: no event reaches the supervisor.
  engine_.DieSilently(ContainerOf("missed"), 137);
  loop_.RunPending();
  EXPECT_EQ(StateOf("missed"), ServiceState::kRunning);  // nothing told it yet
  engine_.ReconnectEvents();
  loop_.RunPending();
  EXPECT_EQ(StateOf("missed"), ServiceState::kRestarting);
  EXPECT_EQ(Get("missed")->exit_code, 137);
  loop_.AdvanceBy(seconds(1));
  EXPECT_EQ(StateOf("missed"), ServiceState::kRunning);
}

TEST_F(SupervisorTest, RandomInterleavingsNeverOversubscribeOrLeak) {
  Make();
  std::mt19937 rng(20261123);
  const std::vector<std::string> names = {"a", "b", "c", "d", "e", "f"};
  for (int step = 0; step < 3000; ++step) {
    const std::string name = names[rng() % names.size()];
    switch (rng() % 8) {
      case 0:
      case 1: {
        ServiceConfig c = Config(name, 50 + rng() % 400, 50 + rng() % 400);
        c.auto_restart = rng() % 2;
        c.restart_interval = seconds(rng() % 3);
        engine_.HoldBuilds(rng() % 3 == 0);
        if (rng() % 5 == 0) engine_.FailNext("Build", Status::BadRequest("build failed"));
        if (rng() % 7 == 0) engine_.FailNext("StartContainer", Status::Internal("engine hiccup"));
        Deploy(c, rng() % 2).IgnoreError();
        break;
      }
      case 2:
        supervisor_->Stop(name).IgnoreError();
        break;
      case 3:
        supervisor_->Restart(name).IgnoreError();
        break;
      case 4:
        if (auto s = Get(name); s && !s->container_id.empty())
          engine_.Die(s->container_id, rng() % 4);
        break;
      case 5:
        if (engine_.PendingBuilds()) {
          engine_.CompleteBuild(0, rng() % 3 ? Status::Ok() : Status::BadRequest("build failed"));
        }
        break;
      case 6:
        loop_.AdvanceBy(milliseconds(rng() % 200000));
        break;
      case 7:
        engine_.ReconnectEvents();
        break;
    }
    loop_.RunPending();
    ExpectPoolAddsUp();
    if (HasFatalFailure()) {
      ADD_FAILURE() << "pool broken at step " << step;
      return;
    }
  }
}

}  // namespace
}  // namespace spawn
