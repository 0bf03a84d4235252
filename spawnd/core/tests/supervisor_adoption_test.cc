// The supervisor adopting what an earlier spawnd left (AdoptionTest, supervisor_fixture.h).
#include "supervisor_fixture.h"

namespace spawn::core_testing {
namespace {

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

}  // namespace
}  // namespace spawn::core_testing
