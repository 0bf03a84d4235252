// Jobs, stop --now and run-time metadata on the real spawnd, engine and broker, through the real
// spawnctl: the job log outlives a restart of spawnd, `job --wait` exits with the job's outcome,
// `stop --now` kills, and `meta set|rm` is republished and outlives a restart too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "harness.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using ::testing::HasSubstr;
using namespace spawn::testing;

MessageMatcher RetainedMeta(const std::string& path, const std::string& key,
                            const std::string& value) {
  return [topic = topics::Meta(path, key), value](const BusMessage& m) {
    return m.topic == topic && m.payload == value;
  };
}

TEST(JobsTest, SpawnctlJobsAfterARestartOfSpawndStillListsTheDeploy) {
  SpawndProcess spawnd;
  Probe probe;
  TempDir home("jobs-home");
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));
  ASSERT_TRUE(DeployOverBus(probe, p, Busybox("jobsvc"), "deploy-jobs-1"));

  // The deploy's job ends when the service runs: `job --wait` exits 0.
  CliRun waited =
      RunSpawnctl({"job", "-u", p, "deploy-jobs-1", "--wait", "--wait-for", "120s"}, home.str());
  EXPECT_EQ(waited.exit_code, 0) << waited.out << waited.err << spawnd.Log();
  EXPECT_THAT(waited.out, HasSubstr("deploy of jobsvc done"));

  // A refused command is a failed job: `job --wait` exits 1.
  probe.Subscribe(topics::Reply(p, "stop-ghost"));
  probe.Publish(topics::StopSlot(p), proto::Encode(proto::ServiceCommand{"stop-ghost", "ghost"}));
  ASSERT_TRUE(probe.WaitFor(IsReply("stop-ghost", 404)));
  CliRun failed = RunSpawnctl({"job", "-u", p, "stop-ghost", "--wait"}, home.str());
  EXPECT_EQ(failed.exit_code, 1) << failed.out << failed.err;
  EXPECT_THAT(failed.out, HasSubstr("failed [404]"));

  ASSERT_EQ(spawnd.Kill(SIGTERM) & 0x7f, 0);
  probe.Clear();
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));

  CliRun jobs = RunSpawnctl({"jobs", "-u", p}, home.str());
  EXPECT_EQ(jobs.exit_code, 0) << jobs.err;
  EXPECT_THAT(jobs.out, HasSubstr("deploy-jobs-1"));
  EXPECT_THAT(jobs.out, HasSubstr("stop-ghost"));
  CliRun json = RunSpawnctl({"--json", "jobs", "-u", p, "-n", "jobsvc"}, home.str());
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"Id\":\"deploy-jobs-1\""));
  EXPECT_THAT(json.out, HasSubstr("\"State\":\"done\""));
  EXPECT_THAT(json.out, ::testing::Not(HasSubstr("stop-ghost")));
}

TEST(JobsTest, ADeployWhoseBuildFailsIsAFailedJobWithTheBuildsError) {
  SpawndProcess spawnd;
  Probe probe;
  TempDir home("jobs-home");
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));
  ServiceConfig broken = Busybox("badbuild");
  broken.build = {"echo about to fail; exit 3"};
  ASSERT_TRUE(DeployOverBus(probe, p, broken, "deploy-badbuild"));
  CliRun waited =
      RunSpawnctl({"job", "-u", p, "deploy-badbuild", "--wait", "--wait-for", "300s"}, home.str());
  EXPECT_EQ(waited.exit_code, 1) << waited.out << waited.err << spawnd.Log();
  EXPECT_THAT(waited.out, HasSubstr("deploy of badbuild failed ["));
  EXPECT_THAT(waited.out, HasSubstr("image build failed"));  // the build's own error
  EXPECT_THAT(waited.out, HasSubstr("returned a non-zero code: 3"));
}

TEST(JobsTest, StopNowKillsTheServiceAndIsAJob) {
  SpawndProcess spawnd;
  Probe probe;
  TempDir home("jobs-home");
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));
  ASSERT_TRUE(DeployOverBus(probe, p, Busybox("killme"), "deploy-killme"));
  ASSERT_TRUE(probe.WaitFor(
      ServiceIn(topics::ServiceHeartbeat(p, "killme"), proto::ServiceState::kRunning)));
  CliRun stopped =
      RunSpawnctl({"stop", "-u", p, "-n", "killme", "--now", "--no-follow"}, home.str());
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  ASSERT_TRUE(probe.WaitFor(
      LogContains(topics::ServiceLog(p, "killme"), "[INFO] Stopping service now (KILL)")));
  ASSERT_TRUE(probe.WaitFor(
      ServiceIn(topics::ServiceHeartbeat(p, "killme"), proto::ServiceState::kZombie)));
  CliRun jobs = RunSpawnctl({"jobs", "-u", p, "-n", "killme"}, home.str());
  EXPECT_EQ(jobs.exit_code, 0) << jobs.err;
  EXPECT_THAT(jobs.out, HasSubstr("stop"));
  EXPECT_THAT(jobs.out, HasSubstr("service killme stopped"));
}

TEST(JobsTest, MetaSetWinsOverTheFileAcrossARestartUntilRemoved) {
  SpawndProcess spawnd;  // its -m file says room: lab 410
  Probe probe;
  TempDir home("jobs-home");
  const std::string& p = spawnd.path();
  probe.Subscribe(topics::Root(p) + "/#");
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));
  ASSERT_TRUE(probe.WaitFor(RetainedMeta(p, "room", "lab 410")));

  CliRun set = RunSpawnctl({"meta", "set", "-u", p, "room=lab 411"}, home.str());
  EXPECT_EQ(set.exit_code, 0) << set.err;
  ASSERT_TRUE(probe.WaitFor(RetainedMeta(p, "room", "lab 411")));

  ASSERT_EQ(spawnd.Kill(SIGTERM) & 0x7f, 0);
  probe.Clear();
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe));
  ASSERT_TRUE(probe.WaitFor(RetainedMeta(p, "room", "lab 411")));
  EXPECT_TRUE(probe.All(RetainedMeta(p, "room", "lab 410")).empty());

  CliRun rm = RunSpawnctl({"meta", "rm", "-u", p, "room"}, home.str());
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  ASSERT_TRUE(probe.WaitFor(RetainedMeta(p, "room", "lab 410")));
  CliRun again = RunSpawnctl({"meta", "rm", "-u", p, "room"}, home.str());
  EXPECT_EQ(again.exit_code, 1);  // not set at run time: 404
  CliRun bad = RunSpawnctl({"meta", "set", "-u", p, "room"}, home.str());
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace
}  // namespace spawn
