// The original Spawnpoint README's example deploy.yml, as its users wrote it, deployed with the
// real spawnctl to the real spawnd and engine: `entity` under the user's home (~), `container`
// naming an image (the locally built busybox image, since none can be pulled here), `build`, `run`,
// `memAlloc`, `cpuShares`, `autoRestart`, `includedFiles` and `volumes`. Only `build` and `run`
// differ from the original's (which built a Go program), and the named volumes are the test's own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "harness.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using namespace spawn::testing;

// The test's named volumes, removed at the end, once the container using them is gone.
class ScopedVolumes {
 public:
  ScopedVolumes() : foo(UniqueName("foo")), bar(UniqueName("bar")) {}
  ~ScopedVolumes() { Docker("volume rm " + Quote(foo) + " " + Quote(bar) + " >/dev/null 2>&1"); }
  const std::string foo, bar;
};

TEST(OriginalConfigTest, TheOriginalReadmesExampleDeploysAndRuns) {
  const ScopedVolumes volumes;  // declared first: destroyed after spawnd removed its containers
  const std::string& foo = volumes.foo;
  const std::string& bar = volumes.bar;
  SpawndProcess spawnd;
  Probe probe;
  probe.Subscribe(topics::Root(spawnd.path()) + "/#");
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe)) << spawnd.Log();

  TempDir home("original-home");
  home.Write("bosswave/spawnpointTest.key", "the service's entity\n");
  const auto yml = home.Write("svc/deploy.yml",
                              "entity: ~/bosswave/spawnpointTest.key\n"
                              "container: " SPAWN_TEST_IMAGE
                              "\n"
                              "build: [echo built > built.txt]\n"
                              "run: [sh, -c, 'cat built.txt params.yml \"$BW2_DEFAULT_ENTITY\"; "
                              "ls /srv; sleep 600']\n"
                              "memAlloc: 64M\n"
                              "cpuShares: 1024\n"
                              "autoRestart: true\n"
                              "includedFiles: [params.yml]\n"
                              "volumes: [" +
                                  foo + ", " + bar + "]\n");
  home.Write("svc/params.yml", "rate: 100\n");

  CliRun run = RunSpawnctl(
      {"deploy", "-u", spawnd.path(), "-c", yml.string(), "-n", "demosvc", "--no-follow"},
      home.str());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const std::string log = topics::ServiceLog(spawnd.path(), "demosvc");
  for (const std::string& line : {std::string("built"), std::string("rate: 100"),
                                  std::string("the service's entity"), foo, bar}) {
    EXPECT_TRUE(probe.WaitFor(LogContains(log, line))) << "no log line with " << line;
  }
}

}  // namespace
}  // namespace spawn
