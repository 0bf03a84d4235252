// Randomized runs: spawnpoints die and return, sets are scaled, spawnpoints answer 503; after every
// event the fleet converges to exactly N live replicas per set, each replica once. And two
// reconcilers, one seeing the heartbeats a step late, converge on exactly N too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "fake_fleet.h"
#include "spawn/fleet/reconciler.h"

namespace spawn::fleet {
namespace {

constexpr Duration kSecond = std::chrono::seconds(1);
constexpr int kHosts = 6;

struct Run {
  FakeFleet fleet{"site"};
  std::vector<std::unique_ptr<Reconciler>> reconcilers;
  FleetView lagged;  // what the late reconciler sees: the view of the step before

  explicit Run(int count) {
    for (int i = 0; i < count; ++i)
      reconcilers.push_back(std::make_unique<Reconciler>(ReconcilerOptions{"site"}));
    for (int i = 0; i < kHosts; ++i) fleet.Add("h" + std::to_string(i), 1024, 4096);
    lagged = fleet.View();
  }

  void Step() {
    const FleetView now = fleet.View();
    for (size_t i = 0; i < reconcilers.size(); ++i) {
      Decisions d = reconcilers[i]->Reconcile(i == 0 ? now : lagged, fleet.now());
      for (const auto& s : d.statuses) fleet.Publish(s);
      for (const auto& name : d.cleared) fleet.Remove(name);
      for (const auto& reply : fleet.Execute(d.actions))
        reconcilers[i]->OnReply(reply, fleet.now());
    }
    lagged = now;
    fleet.Advance(kSecond);
  }
};

// Exactly `n` live replicas of `set` on living spawnpoints, replicas 0..n-1, each once; with
// spread, on distinct spawnpoints.
void ExpectExactly(const FakeFleet& fleet, const std::string& set, int64_t n, bool spread,
                   const std::string& when) {
  const auto replicas = fleet.Replicas(set);
  ASSERT_EQ(static_cast<int64_t>(replicas.size()), n) << set << " " << when;
  std::set<std::string> paths;
  for (int64_t k = 0; k < n; ++k) {
    auto it = replicas.find(k);
    ASSERT_NE(it, replicas.end()) << set << "-" << k << " " << when;
    ASSERT_EQ(it->second.size(), 1u) << set << "-" << k << " runs twice " << when;
    if (spread) {
      EXPECT_TRUE(paths.insert(it->second[0]).second) << set << "-" << k << " " << when;
    }
  }
}

void RandomRun(int reconcilers, unsigned seed) {
  Run run(reconcilers);
  std::mt19937 rng(seed);
  FleetSpec web = TestSet("web", 2);  // spread
  web.placement.reschedule_after = std::chrono::seconds(10);
  FleetSpec api = TestSet("api", 3);  // packed
  api.placement.spread = false;
  api.placement.reschedule_after = std::chrono::seconds(10);
  run.fleet.Apply(web);
  run.fleet.Apply(api);
  std::set<int> dead;
  for (int event = 0; event < 60; ++event) {
    std::string what;
    const int host = static_cast<int>(rng() % kHosts);
    const std::string alias = "h" + std::to_string(host);
    switch (rng() % 4) {
      case 0:  // a death, keeping at least three alive
        if (!dead.count(host) && dead.size() < kHosts - 3) {
          run.fleet.Kill(alias);
          dead.insert(host);
          what = "kill " + alias;
        }
        break;
      case 1:  // a return
        if (dead.count(host)) {
          run.fleet.Revive(alias);
          dead.erase(host);
          what = "revive " + alias;
        }
        break;
      case 2:  // a scale change, always within what three spawnpoints hold
        web.replicas = rng() % 4;
        api.replicas = rng() % 6;
        run.fleet.Apply(web);
        run.fleet.Apply(api);
        what = "scale web " + std::to_string(web.replicas) + " api " + std::to_string(api.replicas);
        break;
      case 3:  // a spawnpoint that answers 503 for a while
        run.fleet.host(alias).refuse = true;
        for (int i = 0; i < 3; ++i) run.Step();
        run.fleet.host(alias).refuse = false;
        what = "503 from " + alias;
        break;
    }
    for (int i = 0; i < 40; ++i) run.Step();
    const std::string when =
        "after event " + std::to_string(event) + " (" + what + "), seed " + std::to_string(seed);
    ExpectExactly(run.fleet, "web", web.replicas, true, when);
    ExpectExactly(run.fleet, "api", api.replicas, false, when);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(ReconcilerRandomTest, DeathsReturnsScalingAnd503sAlwaysConvergeToExactlyN) {
  for (unsigned seed : {1u, 2u, 3u, 4u, 5u}) RandomRun(1, seed);
}

TEST(ReconcilerRandomTest, TwoReconcilersWithSkewedViewsConvergeToExactlyN) {
  for (unsigned seed : {11u, 12u, 13u, 14u, 15u}) RandomRun(2, seed);
}

}  // namespace
}  // namespace spawn::fleet
