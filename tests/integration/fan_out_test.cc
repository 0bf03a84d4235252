// Fan-out through the real spawnctl and spawnds on the real broker and engine: `deploy -u
// 'BASE/*'` reaches every spawnpoint `scan BASE` lists, one line each; one that is away gets it
// from its persistent session when it returns (its line says queued), and `stop -u 'BASE/*'`
// likewise.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <string>

#include "harness.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using namespace spawn::testing;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

SpawndOptions Under(const std::string& path) {
  SpawndOptions options;
  options.path = path;
  return options;
}

TEST(FanOutTest, EverySpawnpointUnderTheBaseGetsTheCommandAndAnAwayOneWhenItReturns) {
  const std::string base = "test/" + UniqueName("fanout");
  SpawndProcess a(Under(base + "/a")), b(Under(base + "/b")), away(Under(base + "/away"));
  Probe probe;
  probe.Subscribe(base + "/#");
  ASSERT_TRUE(a.StartAndWaitOnline(probe)) << a.Log();
  ASSERT_TRUE(b.StartAndWaitOnline(probe)) << b.Log();
  ASSERT_TRUE(away.StartAndWaitOnline(probe)) << away.Log();
  // Gone, but its persistent session (and its retained heartbeat) stay with the broker.
  ASSERT_EQ(away.Kill(SIGTERM) & 0x7f, 0);
  ASSERT_TRUE(probe.WaitFor(TopicIs(topics::Presence(base + "/away"), "offline")));

  TempDir home("fanout-home");
  const std::string yml = home.str() + "/deploy.yml";
  std::ofstream(yml) << "name: everywhere\nimage: " SPAWN_TEST_IMAGE
                        "\nrun: [sh, -c, 'while true; do sleep 1; done']\n"
                        "memAlloc: 32M\ncpuShares: 64\nuseHostNet: true\nstopTimeout: 1s\n";
  CliRun run = RunSpawnctl({"deploy", "-u", base + "/*", "-c", yml}, home.str());
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr(base + "/a: ok [200]"));
  EXPECT_THAT(run.out, HasSubstr(base + "/b: ok [200]"));
  EXPECT_THAT(run.out, HasSubstr(base + "/away: queued (offline:"));
  for (const std::string sp : {"/a", "/b"}) {
    EXPECT_TRUE(probe.WaitFor(
        ServiceIn(topics::ServiceHeartbeat(base + sp, "everywhere"), proto::ServiceState::kRunning),
        60s));
  }
  // Back within the command's expiry: it carries the deploy out.
  ASSERT_TRUE(away.StartAndWaitOnline(probe)) << away.Log();
  EXPECT_TRUE(probe.WaitFor(ServiceIn(topics::ServiceHeartbeat(base + "/away", "everywhere"),
                                      proto::ServiceState::kRunning),
                            60s))
      << away.Log();

  CliRun stop = RunSpawnctl({"stop", "-u", base + "/*", "-n", "everywhere"}, home.str());
  EXPECT_EQ(stop.exit_code, 0) << stop.out << stop.err;
  EXPECT_THAT(stop.out, HasSubstr(base + "/away: ok [200]"));
  // A name no spawnpoint has: every line fails, and so does the command.
  CliRun ghost = RunSpawnctl({"restart", "-u", base + "/*", "-n", "ghost"}, home.str());
  EXPECT_EQ(ghost.exit_code, 1) << ghost.out << ghost.err;
  EXPECT_THAT(ghost.out, HasSubstr(base + "/a: failed [404]"));
}

}  // namespace
}  // namespace spawn
