// Health checks on the real engine, through the real spawnd binary over the real broker: a
// busybox service (host networking) whose httpd stops answering is found unhealthy by spawnd's own
// probe and restarted (autoRestart), and comes back healthy; a `cmd` check the engine runs that
// fails marks its service unhealthy, with the check's output in the heartbeat; a --replace whose
// new version never becomes healthy is reverted by spawnd to the old container, running again.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "harness.h"
#include "spawn/common/tar.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using namespace spawn::testing;
using namespace std::chrono_literals;

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    probe_.Subscribe(topics::Root(spawnd_.path()) + "/#");
    ASSERT_TRUE(spawnd_.StartAndWaitOnline(probe_)) << spawnd_.Log();
  }
  const std::string& p() const { return spawnd_.path(); }

  MessageMatcher Health(const std::string& name, const std::string& health) {
    return ServiceHeartbeatWhere(
        topics::ServiceHeartbeat(p(), name), [health](const proto::ServiceHeartbeat& hb) {
          return hb.state == proto::ServiceState::kRunning && hb.health == health;
        });
  }

  SpawndProcess spawnd_;
  Probe probe_;
};

TEST_F(HealthTest, AnHttpEndpointThatStopsAnsweringIsRestarted) {
  // A port of this test process's own: host networking shares the machine's ports.
  const std::string port = std::to_string(20000 + getpid() % 20000);
  ServiceConfig c = Busybox("web", /*auto_restart=*/true);
  // httpd answers for a few seconds, then goes away while the container keeps running.
  c.run = {"sh", "-c",
           "mkdir -p /tmp/www && echo 'status: ok' > /tmp/www/health && "
           "httpd -f -p 127.0.0.1:" +
               port + " -h /tmp/www & sleep 4; kill %1; while true; do sleep 1; done"};
  HealthCheck check;
  check.http = "http://127.0.0.1:" + port + "/health";
  check.expect = "status: (ok|fine)";
  check.interval = 500ms;
  check.timeout = 1s;
  check.retries = 2;
  c.health_check = check;
  ASSERT_TRUE(DeployOverBus(probe_, p(), c, "web-1"));
  ASSERT_TRUE(probe_.WaitFor(Health("web", "healthy")));
  const std::string log = topics::ServiceLog(p(), "web");
  ASSERT_TRUE(probe_.WaitFor(LogContains(log, "[WARN] Service is unhealthy")));
  ASSERT_TRUE(probe_.WaitFor(LogContains(log, "[INFO] Restarting the unhealthy service")));
  auto restarted = probe_.WaitFor(ServiceHeartbeatWhere(
      topics::ServiceHeartbeat(p(), "web"), [](const proto::ServiceHeartbeat& hb) {
        return hb.state == proto::ServiceState::kRunning && hb.restarts >= 1;
      }));
  ASSERT_TRUE(restarted);
  probe_.Clear();
  // The restarted container's httpd answers again.
  EXPECT_TRUE(probe_.WaitFor(Health("web", "healthy")));
}

TEST_F(HealthTest, AFailingCmdCheckMarksTheServiceUnhealthy) {
  ServiceConfig c = Busybox("checked");
  HealthCheck check;
  check.cmd = {"sh", "-c", "echo no ready file; test -f /tmp/ready"};
  check.interval = 500ms;
  check.timeout = 2s;
  check.retries = 1;
  c.health_check = check;
  ASSERT_TRUE(DeployOverBus(probe_, p(), c, "checked-1"));
  auto hb = probe_.WaitFor(Health("checked", "unhealthy"));
  ASSERT_TRUE(hb);
  auto decoded = proto::DecodeServiceHeartbeat(hb->payload);
  ASSERT_TRUE(decoded.ok());
  EXPECT_THAT(decoded->health_output, ::testing::HasSubstr("no ready file"));
  EXPECT_EQ(decoded->restarts, 0);  // no autoRestart: reported, not restarted
}

TEST_F(HealthTest, ABrokenReplaceRevertsByItselfToTheRunningOldVersion) {
  const std::string port = std::to_string(20000 + (getpid() + 7919) % 20000);
  const auto version = [&port](const std::string& v, bool serves) {
    ServiceConfig c = Busybox("site", /*auto_restart=*/true);
    c.run = {"sh", "-c",
             "mkdir -p /tmp/www && echo version " + v + " > /tmp/www/index.html && " +
                 (serves ? "exec httpd -f -p 127.0.0.1:" + port + " -h /tmp/www"
                         : std::string("while true; do sleep 1; done"))};
    HealthCheck check;
    check.http = "http://127.0.0.1:" + port + "/";
    check.expect = "version";
    check.interval = 500ms;
    check.timeout = 1s;
    check.retries = 3;
    c.health_check = check;
    return c;
  };
  ASSERT_TRUE(DeployOverBus(probe_, p(), version("1", true), "site-1"));
  auto healthy = probe_.WaitFor(Health("site", "healthy"));
  ASSERT_TRUE(healthy);
  const std::string old_id = proto::DecodeServiceHeartbeat(healthy->payload)->container_id;
  ASSERT_FALSE(old_id.empty());
  probe_.Clear();
  // Version 2 never serves: within 3 x 500ms of its start it must be healthy, or it is reverted.
  proto::DeployRequest replace{"site-2", version("2", false), TarWriter().Finish(), true, ""};
  probe_.Subscribe(topics::Reply(p(), "site-2"));
  probe_.Publish(topics::ConfigSlot(p()), proto::Encode(replace));
  ASSERT_TRUE(probe_.WaitFor(IsReply("site-2", 200)));
  const std::string log = topics::ServiceLog(p(), "site");
  ASSERT_TRUE(probe_.WaitFor(LogContains(log, "[WARN] Rolling back to the previous deployment")));
  auto back = probe_.WaitFor(ServiceHeartbeatWhere(
      topics::ServiceHeartbeat(p(), "site"), [&old_id](const proto::ServiceHeartbeat& hb) {
        return hb.state == proto::ServiceState::kRunning && hb.container_id == old_id &&
               hb.health == "healthy";
      }));
  ASSERT_TRUE(back) << "the old container did not come back healthy";
  auto decoded = proto::DecodeServiceHeartbeat(back->payload);
  EXPECT_THAT(decoded->original_config.run.back(), ::testing::HasSubstr("version 1"));
}

TEST_F(HealthTest, SpawnctlRollbackBringsBackTheOldContainerAtOnce) {
  ServiceConfig v1 = Busybox("roll", /*auto_restart=*/true);
  ASSERT_TRUE(DeployOverBus(probe_, p(), v1, "roll-1"));
  auto running = probe_.WaitFor(
      ServiceIn(topics::ServiceHeartbeat(p(), "roll"), proto::ServiceState::kRunning));
  ASSERT_TRUE(running);
  const std::string old_id = proto::DecodeServiceHeartbeat(running->payload)->container_id;
  ServiceConfig v2 = v1;
  v2.run = {"sh", "-c", "echo version 2; while true; do sleep 1; done"};
  proto::DeployRequest replace{"roll-2", v2, TarWriter().Finish(), true, ""};
  probe_.Subscribe(topics::Reply(p(), "roll-2"));
  probe_.Publish(topics::ConfigSlot(p()), proto::Encode(replace));
  ASSERT_TRUE(probe_.WaitFor(IsReply("roll-2", 200)));
  ASSERT_TRUE(probe_.WaitFor(ServiceHeartbeatWhere(
      topics::ServiceHeartbeat(p(), "roll"), [&old_id](const proto::ServiceHeartbeat& hb) {
        return hb.state == proto::ServiceState::kRunning && hb.container_id != old_id;
      })));
  probe_.Clear();
  TempDir home("spawn-rollback-home");
  CliRun run = RunSpawnctl({"rollback", "-u", p(), "-n", "roll", "--no-follow"}, home.str());
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_TRUE(probe_.WaitFor(ServiceHeartbeatWhere(
      topics::ServiceHeartbeat(p(), "roll"), [&old_id](const proto::ServiceHeartbeat& hb) {
        return hb.state == proto::ServiceState::kRunning && hb.container_id == old_id;
      })));
  // Nothing left to go back to: 409, exit 1.
  CliRun again = RunSpawnctl({"rollback", "-u", p(), "-n", "roll", "--no-follow"}, home.str());
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.out + again.err, ::testing::HasSubstr("no previous deployment"));
}

TEST_F(HealthTest, SpawnctlRefusesABadHealthCheckBeforeSending) {
  TempDir dir("spawn-health-config");
  const auto file = dir.Write("deploy.yml",
                              "name: bad\nrun: [sh]\nmemAlloc: 16M\ncpuShares: 64\n"
                              "healthCheck: {http: \"http://127.0.0.1/\", expect: \"(\"}\n");
  CliRun run = RunSpawnctl({"deploy", "-u", p(), "-c", file.string()}, dir.str());
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, ::testing::HasSubstr("healthCheck: expect: \"(\" is not a valid regular"));
}

}  // namespace
}  // namespace spawn
