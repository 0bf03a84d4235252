// Confinement and services' credentials on the real engine, through the real spawnd binary over
// the real broker: a pids limit holds against a service that starts 200 processes while spawnd
// and another service keep answering; a read-only service running as another user reads its
// entity from its secrets directory; every container has no-new-privileges; values that would
// reach the engine unchecked are refused with 400 naming the key.
//
// The process-starting service is bounded (200 sleeps, then it waits), never an unbounded fork
// bomb, so a machine whose engine does not enforce the limit is not harmed: the test then checks
// that spawnd says so in its heartbeat instead. Lines the services print are split in their
// command ('a''b') so that the build output, which shows the command, cannot match them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "harness.h"
#include "spawn/common/tar.h"
#include "spawn/engine/curl_docker_engine.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace spawn::testing;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

class ConfinementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    probe_.Subscribe(topics::Root(spawnd_.path()) + "/#");
    ASSERT_TRUE(spawnd_.StartAndWaitOnline(probe_)) << spawnd_.Log();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- spawnd log ----\n" << spawnd_.Log();
  }
  const std::string& p() const { return spawnd_.path(); }

  // The id of the container of service `name`; "" when there is none.
  std::string ContainerOf(const std::string& name) {
    CurlDockerEngine engine(kDefaultDockerSocket);
    auto containers = engine.ListContainers("io.spawnpoint.path", p());
    if (!containers.ok()) {
      ADD_FAILURE() << "cannot list containers: " << containers.status().message();
      return "";
    }
    for (const auto& c : *containers) {
      auto it = c.labels.find("io.spawnpoint.service");
      if (it != c.labels.end() && it->second == name) return c.id;
    }
    return "";
  }

  std::string Inspect(const std::string& id, const std::string& format) {
    return Trim(Docker("inspect --format " + Quote(format) + " " + id).out);
  }

  bool Deploy(const ServiceConfig& c, const std::string& entity = "") {
    probe_.Subscribe(topics::Reply(p(), c.name));
    probe_.Publish(topics::ConfigSlot(p()), proto::Encode(proto::DeployRequest{
                                                c.name, c, TarWriter().Finish(), false, entity}));
    return static_cast<bool>(probe_.WaitFor(IsReply(c.name, 200)));
  }

  // Whether the engine enforces pids limits: what spawnd read back, as its heartbeat says.
  bool EngineEnforcesPidsLimits() {
    auto hb = probe_.WaitFor(SpawnpointHeartbeatWhere(p(), [](const auto&) { return true; }));
    if (!hb) return false;
    return proto::DecodeSpawnpointHeartbeat(hb->payload)->warnings.empty();
  }

  SpawndProcess spawnd_;
  Probe probe_;
};

TEST_F(ConfinementTest, PidsLimitHoldsAgainst200ProcessesAndOthersKeepAnswering) {
  ASSERT_TRUE(Deploy(Busybox("steady")));
  ASSERT_TRUE(probe_.WaitFor(LogContains(topics::ServiceLog(p(), "steady"), "hello from steady")));
  ServiceConfig forker = Busybox("forker");
  forker.pids_limit = 50;
  // Bounded: a child shell starts 200 background sleeps; at the limit its fork fails and it exits
  // (busybox sh gives up on "can't fork"), leaving the sleeps it started. Then the service's own
  // shell, which needs no new process for echo and exec, becomes one more sleep.
  forker.run = {"sh", "-c",
                "sh -c 'i=0; while [ $i -lt 200 ]; do sleep 100000 & i=$((i+1)); done' "
                "2>/dev/null; echo spa\"\"wned; exec sleep 100000"};
  ASSERT_TRUE(Deploy(forker));
  ASSERT_TRUE(probe_.WaitFor(LogContains(topics::ServiceLog(p(), "forker"), "spawned")));

  const std::string id = ContainerOf("forker");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Inspect(id, "{{.HostConfig.PidsLimit}} {{json .HostConfig.SecurityOpt}}"),
            "50 [\"no-new-privileges\"]");
  // spawnd.yml's default for a service without its own limit.
  EXPECT_EQ(Inspect(ContainerOf("steady"), "{{.HostConfig.PidsLimit}}"), "1024");

  // Counted from the host: `docker exec` would need one more process in the container.
  ShellRun top = Docker("top " + id + " -o pid");
  ASSERT_EQ(top.exit_code, 0) << top.out;
  size_t processes = 0;
  std::istringstream lines(top.out);
  for (std::string line; std::getline(lines, line);) {
    if (!Trim(line).empty() && line.find("PID") == std::string::npos) ++processes;
  }
  std::cout << "forker: " << processes << " processes of 200 started (pidsLimit 50)\n";
  if (EngineEnforcesPidsLimits()) {
    EXPECT_LE(processes, 50u);
    EXPECT_GT(processes, 1u);  // it did start what it could
  } else {
    // Not enforceable here: spawnd must say so, once, in its heartbeat.
    auto hb = probe_.WaitFor(SpawnpointHeartbeatWhere(p(), [](const auto&) { return true; }));
    ASSERT_TRUE(hb);
    const auto warnings = proto::DecodeSpawnpointHeartbeat(hb->payload)->warnings;
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_THAT(warnings[0], HasSubstr("pidsLimit is not enforced"));
  }

  // spawnd answers commands, and the other service goes on heartbeating, running.
  probe_.Clear();
  probe_.Subscribe(topics::Reply(p(), "restart-steady"));
  probe_.Publish(topics::RestartSlot(p()),
                 proto::Encode(proto::ServiceCommand{"restart-steady", "steady"}));
  ASSERT_TRUE(probe_.WaitFor(IsReply("restart-steady", 200)));
  ASSERT_TRUE(probe_.WaitFor(LogContains(topics::ServiceLog(p(), "steady"), "hello from steady")));
  EXPECT_TRUE(probe_.WaitFor(
      ServiceIn(topics::ServiceHeartbeat(p(), "steady"), proto::ServiceState::kRunning)));
}

TEST_F(ConfinementTest, ReadOnlyServiceWithAUserReadsItsEntityFromItsSecretsDirectory) {
  ServiceConfig svc = Busybox("ro");
  svc.read_only = true;
  svc.user = "1000:1000";
  svc.run = {
      "sh", "-c",
      "echo \"uid=$(id -u) entity at $SPAWNPOINT_ENTITY\"; "
      "echo \"entity: $(cat \"$SPAWNPOINT_ENTITY\")\"; "
      "if touch /probe 2>/dev/null; then echo 'root: wri''table'; else echo 'root: read''-only'; "
      "fi; "
      "if touch /run/spawnpoint/x 2>/dev/null; then echo 'secrets: wri''table'; "
      "else echo 'secrets: read''-only'; fi; "
      "touch /tmp/scratch && echo 'tmp: wri''table'; while true; do sleep 1; done"};
  ASSERT_TRUE(Deploy(svc, "the entity's bytes"));
  const std::string log = topics::ServiceLog(p(), "ro");
  ASSERT_TRUE(probe_.WaitFor(LogContains(log, "uid=1000 entity at /run/spawnpoint/entity.key")));
  EXPECT_TRUE(probe_.WaitFor(LogContains(log, "entity: the entity's bytes")));
  EXPECT_TRUE(probe_.WaitFor(LogContains(log, "root: read-only")));
  EXPECT_TRUE(probe_.WaitFor(LogContains(log, "secrets: read-only")));
  EXPECT_TRUE(probe_.WaitFor(LogContains(log, "tmp: writable")));

  const std::string id = ContainerOf("ro");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Inspect(id,
                    "{{.HostConfig.ReadonlyRootfs}} {{.Config.User}} "
                    "{{json .HostConfig.SecurityOpt}}"),
            "true 1000:1000 [\"no-new-privileges\"]");
  // Nothing of the entity in the labels (the config label included) or the environment.
  EXPECT_THAT(Inspect(id, "{{json .Config.Labels}} {{json .Config.Env}}"),
              Not(HasSubstr("the entity's bytes")));

  // On the host: the service's user owns its secrets, nobody else reads them.
  const std::string dir = (spawnd_.dir() / "state" / "secrets" / "ro").string();
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/entity.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_mode & 07777, 0400u);
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0500u);

  // Stopped and purged (zombiePeriod 3s): its secrets go with it.
  probe_.Subscribe(topics::Reply(p(), "stop-ro"));
  probe_.Publish(topics::StopSlot(p()), proto::Encode(proto::ServiceCommand{"stop-ro", "ro"}));
  ASSERT_TRUE(probe_.WaitFor(IsReply("stop-ro", 200)));
  ASSERT_TRUE(probe_.WaitFor([&](const BusMessage& m) {
    return m.topic == topics::ServiceHeartbeat(p(), "ro") && m.payload.empty();
  }));
  for (int i = 0; i < 600 && std::filesystem::exists(dir); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // removed just after the purge
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST_F(ConfinementTest, ValuesThatWouldReachTheEngineUncheckedAreRefusedNamingTheKey) {
  ServiceConfig image = Busybox("image");
  image.image = "busybox\nRUN touch /x";
  ServiceConfig apt = Busybox("apt");
  apt.apt_requires = {"jq; touch x"};
  for (const auto& [config, key] : {std::pair{image, "image"}, std::pair{apt, "aptRequires"}}) {
    probe_.Subscribe(topics::Reply(p(), config.name));
    probe_.Publish(
        topics::ConfigSlot(p()),
        proto::Encode(proto::DeployRequest{config.name, config, TarWriter().Finish(), false, ""}));
    auto reply = probe_.WaitFor(IsReply(config.name, 400));
    ASSERT_TRUE(reply) << config.name;
    EXPECT_THAT(proto::DecodeReply(reply->payload)->message, HasSubstr(key));
  }
  CurlDockerEngine engine(kDefaultDockerSocket);
  EXPECT_EQ(engine.ListContainers("io.spawnpoint.path", p())->size(), 0u);
}

}  // namespace
}  // namespace spawn
