// JobLog on a store in memory (what was saved, told to fail) and on the real file: ids, the bound,
// a crash loop as one job, listing, and the log across a restart of spawnd.
#include "spawn/daemon/job_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace spawn {
namespace {

using proto::JobState;

// Keeps the last save; can be told to fail.
class FakeJobStore final : public JobStore {
 public:
  Result<std::vector<proto::Job>> Load() override {
    if (!load_error.ok()) return load_error;
    return saved;
  }
  Status Save(const std::vector<proto::Job>& jobs) override {
    ++saves;
    if (!save_error.ok()) return save_error;
    saved = jobs;
    return Status::Ok();
  }
  std::vector<proto::Job> saved;
  int saves = 0;
  Status load_error;
  Status save_error;
};

std::vector<std::string> Ids(const std::vector<proto::Job>& jobs) {
  std::vector<std::string> ids;
  for (const auto& j : jobs) ids.push_back(j.id);
  return ids;
}

TEST(JobLogTest, AJobGoesFromQueuedToRunningToDoneAndEveryStepIsSaved) {
  FakeJobStore store;
  JobLog log(store);
  const proto::Job& opened = log.Open("r1", job_kind::kDeploy, "demo", 100);
  EXPECT_EQ(opened.state, JobState::kQueued);
  EXPECT_EQ(opened.created_unix_ns, 100);
  ASSERT_NE(log.Start("r1", 110), nullptr);
  const proto::Job* done = log.Finish("r1", Status::Ok(), "service demo is running", 120);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->state, JobState::kDone);
  EXPECT_EQ(done->code, 200);
  EXPECT_EQ(done->started_unix_ns, 110);
  EXPECT_EQ(done->ended_unix_ns, 120);
  EXPECT_EQ(done->message, "service demo is running");
  EXPECT_EQ(store.saves, 3);
  ASSERT_EQ(store.saved.size(), 1u);
  EXPECT_EQ(store.saved[0], *done);
  // An ended job stays as it ended.
  EXPECT_EQ(log.Finish("r1", Status::Internal("late"), "", 130), nullptr);
  EXPECT_EQ(log.Find("r1")->state, JobState::kDone);
}

TEST(JobLogTest, AFailureKeepsItsCodeAndMessage) {
  FakeJobStore store;
  JobLog log(store);
  log.Open("r1", job_kind::kStop, "ghost", 100);
  const proto::Job* failed = log.Finish("r1", Status::NotFound("no service named ghost"), "", 101);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->state, JobState::kFailed);
  EXPECT_EQ(failed->code, 404);
  EXPECT_EQ(failed->message, "no service named ghost");
  log.Open("r2", job_kind::kDeploy, "demo", 102);
  const std::string huge(10000, 'x');
  EXPECT_EQ(log.Finish("r2", Status::Internal(huge), "", 103)->message.size(),
            JobLog::kMaxMessageBytes);
}

TEST(JobLogTest, ARepeatedIdIsTheSameJobAndAMissingOneIsMade) {
  FakeJobStore store;
  JobLog log(store);
  log.Open("r1", job_kind::kRestart, "demo", 100);
  log.Open("r1", job_kind::kRestart, "demo", 200);
  EXPECT_EQ(log.size(), 1u);
  EXPECT_EQ(log.Open("", job_kind::kStop, "demo", 300).id, "job-300");
  EXPECT_EQ(log.Open("", job_kind::kStop, "demo", 300).id, "job-300-2");
}

TEST(JobLogTest, ACrashLoopIsOneJobWithACount) {
  FakeJobStore store;
  JobLog log(store);
  const std::string id = log.AutoRestart("demo", "died", 100).id;
  EXPECT_EQ(id, "auto-demo-100");
  log.Finish(id, Status::Ok(), "running", 110);
  for (int i = 0; i < 50; ++i) log.AutoRestart("demo", "back-off", 200 + i);
  ASSERT_EQ(log.size(), 1u);
  const proto::Job* job = log.Find(id);
  EXPECT_EQ(job->count, 51);
  EXPECT_EQ(job->reason, "back-off");
  EXPECT_EQ(job->state, JobState::kRunning);
  EXPECT_EQ(job->ended_unix_ns, 0);
  // Another job in between starts a new run; another service has its own.
  log.Open("r1", job_kind::kRestart, "demo", 300);
  log.AutoRestart("other", "died", 301);
  EXPECT_EQ(log.AutoRestart("demo", "died", 302).id, "auto-demo-302");
  EXPECT_EQ(log.size(), 4u);
}

TEST(JobLogTest, KeepsTheLastJobsAndACrashLoopCannotPushThemOut) {
  FakeJobStore store;
  JobLog log(store, 3);
  log.Open("a", job_kind::kDeploy, "demo", 1);
  log.Open("b", job_kind::kDeploy, "web", 2);
  log.Open("c", job_kind::kStop, "web", 3);
  log.Open("d", job_kind::kRestart, "web", 4);
  EXPECT_EQ(Ids(log.List("", 0)), (std::vector<std::string>{"b", "c", "d"}));
  for (int i = 0; i < 100; ++i) log.AutoRestart("loop", "died", 10 + i);
  EXPECT_EQ(Ids(log.List("", 0)), (std::vector<std::string>{"c", "d", "auto-loop-10"}));
}

TEST(JobLogTest, ListsByServiceAndByTheTimeOfTheLastChange) {
  FakeJobStore store;
  JobLog log(store);
  log.Open("a", job_kind::kDeploy, "demo", 100);
  log.Open("b", job_kind::kDeploy, "web", 200);
  log.Finish("a", Status::Ok(), "", 300);  // changed last: listed last
  EXPECT_EQ(Ids(log.List("", 0)), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(Ids(log.List("demo", 0)), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Ids(log.List("", 250)), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Ids(log.Unended("web")), (std::vector<std::string>{"b"}));
}

TEST(JobLogTest, AFailingStoreLeavesTheLogInMemory) {
  FakeJobStore store;
  store.save_error = Status::Internal("cannot write /state/jobs.msgpack.tmp: No space left");
  JobLog log(store);
  log.Open("a", job_kind::kDeploy, "demo", 100);
  EXPECT_NE(log.Find("a"), nullptr);
  FakeJobStore broken;
  broken.load_error = Status::BadRequest("jobs.msgpack: message is truncated");
  JobLog fresh(broken);
  EXPECT_EQ(fresh.Load(), broken.load_error);
  EXPECT_EQ(fresh.size(), 0u);
}

class FileJobStoreTest : public ::testing::Test {
 protected:
  FileJobStoreTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("jobs-test-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(dir_);
  }
  ~FileJobStoreTest() override { std::filesystem::remove_all(dir_); }
  std::string Path() const { return (dir_ / "jobs" / "jobs.msgpack").string(); }
  std::filesystem::path dir_;
};

TEST_F(FileJobStoreTest, JobsSurviveARestartOfSpawnd) {
  {
    auto store = MakeFileJobStore(Path());
    JobLog log(*store);
    ASSERT_TRUE(log.Load().ok());  // nothing yet: empty
    log.Open("r1", job_kind::kDeploy, "demo", 100);
    log.Start("r1", 110);
    log.Finish("r1", Status::Ok(), "service demo is running", 120);
    log.Open("r2", job_kind::kRestart, "demo", 130);
    log.AutoRestart("demo", "died", 140);
    log.AutoRestart("demo", "died", 150);
  }
  auto store = MakeFileJobStore(Path());
  JobLog log(*store);
  ASSERT_TRUE(log.Load().ok());
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log.Find("r1")->state, JobState::kDone);
  EXPECT_EQ(log.Find("r1")->message, "service demo is running");
  EXPECT_EQ(log.Find("r2")->state, JobState::kQueued);
  EXPECT_EQ(log.Find("auto-demo-140")->count, 2);
  // The crash loop goes on in the same job after the restart.
  EXPECT_EQ(log.AutoRestart("demo", "back-off", 160).count, 3);
  EXPECT_FALSE(std::filesystem::exists(Path() + ".tmp"));
}

TEST_F(FileJobStoreTest, ADamagedFileIsAnErrorNamingIt) {
  std::filesystem::create_directories(dir_ / "jobs");
  std::ofstream(Path()) << "not msgpack";
  auto store = MakeFileJobStore(Path());
  auto loaded = store->Load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find(Path()), std::string::npos);
}

}  // namespace
}  // namespace spawn
