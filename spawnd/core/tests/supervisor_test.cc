#include "spawn/core/supervisor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "spawn/common/tar.h"
#include "spawn/common/units.h"
#include "spawn/core/executor.h"
#include "spawn/core/fake_service_secrets.h"
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
using ::testing::Not;

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
    // The engine shares spawnd's wall clock, as through its local socket.
    engine_.SetClock([this] { return ToUnixNanos(loop_.WallNow()); });
  }

  void Make() {
    Executor& executor = manual_ ? static_cast<Executor&>(manual_executor_) : executor_;
    supervisor_ = MakeSupervisor(config_, engine_, loop_, store_, secrets_, executor, observer_,
                                 [] { return 1.0; });
    ASSERT_TRUE(supervisor_->Start().ok());
    Settle();
  }

  // Runs everything runnable now: loop tasks, and (with the manual executor) queued engine calls.
  void Settle() {
    loop_.RunPending();
    while (manual_ && manual_executor_.Pending()) {
      manual_executor_.RunAll();
      loop_.RunPending();
    }
  }

  // With the manual executor: runs engine calls and loop tasks, one round at a time, until the
  // service is starting (its create-and-start queued, not run).
  void RunUntilStarting(const std::string& name) {
    for (int round = 0; round < 10 && StateOf(name) != ServiceState::kStarting; ++round) {
      manual_executor_.RunAll();
      loop_.RunPending();
    }
    ASSERT_EQ(StateOf(name), ServiceState::kStarting);
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
    Settle();
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

  // free == total - live reservations, never negative; zombies hold nothing, the living do.
  void ExpectPoolAddsUp() {
    int64_t mem = 0, cpu = 0;
    for (const auto& s : supervisor_->Services()) {
      ASSERT_EQ(s.reserved, s.state != ServiceState::kZombie) << s.name;
      if (s.reserved) {
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

  // A soak: `steps` random actions, each on a random one of `names`, checking the pool after
  // each. Actions 0-7 deploy, stop, restart, kill, finish a build, move time and reconnect the
  // engine's events; 8 and 9 (when `actions` is 10) run one held engine call of any service.
  void RandomSoak(std::mt19937::result_type seed, const std::vector<std::string>& names, int steps,
                  unsigned actions) {
    std::mt19937 rng(seed);
    for (int step = 0; step < steps; ++step) {
      const std::string name = names[rng() % names.size()];
      switch (rng() % actions) {
        case 0:
        case 1: {
          ServiceConfig c = Config(name, 50 + rng() % 400, 50 + rng() % 400);
          c.auto_restart = rng() % 2;
          c.restart_interval = seconds(rng() % 3);
          engine_.HoldBuilds(rng() % 3 == 0);
          if (rng() % 5 == 0) engine_.FailNext("Build", Status::BadRequest("build failed"));
          if (rng() % 7 == 0) engine_.FailNext("StartContainer", Status::Internal("engine hiccup"));
          supervisor_->Deploy({"r", c, TarWriter().Finish(), rng() % 2 == 0, ""}).IgnoreError();
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
        case 8:
        case 9: {
          auto keys = manual_executor_.PendingKeys();
          if (!keys.empty()) manual_executor_.RunNext(keys[rng() % keys.size()]);
          break;
        }
      }
      loop_.RunPending();
      ExpectPoolAddsUp();
      if (HasFatalFailure()) {
        ADD_FAILURE() << "pool broken at step " << step;
        return;
      }
    }
  }

  SpawndConfig config_;
  FakeDockerEngine engine_;
  ManualEventLoop loop_;
  MemoryStateStore store_;
  FakeServiceSecrets secrets_;
  InlineExecutor executor_;
  ManualExecutor manual_executor_;
  bool manual_ = false;  // engine calls wait in manual_executor_ until the test runs them
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
  EXPECT_EQ(spec.network_mode, "");  // the engine's default
  EXPECT_EQ(spec.labels.at(kAliasLabel), "sp");
  EXPECT_EQ(ParseServiceConfig(spec.labels.at(kConfigLabel), "label").value(), c);
  EXPECT_THAT(spec.env, Contains("SPAWNPOINT_PATH=test/sp"));
  EXPECT_TRUE(observer_.Logged("web", "spawnd: Step 1/1 : FROM fake"));  // build output
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

TEST_F(SupervisorTest, StopNowKillsWithoutTheGrace) {
  Make();
  ASSERT_TRUE(Deploy(Config("k", 600)).ok());
  loop_.RunPending();
  ASSERT_EQ(StateOf("k"), ServiceState::kRunning);
  const std::string id = Get("k")->container_id;
  ASSERT_TRUE(supervisor_->StopNow("k").ok());
  loop_.RunPending();
  EXPECT_EQ(StateOf("k"), ServiceState::kZombie);
  EXPECT_THAT(engine_.Calls(), Contains("KillContainer " + id + " KILL"));
  EXPECT_THAT(engine_.Calls(), Not(Contains(HasSubstr("StopContainer"))));
  EXPECT_EQ(supervisor_->StopNow("ghost").code(), Code::kNotFound);
  ExpectPoolAddsUp();
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
  // The old container is stopped and kept, renamed, for a rollback (issue 22).
  ASSERT_EQ(engine_.Containers().count(old_id), 1u);
  EXPECT_FALSE(engine_.Containers().at(old_id).running);
  EXPECT_EQ(engine_.Containers().at(old_id).spec.name, "spawnpoint_sp_svc_previous");
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

TEST_F(SupervisorTest, ReadOutputAsksTheEngineForTheCurrentContainersOutputSince) {
  Make();
  ASSERT_TRUE(Deploy(Config("chatty")).ok());
  engine_.EmitLog(ContainerOf("chatty"), {"stdout", "old", 100});
  engine_.EmitLog(ContainerOf("chatty"), {"stderr", "new", 200});
  std::vector<Result<std::vector<LogLine>>> answers;
  auto keep = [&](Result<std::vector<LogLine>> r) { answers.push_back(std::move(r)); };
  supervisor_->ReadOutput("chatty", 150, 10, keep);
  supervisor_->ReadOutput("chatty", 0, 1, keep);
  supervisor_->ReadOutput("nobody", 0, 10, keep);  // none, at once
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(answers[0].ok() && answers[0]->empty());
  Settle();
  ASSERT_EQ(answers.size(), 3u);
  ASSERT_TRUE(answers[1].ok());
  ASSERT_EQ(answers[1]->size(), 1u);
  EXPECT_EQ((*answers[1])[0].text, "new");
  EXPECT_EQ((*answers[1])[0].stream, "stderr");
  EXPECT_EQ((*answers[1])[0].time_unix_ns, 200);
  ASSERT_TRUE(answers[2].ok());
  ASSERT_EQ(answers[2]->size(), 1u);  // the last line only
  EXPECT_EQ((*answers[2])[0].text, "new");

  // Its container gone (removed behind spawnd's back): none, not an error.
  ASSERT_TRUE(engine_.RemoveContainer(ContainerOf("chatty"), true).ok());
  supervisor_->ReadOutput("chatty", 0, 10, keep);
  Settle();
  ASSERT_EQ(answers.size(), 4u);
  ASSERT_TRUE(answers[3].ok());
  EXPECT_TRUE(answers[3]->empty());
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
  RandomSoak(20261123, {"a", "b", "c", "d", "e", "f"}, 3000, 8);
}

// ---- more refusals, entity, persistence failures ----

TEST_F(SupervisorTest, InvalidConfigsAreRefusedWithTheReason) {
  Make();
  ServiceConfig no_run = Config("norun");
  no_run.run.clear();
  Status s = Deploy(no_run);
  EXPECT_EQ(s.code(), Code::kBadRequest);
  EXPECT_THAT(s.message(), HasSubstr("run is required"));
  ServiceConfig tiny = Config("tiny");
  tiny.mem_alloc_bytes = 0;
  EXPECT_EQ(Deploy(tiny).code(), Code::kBadRequest);
  ServiceConfig env = Config("env");
  env.env = {"NOEQUALS"};
  EXPECT_THAT(Deploy(env).message(), HasSubstr("KEY=value"));
  EXPECT_EQ(Deploy(Config("bad/name")).code(), Code::kBadRequest);
  EXPECT_TRUE(supervisor_->Services().empty());
  EXPECT_EQ(engine_.CountCalls("CreateContainer"), 0u);
  ExpectPoolAddsUp();
}

TEST_F(SupervisorTest, EntityReachesTheContainerThroughItsSecretsDirectory) {
  Make();
  proto::DeployRequest request;
  request.config = Config("secret");
  request.archive = TarWriter().Finish();
  request.entity = "private key bytes";
  ASSERT_TRUE(supervisor_->Deploy(request).ok());
  loop_.RunPending();
  ASSERT_EQ(StateOf("secret"), ServiceState::kRunning);
  // Written before the container exists; never copied into its filesystem.
  ASSERT_EQ(secrets_.services.count("secret"), 1u);
  EXPECT_EQ(secrets_.services["secret"].files,
            (ServiceSecrets::Files{{"entity.key", "private key bytes"}}));
  EXPECT_EQ(engine_.CountCalls("PutArchive"), 0u);
  const ContainerSpec spec = engine_.Containers().begin()->second.spec;
  ASSERT_EQ(spec.binds.size(), 1u);
  EXPECT_EQ(spec.binds[0].host_dir, "/fake/secrets/secret");
  EXPECT_EQ(spec.binds[0].container_dir, "/run/spawnpoint");
  EXPECT_TRUE(spec.binds[0].read_only);
  EXPECT_THAT(spec.env, Contains("SPAWNPOINT_ENTITY=/run/spawnpoint/entity.key"));
  // Where services written for the original Spawnpoint look for their entity.
  EXPECT_THAT(spec.env, Contains("BW2_DEFAULT_ENTITY=/run/spawnpoint/entity.key"));
  EXPECT_EQ(store_.records["secret"].entity, "private key bytes");
}

TEST_F(SupervisorTest, WithoutAnEntityNoEntityVariableIsSet) {
  Make();
  ASSERT_TRUE(Deploy(Config("plain")).ok());
  const auto containers = engine_.Containers();
  for (const auto& e : containers.begin()->second.spec.env) {
    EXPECT_THAT(e, Not(HasSubstr("ENTITY")));
  }
}

// ---- overlayNet ----

TEST_F(SupervisorTest, OverlayNetIsEnsuredBeforeCreateWithTheServiceNameAsAlias) {
  Make();
  ServiceConfig a = Config("a"), b = Config("b");
  a.overlay_net = b.overlay_net = "svcnet";
  ASSERT_TRUE(Deploy(a).ok());
  ASSERT_TRUE(Deploy(b).ok());
  EXPECT_EQ(StateOf("a"), ServiceState::kRunning);
  EXPECT_EQ(StateOf("b"), ServiceState::kRunning);
  std::vector<std::string> network_calls;
  for (const auto& call : engine_.Calls()) {
    if (call.find("Network") != std::string::npos || call.rfind("CreateContainer", 0) == 0)
      network_calls.push_back(call);
  }
  EXPECT_EQ(network_calls,
            (std::vector<std::string>{"EnsureNetwork svcnet", "CreateContainer spawnpoint_sp_a",
                                      "EnsureNetwork svcnet", "CreateContainer spawnpoint_sp_b"}));
  std::map<std::string, ContainerSpec> specs;
  for (const auto& [id, c] : engine_.Containers()) specs[c.spec.labels.at(kServiceLabel)] = c.spec;
  EXPECT_EQ(specs["a"].network_mode, "svcnet");
  EXPECT_EQ(specs["a"].network_aliases, std::vector<std::string>{"a"});
  EXPECT_EQ(specs["b"].network_aliases, std::vector<std::string>{"b"});
  // The config label, from which a later spawnd may recover the service, keeps the network.
  EXPECT_EQ(ParseServiceConfig(specs["a"].labels.at(kConfigLabel), "label").value(), a);
  EXPECT_EQ(engine_.Networks(), std::vector<std::string>{"svcnet"});

  // The last service on the network is purged: the network stays.
  ASSERT_TRUE(supervisor_->Stop("a").ok());
  ASSERT_TRUE(supervisor_->Stop("b").ok());
  loop_.RunPending();
  loop_.AdvanceBy(minutes(3));
  EXPECT_EQ(observer_.purged, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(engine_.Containers().empty());
  EXPECT_EQ(engine_.Networks(), std::vector<std::string>{"svcnet"});
  EXPECT_EQ(engine_.CountCalls("EnsureNetwork"), 2u);
  for (const auto& call : engine_.Calls()) {
    if (call.rfind("EnsureNetwork", 0) != 0) {
      EXPECT_THAT(call, Not(HasSubstr("svcnet")));
    }
  }
}

TEST_F(SupervisorTest, ServicesWithoutOverlayNetEnsureNoNetwork) {
  Make();
  ASSERT_TRUE(Deploy(Config("plain")).ok());
  EXPECT_EQ(engine_.CountCalls("EnsureNetwork"), 0u);
  EXPECT_TRUE(engine_.Containers().begin()->second.spec.network_aliases.empty());
}

TEST_F(SupervisorTest, ANetworkThatCannotBeMadeFailsTheStartWithTheEnginesReason) {
  Make();
  ServiceConfig c = Config("lonely");
  c.overlay_net = "svcnet";
  engine_.FailNext("EnsureNetwork", Status::Internal("This node is not a swarm manager"));
  ASSERT_TRUE(Deploy(c).ok());
  EXPECT_EQ(StateOf("lonely"), ServiceState::kZombie);
  EXPECT_TRUE(
      observer_.Logged("lonely", "[ERROR 500] network svcnet: This node is not a swarm manager"));
  EXPECT_EQ(engine_.CountCalls("CreateContainer"), 0u);
  ExpectPoolAddsUp();
}

TEST_F(SupervisorTest, ANetworkRemovedWhileTheServiceWasDownIsMadeAgainWithANewContainer) {
  Make();
  ServiceConfig c = Config("phoenix");
  c.overlay_net = "svcnet";
  c.auto_restart = true;
  c.restart_interval = seconds(1);
  ASSERT_TRUE(Deploy(c).ok());
  const std::string first = ContainerOf("phoenix");
  engine_.Die(first, 1);
  loop_.RunPending();
  // What the engine answers when starting a container whose network was removed.
  engine_.FailNext("StartContainer", Status::NotFound("network svcnet not found"));
  loop_.AdvanceBy(seconds(1));
  EXPECT_EQ(StateOf("phoenix"), ServiceState::kRunning);
  EXPECT_NE(ContainerOf("phoenix"), first);
  EXPECT_EQ(engine_.CountCalls("EnsureNetwork"), 2u);
  EXPECT_EQ(engine_.Containers().size(), 1u);
}

TEST_F(SupervisorTest, OverlayNetWithHostNetOrABadNameIsRefusedNamingTheKeys) {
  config_.allow_host_net = true;
  Make();
  ServiceConfig both = Config("both");
  both.overlay_net = "svcnet";
  both.use_host_net = true;
  Status s = Deploy(both);
  EXPECT_EQ(s.code(), Code::kBadRequest);
  EXPECT_THAT(s.message(), HasSubstr("overlayNet"));
  EXPECT_THAT(s.message(), HasSubstr("useHostNet"));
  ServiceConfig bad = Config("bad");
  bad.overlay_net = "no such/net";
  s = Deploy(bad);
  EXPECT_EQ(s.code(), Code::kBadRequest);
  EXPECT_THAT(s.message(), HasSubstr("overlayNet: \"no such/net\" is not a network name"));
  EXPECT_TRUE(supervisor_->Services().empty());
  EXPECT_EQ(engine_.CountCalls("EnsureNetwork"), 0u);
}

TEST_F(SupervisorTest, AFailingStateStoreIsLoggedAndServicesGoOn) {
  Make();
  store_.fail_writes = true;
  ASSERT_TRUE(Deploy(Config("w")).ok());
  EXPECT_EQ(StateOf("w"), ServiceState::kRunning);
  ExpectPoolAddsUp();
}

TEST_F(SupervisorTest, OomIsReportedInTheServiceLog) {
  Make();
  ASSERT_TRUE(Deploy(Config("hungry")).ok());
  engine_.EmitEvent({EngineEvent::Kind::kOom, "oom", ContainerOf("hungry"), 0,
                     engine_.Containers()[ContainerOf("hungry")].spec.labels, 0});
  loop_.RunPending();
  EXPECT_TRUE(observer_.Logged("hungry", "ran out of memory"));
}

TEST_F(SupervisorTest, RestartDuringABuildStartsOnceBuiltAndRestartWhileWaitingRestartsNow) {
  Make();
  engine_.HoldBuilds(true);
  ServiceConfig c = Config("b");
  c.auto_restart = true;
  c.restart_interval = minutes(1);
  ASSERT_TRUE(Deploy(c).ok());
  ASSERT_TRUE(supervisor_->Restart("b").ok());  // never a 404 while building
  loop_.RunPending();
  engine_.CompleteBuild(0, Status::Ok());
  loop_.RunPending();
  EXPECT_EQ(StateOf("b"), ServiceState::kRunning);
  EXPECT_EQ(engine_.CountCalls("StartContainer"), 1u);
  loop_.AdvanceBy(minutes(20));
  engine_.Die(ContainerOf("b"), 1);
  loop_.RunPending();
  EXPECT_EQ(StateOf("b"), ServiceState::kRestarting);
  ASSERT_TRUE(supervisor_->Restart("b").ok());  // no need to wait out restartInt
  loop_.RunPending();
  EXPECT_EQ(StateOf("b"), ServiceState::kRunning);
  loop_.AdvanceBy(minutes(2));  // the cancelled timer does not start it a second time
  EXPECT_EQ(engine_.CountCalls("StartContainer"), 2u);
}

TEST_F(SupervisorTest, RestartLogsTheDelayAndAttempt) {
  Make();
  ServiceConfig c = Config("s");
  c.auto_restart = true;
  c.restart_interval = seconds(2);
  ASSERT_TRUE(Deploy(c).ok());
  engine_.Die(ContainerOf("s"), 1);
  loop_.RunPending();
  EXPECT_TRUE(observer_.Logged("s", "spawnd: [INFO] Restarting in 2s (attempt 1)"));
}

TEST_F(SupervisorTest, ZombieWhoseContainerVanishedGetsANewOneOnRevival) {
  Make();
  ASSERT_TRUE(Deploy(Config("v")).ok());
  ASSERT_TRUE(supervisor_->Stop("v").ok());
  loop_.RunPending();
  const std::string old_id = ContainerOf("v");
  ASSERT_TRUE(engine_.RemoveContainer(old_id, true).ok());  // someone ran docker rm
  ASSERT_TRUE(supervisor_->Restart("v").ok());
  loop_.RunPending();
  EXPECT_EQ(StateOf("v"), ServiceState::kRunning);
  EXPECT_NE(ContainerOf("v"), old_id);
  ExpectPoolAddsUp();
}

// ---- races, with engine calls held in a ManualExecutor ----

TEST_F(SupervisorTest, StopWhileTheContainerIsBeingCreatedKeepsItStoppedForARevival) {
  manual_ = true;
  Make();
  ASSERT_TRUE(supervisor_->Deploy({"r", Config("s"), TarWriter().Finish(), false, ""}).ok());
  // The recipe, the build and the image count: the create-and-start is queued, not run.
  RunUntilStarting("s");
  ASSERT_THAT(manual_executor_.PendingKeys(), Contains("s"));  // the create-and-start
  ASSERT_TRUE(supervisor_->Stop("s").ok());
  EXPECT_EQ(StateOf("s"), ServiceState::kZombie);
  Settle();  // the container is made and started, then stopped
  EXPECT_EQ(StateOf("s"), ServiceState::kZombie);
  auto containers = engine_.Containers();
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_FALSE(containers.begin()->second.running);
  EXPECT_EQ(ContainerOf("s"), containers.begin()->first);
  ExpectPoolAddsUp();
  ASSERT_TRUE(supervisor_->Restart("s").ok());
  Settle();
  EXPECT_EQ(StateOf("s"), ServiceState::kRunning);
  EXPECT_EQ(ContainerOf("s"), containers.begin()->first);
}

TEST_F(SupervisorTest, ReplaceWhileTheOldContainerIsBeingCreatedLeavesOnlyTheNewOne) {
  manual_ = true;
  Make();
  ASSERT_TRUE(supervisor_->Deploy({"r", Config("s"), TarWriter().Finish(), false, ""}).ok());
  RunUntilStarting("s");
  ASSERT_TRUE(Deploy(Config("s", 100), true).ok());  // settles everything
  EXPECT_EQ(StateOf("s"), ServiceState::kRunning);
  auto containers = engine_.Containers();
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(containers.begin()->first, ContainerOf("s"));
  EXPECT_EQ(containers.begin()->second.spec.memory_bytes, 100 * kMiB);
  ExpectPoolAddsUp();
}

TEST_F(SupervisorTest, ADieEventOfOurOwnRestartArrivingLateIsNotADeath) {
  Make();
  ServiceConfig c = Config("r");
  c.auto_restart = true;
  ASSERT_TRUE(Deploy(c).ok());
  ASSERT_TRUE(supervisor_->Restart("r").ok());
  loop_.RunPending();
  ASSERT_EQ(StateOf("r"), ServiceState::kRunning);
  const std::string id = ContainerOf("r");
  // The restart's die, delivered only now: the container runs, so nothing happens.
  engine_.EmitEvent(
      {EngineEvent::Kind::kDie, "die", id, 143, engine_.Containers()[id].spec.labels, 0});
  loop_.RunPending();
  EXPECT_EQ(StateOf("r"), ServiceState::kRunning);
  loop_.AdvanceBy(minutes(1));
  EXPECT_EQ(engine_.CountCalls("StartContainer"), 1u);
  EXPECT_EQ(Get("r")->restarts, 1);
}

TEST_F(SupervisorTest, ADeathRightAfterARestartIsNotMistakenForTheRestartsOwn) {
  manual_ = true;
  Make();
  ServiceConfig c = Config("r");
  c.auto_restart = true;
  c.restart_interval = seconds(3);
  ASSERT_TRUE(Deploy(c).ok());
  const std::string id = ContainerOf("r");
  ASSERT_TRUE(supervisor_->Restart("r").ok());
  manual_executor_.RunAll();  // the restart (its own die event) ...
  engine_.Die(id, 1);         // ... and a real crash just after
  Settle();
  EXPECT_EQ(StateOf("r"), ServiceState::kRestarting);
  EXPECT_EQ(Get("r")->exit_code, 1);
  loop_.AdvanceBy(seconds(3));
  Settle();
  EXPECT_EQ(StateOf("r"), ServiceState::kRunning);
  EXPECT_TRUE(engine_.Containers()[id].running);
  EXPECT_EQ(engine_.CountCalls("StartContainer"), 2u);  // one restart for one crash
}

TEST_F(SupervisorTest, ADieAfterTheRunsStartEventRestartsWithoutAnInspect) {
  Make();
  ServiceConfig c = Config("d");
  c.auto_restart = true;
  c.restart_interval = seconds(1);
  ASSERT_TRUE(Deploy(c).ok());
  const std::string id = ContainerOf("d");
  for (int death = 1; death <= 2; ++death) {
    loop_.AdvanceBy(minutes(20));  // up long enough that no death backs off
    const size_t inspects = engine_.CountCalls("InspectContainer");
    engine_.Die(id, 3);
    loop_.RunPending();
    EXPECT_EQ(StateOf("d"), ServiceState::kRestarting);
    EXPECT_EQ(Get("d")->exit_code, 3);
    EXPECT_EQ(engine_.CountCalls("InspectContainer"), inspects);  // the event said it all
    loop_.AdvanceBy(seconds(1));
    EXPECT_EQ(StateOf("d"), ServiceState::kRunning);
    EXPECT_EQ(Get("d")->restarts, death);
  }
}

TEST_F(SupervisorTest, AStaleDieOrOneOfAnotherContainerIsNotADeath) {
  Make();
  ServiceConfig c = Config("s");
  c.auto_restart = true;
  c.restart_interval = seconds(1);
  ASSERT_TRUE(Deploy(c).ok());
  const std::string id = ContainerOf("s");
  const auto labels = engine_.Containers()[id].spec.labels;
  const int64_t died = ToUnixNanos(loop_.WallNow());
  engine_.Die(id, 1);
  loop_.AdvanceBy(seconds(1));
  ASSERT_EQ(StateOf("s"), ServiceState::kRunning);
  const size_t inspects = engine_.CountCalls("InspectContainer");
  // The first run's die again (as replayed after a reconnection): older than this run's start.
  engine_.EmitEvent({EngineEvent::Kind::kDie, "die", id, 1, labels, died});
  loop_.RunPending();
  EXPECT_EQ(StateOf("s"), ServiceState::kRunning);
  EXPECT_EQ(engine_.CountCalls("InspectContainer"), inspects + 1);  // asked, and it runs
  // A die of another container of the service, stamped now.
  engine_.EmitEvent(
      {EngineEvent::Kind::kDie, "die", "other", 1, labels, ToUnixNanos(loop_.WallNow())});
  loop_.RunPending();
  EXPECT_EQ(StateOf("s"), ServiceState::kRunning);
  loop_.AdvanceBy(minutes(1));
  EXPECT_EQ(engine_.CountCalls("StartContainer"), 2u);
  EXPECT_EQ(Get("s")->restarts, 1);
}

TEST_F(SupervisorTest, TheKillOfOurOwnRestartReportedAfterItsAnswerIsAskedAbout) {
  Make();
  ServiceConfig c = Config("r");
  c.auto_restart = true;
  c.restart_interval = seconds(1);
  ASSERT_TRUE(Deploy(c).ok());
  const std::string id = ContainerOf("r");
  loop_.AdvanceBy(seconds(5));
  engine_.HoldEvents(true);  // the engine answers the restart before its stream says die, start
  ASSERT_TRUE(supervisor_->Restart("r").ok());
  loop_.RunPending();
  ASSERT_EQ(StateOf("r"), ServiceState::kRunning);
  const size_t inspects = engine_.CountCalls("InspectContainer");
  engine_.HoldEvents(false);  // die (stamped after the request, before the start), then start
  loop_.RunPending();
  EXPECT_EQ(engine_.CountCalls("InspectContainer"), inspects + 1);
  EXPECT_EQ(StateOf("r"), ServiceState::kRunning);
  EXPECT_EQ(Get("r")->restarts, 1);
  // Its start event came: a crash now is taken from its die alone.
  engine_.Die(id, 2);
  loop_.RunPending();
  EXPECT_EQ(StateOf("r"), ServiceState::kRestarting);
  EXPECT_EQ(Get("r")->exit_code, 2);
  EXPECT_EQ(engine_.CountCalls("InspectContainer"), inspects + 1);
}

TEST_F(SupervisorTest, OneServicesSlowEngineCallsDoNotHoldUpAnother) {
  manual_ = true;
  Make();
  ASSERT_TRUE(Deploy(Config("slow")).ok());
  ASSERT_TRUE(Deploy(Config("quick")).ok());
  ASSERT_TRUE(supervisor_->Stop("slow").ok());
  ASSERT_TRUE(supervisor_->Stop("quick").ok());
  // Run only quick's queue: its stop completes while slow's stop is still pending.
  EXPECT_THAT(manual_executor_.PendingKeys(), Contains("slow"));
  while (manual_executor_.RunNext("quick")) loop_.RunPending();
  EXPECT_FALSE(engine_.Containers()[ContainerOf("quick")].running);
  EXPECT_TRUE(engine_.Containers()[ContainerOf("slow")].running);
  Settle();
  EXPECT_FALSE(engine_.Containers()[ContainerOf("slow")].running);
}

TEST_F(SupervisorTest, ShutdownLeavesContainersAndDropsLateResults) {
  manual_ = true;
  Make();
  ASSERT_TRUE(Deploy(Config("keep")).ok());
  ASSERT_TRUE(supervisor_->Stop("keep").ok());
  supervisor_->Shutdown();
  supervisor_.reset();
  Settle();  // the queued stop still runs, its result finds nobody and is dropped
  EXPECT_EQ(engine_.Containers().size(), 1u);
  EXPECT_EQ(engine_.ActiveStreams(), 0);
}

// ---- more adoption ----

TEST_F(AdoptionTest, ADieOfAnAdoptedContainerIsAskedAbout) {
  const std::string id = Previous("a", /*running=*/true, /*auto_restart=*/true);
  Make();
  ASSERT_EQ(StateOf("a"), ServiceState::kRunning);
  const size_t inspects = engine_.CountCalls("InspectContainer");
  engine_.Die(id, 1);  // no start of this run was seen
  loop_.RunPending();
  EXPECT_EQ(engine_.CountCalls("InspectContainer"), inspects + 1);
  EXPECT_EQ(Get("a")->exit_code, 1);
  EXPECT_EQ(Get("a")->restarts, 1);  // restartInt 0: started again at once
  EXPECT_EQ(StateOf("a"), ServiceState::kRunning);
}

TEST_F(AdoptionTest, StaleAndMissingContainersAndStoppedServices) {
  // A record whose container id is not the labelled container's: that one is stale and removed,
  // and the service, having no container, is deployed again.
  Previous("moved", true, false);
  store_.records["moved"].container_id = "gone";
  // Its container vanished: deployed again.
  const std::string vanished = Previous("vanished", false, false);
  ASSERT_TRUE(engine_.RemoveContainer(vanished, true).ok());
  // Stopped by the user, but its container still runs (crash before the stop went out).
  const std::string stopped = Previous("stopped", true, false);
  store_.records["stopped"].stopped = true;
  store_.records["stopped"].reserved = false;
  store_.records["stopped"].zombie_deadline_unix_ns =
      ToUnixNanos(loop_.WallNow() + std::chrono::seconds(30));
  Make();
  EXPECT_EQ(StateOf("moved"), ServiceState::kRunning);
  EXPECT_NE(ContainerOf("moved"), "gone");
  EXPECT_EQ(StateOf("vanished"), ServiceState::kRunning);
  EXPECT_NE(ContainerOf("vanished"), vanished);
  EXPECT_EQ(StateOf("stopped"), ServiceState::kZombie);
  EXPECT_FALSE(engine_.Containers()[stopped].running);
  int of_moved = 0;
  for (const auto& [id, c] : engine_.Containers())
    of_moved += c.spec.labels.count(kServiceLabel) && c.spec.labels.at(kServiceLabel) == "moved";
  EXPECT_EQ(of_moved, 1);
  ExpectPoolAddsUp();
  // The zombie deadline survived the restart (wall clock): 30 s left, not a fresh 2 minutes.
  loop_.AdvanceBy(seconds(30));
  EXPECT_FALSE(Get("stopped").has_value());
  EXPECT_EQ(engine_.Containers().count(stopped), 0u);
}

TEST_F(AdoptionTest, LostStateIsRecoveredFromLabels) {
  const std::string a = Previous("a", true, true);
  const std::string b = Previous("b", false, false, 2);
  store_.records.clear();  // the whole state directory is gone
  Make();
  EXPECT_EQ(StateOf("a"), ServiceState::kRunning);
  EXPECT_EQ(ContainerOf("a"), a);
  EXPECT_EQ(engine_.Containers()[a].starts, 1);
  EXPECT_EQ(StateOf("b"), ServiceState::kZombie);
  EXPECT_EQ(store_.records.count("a"), 1u);  // written back
  ExpectPoolAddsUp();
}

TEST_F(AdoptionTest, AdoptedDeadAutoRestartServiceThatNoLongerFitsBecomesAZombie) {
  config_.mem_alloc_bytes = 100 * kMiB;
  Previous("a", true, false);
  Previous("b", false, true, 1);
  Make();
  EXPECT_EQ(StateOf("a"), ServiceState::kRunning);
  EXPECT_EQ(StateOf("b"), ServiceState::kZombie);
  EXPECT_TRUE(observer_.Logged("b", "Insufficient resources"));
  ExpectPoolAddsUp();
}

TEST_F(AdoptionTest, AdoptedUnreservedServiceIsRestartedOnlyIfItFitsThen) {
  config_.mem_alloc_bytes = 100 * kMiB;
  Previous("a", true, false);
  const std::string b = Previous("b", true, true);  // does not fit: runs unreserved
  Make();
  EXPECT_FALSE(Get("b")->reserved);
  EXPECT_GE(supervisor_->Pool().free_mem_bytes, 0);
  engine_.Die(b, 1);
  loop_.RunPending();
  EXPECT_EQ(StateOf("b"), ServiceState::kZombie);  // a still holds the pool
  EXPECT_GE(supervisor_->Pool().free_mem_bytes, 0);
}

// ---- random interleavings with engine calls held and run out of order across services ----

TEST_F(SupervisorTest, RandomInterleavingsWithHeldEngineCallsNeverOversubscribeOrLeak) {
  manual_ = true;
  Make();
  RandomSoak(7, {"a", "b", "c", "d", "e"}, 4000, 10);
  if (HasFatalFailure()) return;
  // Let everything finish and every zombie expire: no container outlives its service.
  engine_.HoldBuilds(false);
  while (engine_.PendingBuilds()) engine_.CompleteBuild(0, Status::Ok());
  for (int i = 0; i < 10; ++i) {
    Settle();
    loop_.AdvanceBy(minutes(10));
  }
  Settle();
  ExpectPoolAddsUp();
  std::set<std::string> known;
  for (const auto& s : supervisor_->Services()) known.insert(s.container_id);
  for (const auto& [id, c] : engine_.Containers()) {
    EXPECT_TRUE(known.count(id)) << "container " << id << " (" << c.spec.name << ") leaked";
  }
  for (const auto& s : supervisor_->Services()) {
    EXPECT_NE(s.state, ServiceState::kZombie) << s.name << " should have been purged";
  }
}

// ---- confinement and services' credentials ----

TEST_F(SupervisorTest, EveryContainerIsConfined) {
  Make();
  ServiceConfig limited = Config("limited");
  limited.pids_limit = 50;
  ASSERT_TRUE(Deploy(Config("plain")).ok());
  ASSERT_TRUE(Deploy(limited).ok());
  std::map<std::string, ContainerSpec> specs;
  for (const auto& [id, c] : engine_.Containers()) specs[c.spec.labels.at(kServiceLabel)] = c.spec;
  for (const auto& [name, spec] : specs) {
    EXPECT_TRUE(spec.no_new_privileges) << name;
    EXPECT_FALSE(spec.read_only_rootfs) << name;
    EXPECT_EQ(spec.user, "") << name;
  }
  EXPECT_EQ(specs["plain"].pids_limit, 1024);    // spawnd.yml's pidsLimit, by default 1024
  EXPECT_EQ(specs["limited"].pids_limit, 50);    // deploy.yml's own
  EXPECT_TRUE(supervisor_->Warnings().empty());  // the engine kept the limit
}

TEST_F(SupervisorTest, SpawndsPidsLimitIsTheDefault) {
  config_.pids_limit = 300;
  Make();
  ASSERT_TRUE(Deploy(Config("plain")).ok());
  EXPECT_EQ(engine_.Containers().begin()->second.spec.pids_limit, 300);
}

TEST_F(SupervisorTest, ReadOnlyServiceWithAUserGetsItsSecretsAsThatUser) {
  Make();
  ServiceConfig c = Config("ro");
  c.read_only = true;
  c.user = "1000:1001";
  proto::DeployRequest request{"r", c, TarWriter().Finish(), false, "the entity"};
  ASSERT_TRUE(supervisor_->Deploy(request).ok());
  Settle();
  ASSERT_EQ(StateOf("ro"), ServiceState::kRunning);
  const ContainerSpec spec = engine_.Containers().begin()->second.spec;
  EXPECT_TRUE(spec.read_only_rootfs);
  EXPECT_EQ(spec.user, "1000:1001");
  EXPECT_EQ(secrets_.services["ro"].uid, 1000);
  EXPECT_EQ(secrets_.services["ro"].gid, 1001);
  EXPECT_EQ(engine_.CountCalls("PutArchive"), 0u);  // a read-only root takes nothing in
}

TEST_F(SupervisorTest, ServicesIdentityAndCaReachEveryServiceAndNoLabel) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("supervisor-identity-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "services.password") << "services-password-bytes\n";
  std::ofstream(dir / "ca.crt") << "ca-bytes";
  config_.service_username = "sp-svc:test/sp";
  config_.service_password_file = (dir / "services.password").string();
  config_.container_broker = "ssl://broker:8883";
  config_.ca_file = (dir / "ca.crt").string();
  Make();
  proto::DeployRequest request{"r", Config("svc"), TarWriter().Finish(), false, "entity-bytes"};
  ASSERT_TRUE(supervisor_->Deploy(request).ok());
  Settle();
  ASSERT_EQ(StateOf("svc"), ServiceState::kRunning);
  EXPECT_EQ(secrets_.services["svc"].files,
            (ServiceSecrets::Files{{"broker.password", "services-password-bytes\n"},
                                   {"ca.pem", "ca-bytes"},
                                   {"entity.key", "entity-bytes"}}));
  const ContainerSpec spec = engine_.Containers().begin()->second.spec;
  EXPECT_THAT(spec.env, Contains("SPAWNPOINT_BROKER_USERNAME=sp-svc:test/sp"));
  EXPECT_THAT(spec.env,
              Contains("SPAWNPOINT_BROKER_PASSWORD_FILE=/run/spawnpoint/broker.password"));
  EXPECT_THAT(spec.env, Contains("SPAWNPOINT_BROKER_CA_FILE=/run/spawnpoint/ca.pem"));
  for (const char* secret : {"services-password-bytes", "entity-bytes", "ca-bytes"}) {
    for (const auto& [key, value] : spec.labels) {
      EXPECT_THAT(value, Not(HasSubstr(secret))) << key;
    }
    for (const auto& e : spec.env) EXPECT_THAT(e, Not(HasSubstr(secret)));
  }
  std::filesystem::remove_all(dir);
}

TEST_F(SupervisorTest, AnUnreadableServicesPasswordKeepsTheServiceFromStarting) {
  config_.service_username = "sp-svc:test/sp";
  config_.service_password_file = "/nonexistent/services.password";
  Make();
  ASSERT_TRUE(Deploy(Config("svc")).ok());
  EXPECT_EQ(StateOf("svc"), ServiceState::kZombie);
  EXPECT_EQ(engine_.CountCalls("CreateContainer"), 0u);
  EXPECT_TRUE(observer_.Logged("svc", "servicePasswordFile"));
}

TEST_F(SupervisorTest, SecretsAreWrittenAgainOnRestartAndRemovedOnPurge) {
  Make();
  ServiceConfig c = Config("svc");
  c.auto_restart = true;
  proto::DeployRequest request{"r", c, TarWriter().Finish(), false, "entity-bytes"};
  ASSERT_TRUE(supervisor_->Deploy(request).ok());
  Settle();
  const std::string id = ContainerOf("svc");
  secrets_.services.clear();  // e.g. a state directory restored without them
  engine_.Die(id, 1);
  loop_.AdvanceBy(seconds(1));
  Settle();
  ASSERT_EQ(StateOf("svc"), ServiceState::kRunning);
  EXPECT_EQ(ContainerOf("svc"), id);  // the same container, started again
  ASSERT_EQ(secrets_.services.count("svc"), 1u);
  EXPECT_EQ(secrets_.services["svc"].files.at("entity.key"), "entity-bytes");

  ASSERT_TRUE(supervisor_->Stop("svc").ok());
  Settle();
  EXPECT_EQ(secrets_.services.count("svc"), 1u);  // a zombie may be revived
  loop_.AdvanceBy(config_.zombie_period + seconds(1));
  Settle();
  EXPECT_TRUE(supervisor_->Services().empty());
  EXPECT_EQ(secrets_.services.count("svc"), 0u);
}

TEST_F(SupervisorTest, AnEngineThatDiscardsPidsLimitsIsReportedOnce) {
  engine_.EnforcePidsLimit(false);
  Make();
  ASSERT_TRUE(Deploy(Config("a")).ok());
  ASSERT_TRUE(Deploy(Config("b")).ok());
  ASSERT_EQ(supervisor_->Warnings().size(), 1u);
  EXPECT_THAT(supervisor_->Warnings()[0], HasSubstr("pidsLimit is not enforced"));
  EXPECT_THAT(supervisor_->Warnings()[0], HasSubstr("asked 1024"));
  EXPECT_EQ(engine_.CountCalls("InspectContainer"), 1u);  // read back once, not per container
  EXPECT_EQ(StateOf("a"), ServiceState::kRunning);        // services still run
}

TEST_F(SupervisorTest, NothingUncheckedReachesTheEngine) {
  Make();
  ServiceConfig image = Config("image");
  image.image = "busybox\nRUN touch /x";
  ServiceConfig apt = Config("apt");
  apt.apt_requires = {"jq", "jq; touch x"};
  ServiceConfig user = Config("user");
  user.user = "root";
  for (const auto& [c, key] : {std::pair{image, "image: "}, std::pair{apt, "aptRequires[1]: "},
                               std::pair{user, "user: "}}) {
    Status s = Deploy(c);
    EXPECT_EQ(s.code(), Code::kBadRequest) << c.name;
    EXPECT_THAT(s.message(), HasSubstr(key));
  }
  EXPECT_TRUE(supervisor_->Services().empty());
  EXPECT_EQ(engine_.CountCalls("Build"), 0u);
}

}  // namespace
}  // namespace spawn
