// The reconciler's rules (reconciler.h), each on scripted spawnpoints (FakeFleet) and a fake
// clock.
#include "spawn/fleet/reconciler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_fleet.h"

namespace spawn::fleet {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr Duration kSecond = std::chrono::seconds(1);

class ReconcilerTest : public ::testing::Test {
 protected:
  ReconcilerTest() : fleet_("site"), r_(ReconcilerOptions{"site"}) {}

  // One pass: decide, publish the statuses, carry the actions out, feed back the replies.
  Decisions Step(Reconciler& r) {
    Decisions d = r.Reconcile(fleet_.View(), fleet_.now());
    for (const auto& s : d.statuses) fleet_.Publish(s);
    for (const auto& name : d.cleared) fleet_.Remove(name);
    for (const auto& reply : fleet_.Execute(d.actions)) r.OnReply(reply, fleet_.now());
    return d;
  }
  // Passes a second apart until one decides nothing (at most `max`).
  int Settle(int max = 30) {
    for (int i = 0; i < max; ++i) {
      Decisions d = Step(r_);
      fleet_.Advance(kSecond);
      if (d.actions.empty() && d.statuses.empty()) return i;
    }
    return max;
  }
  FleetStatus Status(const std::string& name) { return fleet_.View().statuses.at(name); }
  // Replica -> the one path it runs on; fails the test if any runs twice.
  std::map<int64_t, std::string> Placement(const std::string& set) {
    std::map<int64_t, std::string> out;
    for (const auto& [k, paths] : fleet_.Replicas(set)) {
      EXPECT_THAT(paths, SizeIs(1)) << "replica " << k;
      out[k] = paths.front();
    }
    return out;
  }

  FakeFleet fleet_;
  Reconciler r_;
};

TEST_F(ReconcilerTest, SpreadPutsOneReplicaOnEachSpawnpoint) {
  for (const char* alias : {"a", "b", "c"}) fleet_.Add(alias, 1024, 1024);
  fleet_.Apply(TestSet("web", 3));
  Settle();
  auto placed = Placement("web");
  ASSERT_THAT(placed, SizeIs(3));
  std::set<std::string> paths;
  for (const auto& [k, path] : placed) paths.insert(path);
  EXPECT_EQ(paths, (std::set<std::string>{"site/a", "site/b", "site/c"}));
  const FleetStatus s = Status("web");
  EXPECT_EQ(s.desired, 3);
  EXPECT_EQ(s.running, 3);
  EXPECT_EQ(s.rollout, RolloutState::kDone);
  EXPECT_TRUE(s.pending.empty());
}

TEST_F(ReconcilerTest, WhatSpreadCannotPlaceStaysPendingWithTheReason) {
  fleet_.Add("a", 1024, 1024);
  fleet_.Add("b", 1024, 1024);
  fleet_.Apply(TestSet("web", 3));
  Settle();
  EXPECT_THAT(Placement("web"), SizeIs(2));
  const FleetStatus s = Status("web");
  ASSERT_THAT(s.pending, SizeIs(1));
  EXPECT_EQ(s.pending[0].reason,
            "every spawnpoint under site that may take one runs a replica of web already "
            "(spread)");
  // A third spawnpoint: its heartbeat shows room, and the pending one goes there.
  fleet_.Add("c", 1024, 1024);
  Settle();
  EXPECT_THAT(Placement("web"), SizeIs(3));
}

TEST_F(ReconcilerTest, PendingUntilAHeartbeatShowsRoomNamingTheMemoryWanted) {
  fleet_.Add("a", 128, 1024);
  fleet_.Apply(TestSet("web", 1));
  Settle();
  EXPECT_TRUE(Placement("web").empty());
  ASSERT_THAT(Status("web").pending, SizeIs(1));
  EXPECT_EQ(Status("web").pending[0].reason, "no spawnpoint under site has 256 MiB free");
  fleet_.host("a").total_mem = 512;  // e.g. another service went away
  Settle();
  EXPECT_EQ(Placement("web"), (std::map<int64_t, std::string>{{0, "site/a"}}));
  EXPECT_TRUE(Status("web").pending.empty());
}

TEST_F(ReconcilerTest, TakesTheSpawnpointWithTheMostFreeMemory) {
  fleet_.Add("a", 512, 4096);
  fleet_.Add("b", 2048, 1024);
  fleet_.Apply(TestSet("web", 1));
  Settle();
  EXPECT_EQ(Placement("web"), (std::map<int64_t, std::string>{{0, "site/b"}}));
}

TEST_F(ReconcilerTest, RequireKeepsReplicasToMatchingMetadata) {
  fleet_.Add("a", 4096, 4096, {{"location", "building-a"}});
  fleet_.Add("b", 8192, 8192, {{"location", "building-b"}});
  FleetSpec spec = TestSet("web", 2);
  spec.placement.require = {{"location", "building-a"}};
  fleet_.Apply(spec);
  Settle();
  EXPECT_EQ(Placement("web"), (std::map<int64_t, std::string>{{0, "site/a"}}));
  ASSERT_THAT(Status("web").pending, SizeIs(1));
  EXPECT_EQ(Status("web").pending[0].reason,
            "every spawnpoint under site that may take one runs a replica of web already "
            "(spread)");
  spec.placement.require = {{"location", "building-c"}};
  fleet_.Apply(spec);
  fleet_.Apply(TestSet("api", 1));
  FleetSpec api = TestSet("api", 1);
  api.placement.require = {{"location", "building-c"}};
  fleet_.Apply(api);
  Settle();
  EXPECT_EQ(Status("api").pending.at(0).reason,
            "no spawnpoint under site has the metadata {location: building-c}");
}

TEST_F(ReconcilerTest, A503MovesToTheNextCandidate) {
  fleet_.Add("a", 4096, 4096);
  fleet_.Add("b", 1024, 1024);
  fleet_.host("a").refuse = true;  // its heartbeat says it has room, but it says 503
  fleet_.Apply(TestSet("web", 1));
  Decisions first = Step(r_);
  ASSERT_THAT(first.actions, SizeIs(1));
  EXPECT_EQ(first.actions[0].path, "site/a");
  // Without a newer heartbeat from a, the next candidate: b, as a new attempt.
  Decisions second = Step(r_);
  ASSERT_THAT(second.actions, SizeIs(1));
  EXPECT_EQ(second.actions[0].path, "site/b");
  EXPECT_EQ(second.actions[0].attempt, first.actions[0].attempt + 1);
  EXPECT_NE(second.actions[0].request_id, first.actions[0].request_id);
  Settle();
  EXPECT_EQ(Placement("web"), (std::map<int64_t, std::string>{{0, "site/b"}}));
}

TEST_F(ReconcilerTest, ReplacesAfterRescheduleAfterAndStopsTheCopyOnTheSpawnpointThatReturns) {
  for (const char* alias : {"a", "b", "c"}) fleet_.Add(alias, 4096, 4096);
  FleetSpec spec = TestSet("web", 3);
  spec.placement.spread = false;
  spec.placement.reschedule_after = std::chrono::seconds(10);
  fleet_.Apply(spec);
  Settle();
  auto before = Placement("web");
  ASSERT_THAT(before, SizeIs(3));
  fleet_.Kill("b");
  // Silent for less than rescheduleAfter: nothing moves.
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(Step(r_).actions.empty());
    fleet_.Advance(kSecond);
  }
  for (int i = 0; i < 4; ++i) {
    Step(r_);
    fleet_.Advance(kSecond);
  }
  Settle();
  auto after = Placement("web");
  ASSERT_THAT(after, SizeIs(3));
  for (const auto& [k, path] : after) EXPECT_NE(path, "site/b");
  // b returns with its old copy: that copy stops, and three run.
  fleet_.Revive("b");
  Settle();
  EXPECT_EQ(Placement("web"), after);
  EXPECT_EQ(fleet_.executed(ActionKind::kStop), 1);
  EXPECT_EQ(fleet_.host("b").services.begin()->second.state, proto::ServiceState::kZombie);
}

TEST_F(ReconcilerTest, DrainMovesReplicasAwayAndKeepsNewOnesAway) {
  for (const char* alias : {"a", "b", "c"}) fleet_.Add(alias, 4096, 4096);
  fleet_.Apply(TestSet("web", 2));
  Settle();
  const auto before = Placement("web");
  std::string drained;
  for (const auto& [k, path] : before) drained = path;
  fleet_.Drain(drained.substr(5), true);
  Settle();
  auto after = Placement("web");
  ASSERT_THAT(after, SizeIs(2));
  for (const auto& [k, path] : after) EXPECT_NE(path, drained);
  // Undrained, it may take replicas again: a third one goes there (the only one free).
  fleet_.Drain(drained.substr(5), false);
  FleetSpec three = TestSet("web", 3);
  fleet_.Apply(three);
  Settle();
  EXPECT_THAT(Placement("web"), SizeIs(3));
}

TEST_F(ReconcilerTest, ARollingUpdateReplacesOneReplicaAtATime) {
  for (const char* alias : {"a", "b", "c"}) fleet_.Add(alias, 4096, 4096);
  FleetSpec spec = TestSet("web", 3);
  fleet_.Apply(spec);
  Settle();
  const auto placed = Placement("web");
  FleetSpec next = TestSet("web", 3, 2);
  next.current.config.env = {"VERSION=2"};
  next.previous = spec.current;
  fleet_.Apply(next);
  int updated = 0;
  for (int i = 0; i < 20; ++i) {
    Decisions d = Step(r_);
    int deploys = 0;
    for (const Action& a : d.actions) {
      if (a.kind != ActionKind::kDeploy) continue;
      ++deploys;
      EXPECT_TRUE(a.request.replace);
      EXPECT_EQ(a.generation, 2);
      EXPECT_EQ(a.path, placed.at(a.replica));  // in place
    }
    EXPECT_LE(deploys, 1);
    updated += deploys;
    fleet_.Advance(kSecond);
  }
  EXPECT_EQ(updated, 3);
  EXPECT_EQ(fleet_.Generations("web"), (std::map<int64_t, int64_t>{{0, 2}, {1, 2}, {2, 2}}));
  EXPECT_EQ(Status("web").rollout, RolloutState::kDone);
  EXPECT_EQ(Status("web").updated, 3);
}

TEST_F(ReconcilerTest, ABrokenVersionHaltsTheRolloutAndRollsBackWhatChanged) {
  for (const char* alias : {"a", "b", "c"}) fleet_.Add(alias, 4096, 4096);
  FleetSpec spec = TestSet("web", 3);
  fleet_.Apply(spec);
  Settle();
  FleetSpec broken = TestSet("web", 3, 2);
  broken.current.config.run = {"false"};
  broken.previous = spec.current;
  fleet_.Apply(broken);
  Settle();
  EXPECT_EQ(fleet_.Generations("web"), (std::map<int64_t, int64_t>{{0, 1}, {1, 1}, {2, 1}}));
  EXPECT_EQ(fleet_.executed(ActionKind::kRollback), 1);  // only the one that had changed
  const FleetStatus s = Status("web");
  EXPECT_EQ(s.rollout, RolloutState::kFailed);
  EXPECT_EQ(s.running, 3);
  EXPECT_THAT(s.message, HasSubstr("rollout of generation 2 failed: replica 0 on "));
  EXPECT_THAT(s.message, HasSubstr("rolled back to generation 1"));
  // And it stays halted: no further deploys of the broken generation.
  const int deploys = fleet_.executed(ActionKind::kDeploy);
  Settle();
  EXPECT_EQ(fleet_.executed(ActionKind::kDeploy), deploys);
}

TEST_F(ReconcilerTest, ARolloutFailureAnotherReconcilerPublishedStopsThisOneToo) {
  for (const char* alias : {"a", "b"}) fleet_.Add(alias, 4096, 4096);
  FleetSpec spec = TestSet("web", 2);
  fleet_.Apply(spec);
  Settle();
  FleetSpec next = TestSet("web", 2, 2);
  next.current.config.env = {"V=2"};
  next.previous = spec.current;
  fleet_.Apply(next);
  FleetStatus failed;
  failed.name = "web";
  failed.generation = 2;
  failed.rollout = RolloutState::kFailed;
  failed.message = "rollout of generation 2 failed: elsewhere";
  fleet_.Publish(failed);
  Settle();
  EXPECT_EQ(fleet_.Generations("web"), (std::map<int64_t, int64_t>{{0, 1}, {1, 1}}));
  EXPECT_EQ(Status("web").rollout, RolloutState::kFailed);
}

TEST_F(ReconcilerTest, AServiceOfAReplicasNameNotLabelledAsTheSetsIsAConflictLeftAlone) {
  fleet_.Add("a", 4096, 4096);
  fleet_.Add("b", 4096, 4096);
  FakeFleet::Service own;
  own.config.name = "web-0";
  own.config.mem_alloc_bytes = int64_t{64} << 20;
  fleet_.host("a").services["web-0"] = own;
  fleet_.Apply(TestSet("web", 1));
  Settle();
  EXPECT_EQ(Placement("web"), (std::map<int64_t, std::string>{{0, "site/b"}}));
  EXPECT_EQ(fleet_.host("a").services.at("web-0").state, proto::ServiceState::kRunning);
  EXPECT_FALSE(fleet_.host("a").services.at("web-0").config.labels.count(kSetLabel));
  ASSERT_THAT(Status("web").conflicts, SizeIs(1));
  EXPECT_EQ(Status("web").conflicts[0], "web-0 on site/a is not labelled as the set's; left alone");
}

TEST_F(ReconcilerTest, ScalingDownStopsTheHighestReplicasAndRemovingStopsAllThenClears) {
  for (const char* alias : {"a", "b", "c"}) fleet_.Add(alias, 4096, 4096);
  fleet_.Apply(TestSet("web", 3));
  Settle();
  fleet_.Apply(TestSet("web", 1));
  Settle();
  EXPECT_EQ(Placement("web").count(0), 1u);
  EXPECT_THAT(Placement("web"), SizeIs(1));
  FleetSpec removed = TestSet("web", 1);
  removed.removed = true;
  fleet_.Apply(removed);
  Settle();
  EXPECT_TRUE(Placement("web").empty());
  EXPECT_EQ(fleet_.View().sets.count("web"), 0u);  // cleared once nothing ran
}

TEST_F(ReconcilerTest, RequestIdsDependOnlyOnSetGenerationReplicaTargetAttemptAndKind) {
  const std::string id = FleetRequestId(ActionKind::kDeploy, "web", 2, 1, "site/a", 0);
  EXPECT_EQ(id, FleetRequestId(ActionKind::kDeploy, "web", 2, 1, "site/a", 0));
  EXPECT_EQ(id.size(), 32u);
  for (const std::string& other : {FleetRequestId(ActionKind::kStop, "web", 2, 1, "site/a", 0),
                                   FleetRequestId(ActionKind::kDeploy, "web", 3, 1, "site/a", 0),
                                   FleetRequestId(ActionKind::kDeploy, "web", 2, 2, "site/a", 0),
                                   FleetRequestId(ActionKind::kDeploy, "web", 2, 1, "site/b", 0),
                                   FleetRequestId(ActionKind::kDeploy, "web", 2, 1, "site/a", 1)}) {
    EXPECT_NE(other, id);
  }
  // Two reconcilers with one view decide the very same requests.
  for (const char* alias : {"a", "b", "c"}) fleet_.Add(alias, 4096, 4096);
  fleet_.Apply(TestSet("web", 3));
  Reconciler other(ReconcilerOptions{"site"});
  auto mine = r_.Reconcile(fleet_.View(), fleet_.now()).actions;
  auto theirs = other.Reconcile(fleet_.View(), fleet_.now()).actions;
  ASSERT_THAT(mine, SizeIs(3));
  ASSERT_EQ(mine.size(), theirs.size());
  for (size_t i = 0; i < mine.size(); ++i) EXPECT_EQ(mine[i].request_id, theirs[i].request_id);
}

TEST_F(ReconcilerTest, TheDeployCarriesTheConfigWithTheReplicasNameAndLabels) {
  fleet_.Add("a", 4096, 4096);
  fleet_.Apply(TestSet("web", 1));
  auto actions = r_.Reconcile(fleet_.View(), fleet_.now()).actions;
  ASSERT_THAT(actions, SizeIs(1));
  const proto::DeployRequest& req = actions[0].request;
  EXPECT_EQ(req.request_id, actions[0].request_id);
  EXPECT_EQ(req.config.name, "web-0");
  EXPECT_EQ(req.config.labels.at(kSetLabel), "web");
  EXPECT_EQ(req.config.labels.at(kGenerationLabel), "1");
  EXPECT_EQ(req.config.labels.at(kAttemptLabel), "0");
  EXPECT_FALSE(req.replace);
}

}  // namespace
}  // namespace spawn::fleet
