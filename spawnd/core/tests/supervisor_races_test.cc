// The supervisor with engine calls held in a ManualExecutor and run in chosen or random orders:
// commands racing engine calls, late events, and the pool never oversubscribed.
#include "supervisor_fixture.h"

namespace spawn::core_testing {
namespace {

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

}  // namespace
}  // namespace spawn::core_testing
