// The Daemon with a job log: commands become jobs, their ends are published retained with an
// expiry, slot/jobs lists them, and a restarted spawnd still lists them. Also stop's Now and the
// meta slot.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "daemon_fixture.h"
#include "memory_job_store.h"
#include "spawn/daemon/job_log.h"
#include "spawn/daemon/runtime_metadata.h"

namespace spawn::daemon_testing {
namespace {

using proto::JobState;
using proto::ServiceState;

class DaemonJobsTest : public DaemonTest {
 protected:
  DaemonJobsTest() { daemon_->SetJobLog(&jobs_); }

  std::vector<proto::Job> AskJobs(const std::string& id, const std::string& service = "",
                                  int64_t since = 0) {
    Send(topics::JobsSlot(kPath), proto::Encode(proto::JobsRequest{id, service, since}));
    std::vector<proto::Job> jobs;
    const auto replies = SeenOn(topics::JobsReply(kPath, id));
    EXPECT_FALSE(replies.empty());
    for (const auto& r : replies) {
      auto decoded = proto::DecodeJobsReply(r.payload);
      EXPECT_TRUE(decoded.ok());
      if (decoded.ok()) jobs.insert(jobs.end(), decoded->jobs.begin(), decoded->jobs.end());
    }
    if (!replies.empty()) {
      EXPECT_TRUE(proto::DecodeJobsReply(replies.back().payload)->jobs.empty());
    }
    return jobs;
  }

  void Deploy(const std::string& id, const std::string& name) {
    proto::DeployRequest request;
    request.request_id = id;
    request.config = Config(name);
    Send(topics::ConfigSlot(kPath), proto::Encode(request));
  }

  void Report(const std::string& name, ServiceState state) {
    daemon_->OnServiceChanged(Snapshot(name, state));
    Settle();
  }

  MemoryJobStore store_;
  JobLog jobs_{store_};
};

TEST_F(DaemonJobsTest, SubscribesToTheJobsSlot) {
  StartDaemon();
  EXPECT_TRUE(bus_.Subscriptions().count(topics::JobsSlot(kPath)));
}

TEST_F(DaemonJobsTest, ADeploysJobEndsWhenTheServiceRunsAndItsEndIsRetainedForAWhile) {
  StartDaemon();
  Deploy("r1", "web");
  auto jobs = AskJobs("q1");
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, "r1");
  EXPECT_EQ(jobs[0].kind, "deploy");
  EXPECT_EQ(jobs[0].service, "web");
  EXPECT_EQ(jobs[0].state, JobState::kRunning);
  EXPECT_TRUE(SeenOn(topics::JobEnd(kPath, "r1")).empty());

  Report("web", ServiceState::kBuilding);
  Report("web", ServiceState::kRunning);
  const auto ends = SeenOn(topics::JobEnd(kPath, "r1"));
  ASSERT_EQ(ends.size(), 1u);
  const BusMessage retained = broker_.Retained().at(topics::JobEnd(kPath, "r1"));
  EXPECT_EQ(retained.qos, 1);
  EXPECT_EQ(retained.expiry, Daemon::kJobEndExpiry);
  auto end = proto::DecodeJob(retained.payload);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->state, JobState::kDone);
  EXPECT_EQ(end->code, 200);
  EXPECT_EQ(AskJobs("q2")[0].state, JobState::kDone);
}

TEST_F(DaemonJobsTest, ARefusedStopIsAFailedJobAtOnce) {
  StartDaemon();
  supervisor_.next = Status::NotFound("no service named ghost on this spawnpoint");
  Send(topics::StopSlot(kPath), proto::Encode(proto::ServiceCommand{"r2", "ghost"}));
  const auto ends = SeenOn(topics::JobEnd(kPath, "r2"));
  ASSERT_EQ(ends.size(), 1u);
  auto end = proto::DecodeJob(ends[0].payload);
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(end->kind, "stop");
  EXPECT_EQ(end->state, JobState::kFailed);
  EXPECT_EQ(end->code, 404);
}

TEST_F(DaemonJobsTest, ListsOneServicesJobsAndThoseChangedSinceAGivenTime) {
  StartDaemon();
  Deploy("r1", "web");
  Deploy("r2", "db");
  EXPECT_EQ(AskJobs("q1", "db").size(), 1u);
  EXPECT_EQ(AskJobs("q2", "", ToUnixNanos(loop_.WallNow()) + 1).size(), 0u);
  EXPECT_EQ(AskJobs("q3").size(), 2u);
}

TEST_F(DaemonJobsTest, ARepeatedCommandIsOneJob) {
  StartDaemon();
  Deploy("r1", "web");
  Deploy("r1", "web");
  EXPECT_EQ(AskJobs("q1").size(), 1u);
}

TEST_F(DaemonJobsTest, JobsAcrossARestartOfSpawnd) {
  StartDaemon();
  Deploy("r1", "web");
  daemon_->Shutdown();
  Settle();
  // The next spawnd: a new daemon and a job log loaded from what the first one saved.
  JobLog reloaded(store_);
  ASSERT_TRUE(reloaded.Load().ok());
  FakeBus bus(broker_, WithWill());
  Daemon next(config_, {}, bus, loop_);
  next.SetSupervisor(&supervisor_);
  next.SetJobLog(&reloaded);
  next.InstallHandlers();
  ASSERT_TRUE(bus.Connect().ok());
  ASSERT_TRUE(next.Start().ok());
  next.OnServiceChanged(Snapshot("web", ServiceState::kRunning));
  loop_.RunPending();
  ASSERT_TRUE(next.FlushForTest(std::chrono::seconds(10)));
  ClearSeen();
  ASSERT_TRUE(client_
                  .Publish({topics::JobsSlot(kPath), proto::Encode(proto::JobsRequest{"q1", "", 0}),
                            1, false})
                  .ok());
  loop_.RunPending();
  ASSERT_TRUE(next.FlushForTest(std::chrono::seconds(10)));
  std::vector<proto::Job> jobs;
  for (const auto& r : SeenOn(topics::JobsReply(kPath, "q1"))) {
    auto decoded = proto::DecodeJobsReply(r.payload);
    ASSERT_TRUE(decoded.ok());
    jobs.insert(jobs.end(), decoded->jobs.begin(), decoded->jobs.end());
  }
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].id, "r1");
  EXPECT_EQ(jobs[0].state, JobState::kDone);  // ended by the new spawnd when web ran
  next.Shutdown();
}

TEST_F(DaemonJobsTest, StopNowAsksTheSupervisorToKill) {
  StartDaemon();
  Send(topics::StopSlot(kPath), proto::Encode(proto::ServiceCommand{"r1", "web", true}));
  Send(topics::StopSlot(kPath), proto::Encode(proto::ServiceCommand{"r2", "web", false}));
  EXPECT_EQ(supervisor_.commands, (std::vector<std::string>{"stop --now web", "stop web"}));
  EXPECT_EQ(AskJobs("q1").at(0).kind, "stop");
}

TEST_F(DaemonJobsTest, ACommandThatExpiredIsAFailedJob) {
  StartWithJournal("daemon-jobs-expiry");
  daemon_->Shutdown();  // what arrives now is journaled and left for the next start
  ASSERT_TRUE(client_
                  .Publish({topics::RestartSlot(kPath),
                            proto::Encode(proto::ServiceCommand{"brief", "web"}), 1, false,
                            std::chrono::seconds(2)})
                  .ok());
  loop_.RunPending();
  loop_.AdvanceBy(std::chrono::seconds(3));  // spawnd is down past the command's expiry

  RestartedDaemon next = Restart(&jobs_);
  EXPECT_TRUE(supervisor_.commands.empty());
  const proto::Job* job = jobs_.Find("brief");
  ASSERT_NE(job, nullptr);
  EXPECT_EQ(job->kind, "restart");
  EXPECT_EQ(job->service, "web");
  EXPECT_EQ(job->state, JobState::kFailed);
  EXPECT_EQ(job->code, 504);
  next.daemon->Shutdown();
  std::filesystem::remove_all(journal_dir_);
}

class MemoryMetaStore final : public MetaStore {
 public:
  Result<std::map<std::string, std::string>> Load() override { return saved; }
  Status Save(const std::map<std::string, std::string>& keys) override {
    saved = keys;
    return Status::Ok();
  }
  std::map<std::string, std::string> saved;
};

class DaemonMetaTest : public DaemonTest {
 protected:
  DaemonMetaTest() { daemon_->SetRuntimeMetadata(&metadata_); }
  std::string RetainedMeta(const std::string& key) {
    auto retained = broker_.Retained();
    auto it = retained.find(topics::Meta(kPath, key));
    return it == retained.end() ? "<none>" : it->second.payload;
  }
  MemoryMetaStore store_;
  RuntimeMetadata metadata_{{{"room", "410"}}, &store_};
};

TEST_F(DaemonMetaTest, SetAndRemoveAreRepublishedAndPersisted) {
  StartDaemon();
  EXPECT_TRUE(bus_.Subscriptions().count(topics::MetaSlot(kPath)));
  Send(topics::MetaSlot(kPath), proto::Encode(proto::MetaCommand{"m1", "room", "411", false}));
  EXPECT_TRUE(RepliesTo("m1").at(0).ok);
  EXPECT_EQ(RetainedMeta("room"), "411");
  EXPECT_EQ(store_.saved.at("room"), "411");
  Send(topics::MetaSlot(kPath), proto::Encode(proto::MetaCommand{"m2", "owner", "ops", false}));
  EXPECT_EQ(RetainedMeta("owner"), "ops");

  Send(topics::MetaSlot(kPath), proto::Encode(proto::MetaCommand{"m3", "room", "", true}));
  EXPECT_TRUE(RepliesTo("m3").at(0).ok);
  EXPECT_EQ(RetainedMeta("room"), "410");  // the -m file's value is back
  Send(topics::MetaSlot(kPath), proto::Encode(proto::MetaCommand{"m4", "owner", "", true}));
  EXPECT_EQ(RetainedMeta("owner"), "<none>");  // cleared
  Send(topics::MetaSlot(kPath), proto::Encode(proto::MetaCommand{"m5", "room", "", true}));
  EXPECT_EQ(RepliesTo("m5").at(0).code, 404);
  Send(topics::MetaSlot(kPath), proto::Encode(proto::MetaCommand{"m6", "a/b", "x", false}));
  EXPECT_EQ(RepliesTo("m6").at(0).code, 400);
}

TEST_F(DaemonMetaTest, ARunTimeKeyIsPublishedAtStartInsteadOfTheFilesValue) {
  ASSERT_TRUE(metadata_.Set("room", "412").ok());
  StartDaemon();
  EXPECT_EQ(RetainedMeta("room"), "412");
}

}  // namespace
}  // namespace spawn::daemon_testing
