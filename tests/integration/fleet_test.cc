// The fleet on three real spawnds (two of them running the reconciler, so two reconcile at once)
// on the real broker and engine: `replicas: 3` lands one per spawnpoint, `require` restricts
// where, a SIGKILLed spawnd's replica runs elsewhere after rescheduleAfter and the surplus stops
// when it returns, and a broken version's rolling update halts and rolls back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "harness.h"
#include "spawn/bus/paho_bus.h"
#include "spawn/fleet/fleet_client.h"
#include "spawn/proto/topics.h"

namespace spawn::testing {
namespace {

using fleet::FleetView;
using std::chrono::seconds;

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string id = std::to_string(getpid());
    base_ = "fleettest-" + id;
    // a and b reconcile; c does not. a and b are in zone x, c in zone y.
    for (const std::string name : {"a", "b", "c"}) {
      SpawndOptions o;
      o.path = base_ + "/f" + name + id;
      o.metadata_yaml = name == "c" ? "zone: y\n" : "zone: x\n";
      if (name != "c") o.extra_yaml = "fleet: {base: " + base_ + "}\n";
      spawnds_.push_back(std::make_unique<SpawndProcess>(o));
    }
    for (auto& s : spawnds_) ASSERT_TRUE(s->StartAndWaitOnline(probe_));
    BusOptions options;
    options.uri = kDefaultBroker;
    bus_ = MakePahoBus(options);
    client_ = std::make_unique<fleet::FleetClient>(*bus_);
    ASSERT_TRUE(bus_->Connect().ok());
  }

  void TearDown() override {
    for (const std::string set : {"web", "api", "job"}) {
      for (const std::string& topic : {topics::FleetSet(base_, set), topics::FleetFiles(base_, set),
                                       topics::FleetStatus(base_, set)})
        probe_.Publish(topic, "", true);
    }
  }

  // Writes a deploy.yml of busybox replicas and applies it with spawnctl; the exit code.
  int Apply(const std::string& name, const std::string& extra, bool wait = true,
            const std::string& run = "") {
    const std::string yaml =
        "name: " + name + "\nimage: " + SPAWN_TEST_IMAGE +
        "\nrun: " + (run.empty() ? "[sh, -c, 'echo hello; while true; do sleep 1; done']" : run) +
        "\nmemAlloc: 64M\ncpuShares: 128\nuseHostNet: true\nstopTimeout: 1s\n" + extra;
    const auto file = home_.Write(name + ".yml", yaml);
    std::vector<std::string> args = {"fleet", "apply", "-u", base_, "-c", file.string()};
    if (wait) args.insert(args.end(), {"--wait", "--wait-for", "90s"});
    const CliRun run_result = RunSpawnctl(args, home_.str());
    last_err_ = run_result.err;
    return run_result.exit_code;
  }

  FleetView Read() {
    auto view = client_->Read(base_, seconds(10), true);
    EXPECT_TRUE(view.ok()) << view.status().message();
    return view.ok() ? *view : FleetView{};
  }

  // Live (not zombie) replicas of `set` on spawnpoints that are online: replica -> paths.
  std::map<int64_t, std::vector<std::string>> Live(const FleetView& v, const std::string& set) {
    std::map<int64_t, std::vector<std::string>> out;
    for (const auto& [path, sp] : v.spawnpoints) {
      if (!sp.online) continue;
      for (const auto& [name, svc] : sp.services) {
        auto k = fleet::ReplicaIndex(set, name);
        if (k && svc.labels && svc.labels->set == set && svc.state == proto::ServiceState::kRunning)
          out[*k].push_back(path);
      }
    }
    return out;
  }

  // Polls the base until `done` holds (false after `limit`).
  bool Until(const std::function<bool(const FleetView&)>& done, seconds limit = seconds(90)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done(Read())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return false;
  }

  bool ExactlyOneEach(const FleetView& v, const std::string& set, size_t n) {
    auto live = Live(v, set);
    if (live.size() != n) return false;
    for (const auto& [k, paths] : live) {
      if (k >= static_cast<int64_t>(n) || paths.size() != 1) return false;
    }
    return true;
  }

  Probe probe_;
  TempDir home_{"fleet-test"};
  std::string base_;
  std::vector<std::unique_ptr<SpawndProcess>> spawnds_;
  std::unique_ptr<Bus> bus_;
  std::unique_ptr<fleet::FleetClient> client_;
  std::string last_err_;
};

TEST_F(FleetTest, PlacesRequiresReplacesStopsTheSurplusAndRollsBackABrokenVersion) {
  // replicas: 3, spread (the default): one on each spawnpoint; two reconcilers, exactly three.
  ASSERT_EQ(Apply("web", "replicas: 3\nplacement: {rescheduleAfter: 3s}\n"), 0) << last_err_;
  ASSERT_TRUE(Until([&](const FleetView& v) { return ExactlyOneEach(v, "web", 3); }));
  {
    std::set<std::string> paths;
    for (const auto& [k, p] : Live(Read(), "web")) paths.insert(p.front());
    EXPECT_EQ(paths.size(), 3u);
  }

  // require: only c is in zone y; the second replica stays pending, saying why.
  ASSERT_EQ(Apply("api", "replicas: 2\nplacement: {require: {zone: y}}\n", false), 0) << last_err_;
  ASSERT_TRUE(Until([&](const FleetView& v) {
    auto st = v.statuses.find("api");
    return Live(v, "api").size() == 1 && st != v.statuses.end() && st->second.pending.size() == 1;
  }));
  EXPECT_EQ(Live(Read(), "api").begin()->second.front(), spawnds_[2]->path());
  EXPECT_EQ(Read().statuses.at("api").pending[0].reason,
            "every spawnpoint under " + base_ +
                " that may take one runs a replica of api already (spread)");

  // SIGKILL the spawnd of job-0: after rescheduleAfter (3s) it runs elsewhere, three in all.
  ASSERT_EQ(Apply("job", "replicas: 3\nplacement: {spread: false, rescheduleAfter: 3s}\n"), 0)
      << last_err_;
  const std::string victim = Live(Read(), "job").at(0).front();
  SpawndProcess* killed = nullptr;
  for (auto& s : spawnds_) {
    if (s->path() == victim) killed = s.get();
  }
  ASSERT_NE(killed, nullptr);
  killed->Kill(SIGKILL);
  ASSERT_TRUE(Until([&](const FleetView& v) {
    auto live = Live(v, "job");
    if (live.size() != 3) return false;
    for (const auto& [k, paths] : live) {
      for (const auto& p : paths)
        if (p == victim) return false;
    }
    return true;
  })) << "job-0 was not placed elsewhere";
  // It returns with its old copy still running: that copy stops, and exactly three run.
  ASSERT_TRUE(killed->StartAndWaitOnline(probe_));
  ASSERT_TRUE(Until([&](const FleetView& v) {
    if (!ExactlyOneEach(v, "job", 3)) return false;
    auto sp = v.spawnpoints.find(victim);
    if (sp == v.spawnpoints.end()) return false;
    auto old = sp->second.services.find("job-0");
    return old != sp->second.services.end() && old->second.state == proto::ServiceState::kZombie;
  })) << "the returning spawnpoint's copy of job-0 did not stop";
  ASSERT_TRUE(Until([&](const FleetView& v) { return ExactlyOneEach(v, "web", 3); }));

  // A broken version: the first replaced replica dies, the rollout halts (exit 1) and it goes back.
  EXPECT_EQ(
      Apply("web", "replicas: 3\nplacement: {rescheduleAfter: 3s}\n", true, "[sh, -c, 'exit 3']"),
      1)
      << last_err_;
  EXPECT_THAT(last_err_, ::testing::HasSubstr("rollout of generation 2 failed"));
  ASSERT_TRUE(Until([&](const FleetView& v) {
    if (!ExactlyOneEach(v, "web", 3)) return false;
    for (const auto& [path, sp] : v.spawnpoints) {
      for (const auto& [name, svc] : sp.services) {
        if (fleet::ReplicaIndex("web", name) && svc.labels &&
            svc.state == proto::ServiceState::kRunning && svc.labels->generation != 1)
          return false;
      }
    }
    return true;
  })) << "web did not go back to generation 1";
  EXPECT_EQ(Read().statuses.at("web").rollout, fleet::RolloutState::kFailed);

  // fleet ls shows it all.
  const CliRun ls = RunSpawnctl({"fleet", "ls", "-u", base_}, home_.str());
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_THAT(ls.out,
              ::testing::HasSubstr("web  generation 2  desired 3  running 3  rollout failed"));
  EXPECT_THAT(ls.out, ::testing::HasSubstr("api-1  pending: "));
}

}  // namespace
}  // namespace spawn::testing
