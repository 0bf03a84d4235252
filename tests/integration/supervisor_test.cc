// The supervisor on the real engine: CurlDockerEngine, RealEventLoop on its own thread,
// ThreadedExecutor and FileStateStore in a temp dir. Services use host networking and the busybox
// test image (never pulled). Each test uses its own spawnpoint path and removes its containers.
#include "spawn/core/supervisor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "spawn/common/tar.h"
#include "spawn/common/units.h"
#include "spawn/core/executor.h"
#include "spawn/core/service_secrets.h"
#include "spawn/core/state_store.h"
#include "spawn/engine/curl_docker_engine.h"

namespace spawn {
namespace {

using namespace std::chrono_literals;
using proto::ServiceState;
namespace fs = std::filesystem;

// Called on the loop thread; read by the test thread.
class WaitingObserver : public SupervisorObserver {
 public:
  void OnServiceChanged(const ServiceSnapshot& s) override {
    std::lock_guard lock(mu_);
    latest_[s.name] = s;
    cv_.notify_all();
  }
  void OnServicePurged(const std::string& name) override {
    std::lock_guard lock(mu_);
    latest_.erase(name);
    cv_.notify_all();
  }
  void OnServiceLog(const std::string& name, const std::string& stream,
                    const std::string& line) override {
    std::lock_guard lock(mu_);
    logs_[name].push_back(stream + ": " + line);
    cv_.notify_all();
  }
  // Waits (up to a generous bound that only a failure reaches) until `done` holds.
  bool WaitFor(
      const std::function<bool(const std::map<std::string, ServiceSnapshot>&,
                               const std::map<std::string, std::vector<std::string>>&)>& done) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 120s, [&] { return done(latest_, logs_); });
  }
  std::vector<std::string> Logs(const std::string& name) {
    std::lock_guard lock(mu_);
    return logs_[name];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, ServiceSnapshot> latest_;
  std::map<std::string, std::vector<std::string>> logs_;
};

size_t CountLines(const std::vector<std::string>& lines, const std::string& text) {
  return static_cast<size_t>(std::count(lines.begin(), lines.end(), text));
}

class SupervisorIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(engine_.Connect().ok());
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    config_.path = "test/sup-" + std::to_string(getpid()) + "-" + test;
    config_.alias = "sup" + std::to_string(getpid());
    config_.container_broker = "tcp://127.0.0.1:1883";
    config_.mem_alloc_bytes = 1024 * kMiB;
    config_.cpu_shares = 1024;
    config_.allow_host_net = true;
    config_.default_image = SPAWN_TEST_IMAGE;
    state_dir_ = fs::temp_directory_path() / ("spawn-sup-" + std::to_string(getpid()) + "-" + test);
    fs::remove_all(state_dir_);
    config_.state_dir = state_dir_.string();
    loop_thread_ = std::thread([this] { loop_.Run(); });
  }

  void TearDown() override {
    if (supervisor_) OnLoop([&] { supervisor_.reset(); });
    executor_.reset();
    loop_.Stop();
    loop_thread_.join();
    auto containers = engine_.ListContainers(kPathLabel, config_.path);
    if (containers.ok()) {
      for (const auto& c : *containers) engine_.RemoveContainer(c.id, true).IgnoreError();
    }
    fs::remove_all(state_dir_);
  }

  // Runs `fn` on the loop thread and waits for it.
  template <typename Fn>
  auto OnLoop(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    loop_.Post([&task] { task(); });
    return result.get();
  }

  // A new supervisor over the same state dir, as a restarted spawnd would make.
  void StartSupervisor() {
    store_ = MakeFileStateStore(config_.state_dir);
    secrets_ = MakeFileServiceSecrets(config_.state_dir);
    executor_ = std::make_unique<ThreadedExecutor>();
    Status started = OnLoop([&] {
      supervisor_ = MakeSupervisor(config_, engine_, loop_, *store_, *secrets_, *executor_,
                                   observer_, [] { return 1.0; });
      return supervisor_->Start();
    });
    ASSERT_TRUE(started.ok()) << started.message();
  }

  // The supervisor and its executor are dropped as in a crash: no Stop, containers keep running.
  void CrashSupervisor() {
    OnLoop([&] { supervisor_.reset(); });
    executor_.reset();
  }

  static ServiceConfig Service(const std::string& name) {
    ServiceConfig c;
    c.name = name;
    c.image = SPAWN_TEST_IMAGE;
    c.run = {"sh", "-c", "echo up; sleep 1000"};
    c.mem_alloc_bytes = 32 * kMiB;
    c.cpu_shares = 64;
    c.use_host_net = true;
    c.auto_restart = true;
    c.restart_interval = 1s;
    c.stop_timeout = 1s;
    return c;
  }

  void Deploy(const ServiceConfig& c) {
    proto::DeployRequest request;
    request.request_id = c.name;
    request.config = c;
    request.archive = TarWriter().Finish();
    Status deployed = OnLoop([&] { return supervisor_->Deploy(request); });
    ASSERT_TRUE(deployed.ok()) << deployed.message();
  }

  bool WaitRunning(const std::vector<std::string>& names, int64_t restarts = 0) {
    return observer_.WaitFor([&](const auto& latest, const auto&) {
      for (const auto& name : names) {
        auto it = latest.find(name);
        if (it == latest.end() || it->second.state != ServiceState::kRunning ||
            it->second.restarts < restarts)
          return false;
      }
      return true;
    });
  }

  std::map<std::string, ServiceSnapshot> Snapshots() {
    std::map<std::string, ServiceSnapshot> out;
    for (const auto& s : OnLoop([&] { return supervisor_->Services(); })) out[s.name] = s;
    return out;
  }

  SpawndConfig config_;
  fs::path state_dir_;
  CurlDockerEngine engine_{"/var/run/docker.sock"};
  RealEventLoop loop_;
  std::thread loop_thread_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<ServiceSecrets> secrets_;
  std::unique_ptr<ThreadedExecutor> executor_;
  WaitingObserver observer_;
  std::unique_ptr<Supervisor> supervisor_;
};

TEST_F(SupervisorIntegrationTest, AKilledServiceComesBackAfterRestartInt) {
  StartSupervisor();
  Deploy(Service("phoenix"));
  ASSERT_TRUE(WaitRunning({"phoenix"})) << ::testing::PrintToString(observer_.Logs("phoenix"));
  ASSERT_TRUE(observer_.WaitFor([](const auto&, const auto& logs) {
    auto it = logs.find("phoenix");
    return it != logs.end() && CountLines(it->second, "stdout: up") >= 1;
  }));
  const std::string id = Snapshots().at("phoenix").container_id;
  auto info = engine_.InspectContainer(id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->labels.at(kServiceLabel), "phoenix");
  EXPECT_EQ(info->labels.at(kPathLabel), config_.path);
  EXPECT_EQ(info->memory_bytes, 32 * kMiB);
  EXPECT_EQ(info->cpu_shares, 64);

  ASSERT_TRUE(engine_.KillContainer(id, "KILL").ok());
  ASSERT_TRUE(WaitRunning({"phoenix"}, 1)) << ::testing::PrintToString(observer_.Logs("phoenix"));
  EXPECT_EQ(Snapshots().at("phoenix").container_id, id);  // the same container, started again
  EXPECT_EQ(Snapshots().at("phoenix").exit_code, 137);
  auto again = engine_.InspectContainer(id);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->running);
  EXPECT_THAT(observer_.Logs("phoenix"),
              ::testing::Contains("spawnd: [INFO] Restarting in 1s (attempt 1)"));
  ASSERT_TRUE(observer_.WaitFor([](const auto&, const auto& logs) {
    return CountLines(logs.at("phoenix"), "stdout: up") >= 2;  // the new run's output followed
  }));
}

TEST_F(SupervisorIntegrationTest, ANewSupervisorAdoptsTheRunningContainersOfACrashedOne) {
  StartSupervisor();
  const std::vector<std::string> names = {"one", "two", "three"};
  for (const auto& name : names) Deploy(Service(name));
  ASSERT_TRUE(WaitRunning(names));
  std::map<std::string, std::string> ids, started;
  for (const auto& [name, s] : Snapshots()) {
    ids[name] = s.container_id;
    started[name] = engine_.InspectContainer(s.container_id).value().started_at;
  }
  const PoolSnapshot pool_before = OnLoop([&] { return supervisor_->Pool(); });

  CrashSupervisor();
  StartSupervisor();
  ASSERT_TRUE(WaitRunning(names));
  auto after = Snapshots();
  ASSERT_EQ(after.size(), 3u);
  for (const auto& name : names) {
    EXPECT_EQ(after.at(name).container_id, ids.at(name)) << name;
    EXPECT_EQ(after.at(name).restarts, 0) << name;
    auto info = engine_.InspectContainer(ids.at(name));
    ASSERT_TRUE(info.ok());
    EXPECT_TRUE(info->running);
    EXPECT_EQ(info->started_at, started.at(name)) << name << " was restarted";
  }
  const PoolSnapshot pool_after = OnLoop([&] { return supervisor_->Pool(); });
  EXPECT_EQ(pool_after.free_mem_bytes, pool_before.free_mem_bytes);
  EXPECT_EQ(pool_after.free_cpu_shares, pool_before.free_cpu_shares);

  // Still supervised: a later death is restarted.
  ASSERT_TRUE(engine_.KillContainer(ids.at("two"), "KILL").ok());
  ASSERT_TRUE(WaitRunning({"two"}, 1)) << ::testing::PrintToString(observer_.Logs("two"));
  EXPECT_EQ(Snapshots().at("two").container_id, ids.at("two"));
  EXPECT_EQ(Snapshots().at("one").restarts, 0);
}

}  // namespace
}  // namespace spawn
