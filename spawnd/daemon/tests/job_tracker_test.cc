// JobTracker's rules, one per test: the supervisor's reports are given as snapshots, time as
// numbers; what it ends is one list.
#include "spawn/daemon/job_tracker.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "memory_job_store.h"

namespace spawn {
namespace {

using proto::JobState;
using proto::ServiceState;

class JobTrackerTest : public ::testing::Test {
 protected:
  JobTrackerTest() : tracker_(log_, [this](const proto::Job& job) { ended_.push_back(job); }) {}

  void Report(const std::string& name, ServiceState state, Duration backoff = Duration(0)) {
    ServiceSnapshot s;
    s.name = name;
    s.state = state;
    s.backoff = backoff;
    tracker_.OnServiceChanged(s, ++now_);
  }
  // A command the supervisor accepts (or answers with `answer`).
  std::string Command(const std::string& id, const std::string& kind, const std::string& service,
                      const Status& answer = Status::Ok()) {
    const std::string job = tracker_.Opened(id, kind, service, ++now_);
    tracker_.Answered(job, answer, ++now_);
    return job;
  }
  JobState StateOf(const std::string& id) { return log_.Find(id)->state; }

  MemoryJobStore store_;
  JobLog log_{store_};
  std::vector<proto::Job> ended_;
  JobTracker tracker_;
  int64_t now_ = 1000;
};

TEST_F(JobTrackerTest, ADeployIsDoneWhenTheServiceRuns) {
  Command("r1", job_kind::kDeploy, "demo");
  EXPECT_EQ(StateOf("r1"), JobState::kRunning);
  Report("demo", ServiceState::kBuilding);
  Report("demo", ServiceState::kStarting);
  EXPECT_TRUE(ended_.empty());
  Report("demo", ServiceState::kRunning);
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].id, "r1");
  EXPECT_EQ(ended_[0].state, JobState::kDone);
  EXPECT_EQ(ended_[0].code, 200);
}

TEST_F(JobTrackerTest, ADeployWhoseBuildFailsFailsWithTheBuildsError) {
  Command("r1", job_kind::kDeploy, "demo");
  Report("demo", ServiceState::kBuilding);
  tracker_.OnServiceLog("demo", "stdout", "[ERROR 1] not from spawnd");
  tracker_.OnServiceLog("demo", "spawnd", "[ERROR 500] build failed: apt-get returned 100");
  Report("demo", ServiceState::kZombie);
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].state, JobState::kFailed);
  EXPECT_EQ(ended_[0].code, 500);
  EXPECT_EQ(ended_[0].message, "build failed: apt-get returned 100");
}

TEST_F(JobTrackerTest, ARefusedCommandFailsAtOnceWithTheRefusal) {
  Command("r1", job_kind::kDeploy, "big", Status::Unavailable("Insufficient resources"));
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].state, JobState::kFailed);
  EXPECT_EQ(ended_[0].code, 503);
  EXPECT_EQ(ended_[0].message, "Insufficient resources");
}

TEST_F(JobTrackerTest, ARestartOfARunningServiceEndsOnlyAfterItLeftRunning) {
  Report("demo", ServiceState::kRunning);
  Command("r1", job_kind::kRestart, "demo");
  Report("demo", ServiceState::kRunning);  // a report from before the restart took effect
  EXPECT_TRUE(ended_.empty());
  Report("demo", ServiceState::kStarting);
  Report("demo", ServiceState::kRunning);
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].id, "r1");
  EXPECT_EQ(ended_[0].state, JobState::kDone);
}

TEST_F(JobTrackerTest, ARestartAskedForDuringTheBuildIsQueuedUntilTheBuildEnds) {
  Command("r0", job_kind::kDeploy, "demo");
  Report("demo", ServiceState::kBuilding);
  Command("r1", job_kind::kRestart, "demo");
  EXPECT_EQ(StateOf("r1"), JobState::kQueued);
  Report("demo", ServiceState::kStarting);
  EXPECT_EQ(StateOf("r1"), JobState::kRunning);
  Report("demo", ServiceState::kRunning);
  ASSERT_EQ(ended_.size(), 2u);
  EXPECT_EQ(StateOf("r0"), JobState::kDone);
  EXPECT_EQ(StateOf("r1"), JobState::kDone);
}

TEST_F(JobTrackerTest, AStopIsDoneWhenTheServiceIsAZombieAndFailsWhatItInterrupted) {
  Command("r0", job_kind::kDeploy, "demo");
  Report("demo", ServiceState::kStarting);
  Command("r1", job_kind::kStop, "demo");
  Report("demo", ServiceState::kZombie);
  ASSERT_EQ(ended_.size(), 2u);
  EXPECT_EQ(ended_[0].id, "r0");
  EXPECT_EQ(ended_[0].code, 409);
  EXPECT_EQ(ended_[0].message, "stopped by job r1 before service demo ran");
  EXPECT_EQ(ended_[1].id, "r1");
  EXPECT_EQ(ended_[1].state, JobState::kDone);
}

TEST_F(JobTrackerTest, RestartsSpawndDecidesAreJobsWithTheirReason) {
  Report("demo", ServiceState::kRunning);
  Report("demo", ServiceState::kExited);
  Report("demo", ServiceState::kRestarting);
  Report("demo", ServiceState::kRestarting);  // the same restart, reported again
  auto jobs = log_.List("demo", 0);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].kind, job_kind::kAutoRestart);
  EXPECT_EQ(jobs[0].reason, "died");
  EXPECT_EQ(jobs[0].count, 1);
  Report("demo", ServiceState::kRunning);
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].state, JobState::kDone);
  // It dies again soon and backs off: the same job, counted.
  Report("demo", ServiceState::kExited);
  Report("demo", ServiceState::kRestarting, std::chrono::seconds(8));
  jobs = log_.List("demo", 0);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].reason, "back-off");
  EXPECT_EQ(jobs[0].count, 2);
  EXPECT_EQ(jobs[0].state, JobState::kRunning);
  tracker_.AutoRestarted("demo", "unhealthy", ++now_);
  EXPECT_EQ(log_.List("demo", 0)[0].reason, "unhealthy");
}

TEST_F(JobTrackerTest, AnUnhealthyRestartIsOneRestartAndEndsOnlyOnceTheServiceRanAgain) {
  Report("demo", ServiceState::kRunning);
  tracker_.AutoRestarted("demo", "unhealthy", ++now_);
  Report("demo", ServiceState::kRunning);  // from before the restart took effect
  EXPECT_TRUE(ended_.empty());
  Report("demo", ServiceState::kRestarting);  // the same restart
  auto jobs = log_.List("demo", 0);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].count, 1);
  EXPECT_EQ(jobs[0].reason, "unhealthy");
  Report("demo", ServiceState::kRunning);
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].state, JobState::kDone);
}

TEST_F(JobTrackerTest, ARevertSpawndDecidesIsARollbackJobWithItsReasonDoneWhenTheOldOneRuns) {
  Report("demo", ServiceState::kRunning);
  tracker_.AutoReverted("demo", "the new deployment was not healthy within 30s", ++now_);
  auto jobs = log_.List("demo", 0);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].kind, job_kind::kRollback);
  EXPECT_EQ(jobs[0].state, JobState::kRunning);
  EXPECT_EQ(jobs[0].reason, "the new deployment was not healthy within 30s");
  Report("demo", ServiceState::kRunning);  // the new one, still running as the revert begins
  EXPECT_TRUE(ended_.empty());
  Report("demo", ServiceState::kStarting);
  Report("demo", ServiceState::kRunning);
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].state, JobState::kDone);
}

TEST_F(JobTrackerTest, ACommandedRestartIsNotAlsoAnAutoRestart) {
  Report("demo", ServiceState::kExited);
  Command("r1", job_kind::kRestart, "demo");
  Report("demo", ServiceState::kRestarting);
  EXPECT_EQ(log_.size(), 1u);
}

TEST_F(JobTrackerTest, JobsOfAPurgedServiceFail) {
  Command("r1", job_kind::kDeploy, "demo");
  tracker_.OnServicePurged("demo", ++now_);
  ASSERT_EQ(ended_.size(), 1u);
  EXPECT_EQ(ended_[0].code, 404);
}

TEST_F(JobTrackerTest, AJobOpenAcrossARestartOfSpawndEndsWhenTheServiceRuns) {
  Command("r1", job_kind::kDeploy, "demo");
  Report("demo", ServiceState::kBuilding);
  // spawnd restarts: a new log over the same store, a new tracker that has seen nothing.
  JobLog log(store_);
  ASSERT_TRUE(log.Load().ok());
  std::vector<proto::Job> ended;
  JobTracker tracker(log, [&](const proto::Job& job) { ended.push_back(job); });
  ServiceSnapshot s;
  s.name = "demo";
  s.state = ServiceState::kRunning;
  tracker.OnServiceChanged(s, ++now_);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].id, "r1");
  EXPECT_EQ(ended[0].state, JobState::kDone);
}

}  // namespace
}  // namespace spawn
