// The supervisor on fakes (engine, clock, state store, secrets), shared by its test files: the
// SupervisorTest fixture (an inline executor, or with manual_ a ManualExecutor whose engine calls
// wait until the test runs them) and AdoptionTest, which plants an earlier spawnd's containers.
#pragma once

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
#include "spawn/core/supervisor.h"
#include "spawn/engine/fake_docker_engine.h"

namespace spawn::core_testing {

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

}  // namespace spawn::core_testing
