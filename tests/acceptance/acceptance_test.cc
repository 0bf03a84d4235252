// Acceptance: the user's path, through the real spawnctl binary, a real spawnd, the machine's
// Mosquitto and Docker engine. Each test has its own spawnpoint path, HOME and project folder;
// containers, retained messages and volumes are removed at the end. Waits are bounded condition
// waits; the only time compared is restartInt, a contract on spawnd, read from the engine's own
// timestamps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "harness.h"
#include "spawn/common/status.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using namespace std::chrono_literals;
using namespace spawn::testing;
using ::testing::HasSubstr;
using ::testing::Not;

// Everything spawnctl printed, for assertions and failure messages.
std::string Printed(const CliRun& run) { return run.out + run.err; }

// The one container spawnd runs for `service` on `path`: its id ("" if none).
std::string ContainerOf(const std::string& path, const std::string& service) {
  auto run = Docker("ps -aq --filter label=io.spawnpoint.path=" + path +
                    " --filter label=io.spawnpoint.service=" + service);
  std::string id = run.out.substr(0, run.out.find('\n'));
  return id;
}

// `docker inspect -f FORMAT id`, trimmed.
std::string Inspect(const std::string& id, const std::string& format) {
  std::string out = Docker("inspect -f " + Quote(format) + " " + id).out;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// Seconds since the epoch of an RFC 3339 timestamp as the engine prints it.
double EngineTime(const std::string& rfc3339) {
  auto run = Shell("date -d " + Quote(rfc3339) + " +%s.%N");
  return std::stod(run.out);
}

// Waits until nothing more is pending between us and the broker for `probe`: a sentinel published
// after `subject` finished has arrived, so anything `subject` had published has arrived too.
void Drain(Probe& probe) {
  const std::string sentinel = "spawntest/sentinel/" + UniqueName("drain");
  probe.Subscribe(sentinel);
  probe.Publish(sentinel, "end");
  ASSERT_TRUE(probe.WaitFor(TopicIs(sentinel, "end")));
}

class AcceptanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    probe_.Subscribe(topics::Root(spawnd_.path()) + "/#");
    ASSERT_TRUE(spawnd_.StartAndWaitOnline(probe_));
  }
  CliRun Spawnctl(std::vector<std::string> args) { return RunSpawnctl(args, home_.str()); }
  const std::string& path() const { return spawnd_.path(); }

  Probe probe_;
  SpawndProcess spawnd_;
  TempDir home_{"spawnctl-home"};
  TempDir project_{"project"};
};

// Issue 6: deploy with an included file and an included directory, scan, logs, restart, stop, and
// the exit status and one-line reason of the failures.
TEST_F(AcceptanceTest, SpawnctlDeployScanLogsRestartStopEndToEnd) {
  project_.Write("greeting.txt", "hello from an included file\n");
  project_.Write("conf/settings.ini", "mode=from-an-included-dir\n");
  const auto yml =
      project_.Write("deploy.yml", std::string("name: e2e\nimage: ") + SPAWN_TEST_IMAGE +
                                       "\nuseHostNet: true\nmemAlloc: 32M\ncpuShares: 128\n"
                                       "includedFiles: [greeting.txt]\nincludedDirs: [conf]\n"
                                       "run: [sh, -c, 'cat greeting.txt conf/settings.ini; "
                                       "while true; do sleep 1; done']\n");
  const std::string hb_topic = topics::ServiceHeartbeat(path(), "e2e");

  CliRun deploy = Spawnctl({"deploy", "-u", path(), "-c", yml.string(), "--no-follow"});
  ASSERT_EQ(deploy.exit_code, 0) << Printed(deploy) << spawnd_.Log();
  EXPECT_THAT(Printed(deploy), HasSubstr("is running"));

  // Once spawnd has the container's stats, scan shows it running with memory used/allocated.
  ASSERT_TRUE(probe_.WaitFor(ServiceHeartbeatWhere(hb_topic, [](const auto& hb) {
    return hb.state == proto::ServiceState::kRunning && hb.mem_usage_mib > 0;
  })));
  CliRun scan = Spawnctl({"scan", path()});
  ASSERT_EQ(scan.exit_code, 0) << Printed(scan);
  EXPECT_THAT(scan.out, HasSubstr("Discovered 1 SpawnPoint(s):"));
  EXPECT_THAT(scan.out, HasSubstr("[e2e] running"));
  std::smatch memory;
  ASSERT_TRUE(std::regex_search(scan.out, memory, std::regex(R"(Memory: ([0-9.]+) MiB/32 MiB)")))
      << scan.out;
  EXPECT_GT(std::stod(memory[1]), 0.0) << scan.out;

  CliRun json_scan = Spawnctl({"--json", "scan", path()});
  ASSERT_EQ(json_scan.exit_code, 0) << Printed(json_scan);
  auto parsed = nlohmann::json::parse(json_scan.out, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << json_scan.out;
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0]["Path"], path());
  EXPECT_EQ(parsed[0]["Services"]["e2e"]["State"], "running");
  EXPECT_EQ(parsed[0]["Services"]["e2e"]["MemAlloc"], 32);

  // Both included things arrived in the container: its output says so, in the logs history.
  ASSERT_TRUE(probe_.WaitFor(LogContains(topics::ServiceLog(path(), "e2e"), "mode=")));
  CliRun logs = Spawnctl({"logs", "-u", path(), "-n", "e2e"});
  ASSERT_EQ(logs.exit_code, 0) << Printed(logs);
  EXPECT_THAT(logs.out, HasSubstr("hello from an included file"));
  EXPECT_THAT(logs.out, HasSubstr("mode=from-an-included-dir"));

  CliRun restart = Spawnctl({"restart", "-u", path(), "-n", "e2e", "--no-follow"});
  ASSERT_EQ(restart.exit_code, 0) << Printed(restart);
  ASSERT_TRUE(probe_.WaitFor(ServiceHeartbeatWhere(hb_topic, [](const auto& hb) {
    return hb.state == proto::ServiceState::kRunning && hb.restarts == 1;
  })));
  EXPECT_THAT(Spawnctl({"scan", path()}).out, HasSubstr("restarts 1"));

  CliRun stop = Spawnctl({"stop", "-u", path(), "-n", "e2e", "--no-follow"});
  ASSERT_EQ(stop.exit_code, 0) << Printed(stop);
  ASSERT_TRUE(probe_.WaitFor(ServiceIn(hb_topic, proto::ServiceState::kZombie)));
  // After the zombie period its retained heartbeat is cleared and scan no longer lists it.
  ASSERT_TRUE(probe_.WaitFor(TopicIs(hb_topic, "")));
  CliRun after = Spawnctl({"scan", "--all", path()});
  ASSERT_EQ(after.exit_code, 0) << Printed(after);
  EXPECT_THAT(after.out, Not(HasSubstr("[e2e]")));

  // Failures: non-zero, one line, naming what was wrong.
  for (const char* verb : {"restart", "stop"}) {
    CliRun ghost = Spawnctl({verb, "-u", path(), "-n", "ghost", "--no-follow"});
    EXPECT_NE(ghost.exit_code, 0) << verb;
    EXPECT_THAT(ghost.err, HasSubstr("ghost")) << verb;
    EXPECT_EQ(std::count(ghost.err.begin(), ghost.err.end(), '\n'), 1) << ghost.err;
  }
  probe_.Subscribe(topics::ConfigSlot(path()));
  probe_.Clear();
  const auto missing = project_.Write(
      "missing.yml", std::string("name: m\nimage: ") + SPAWN_TEST_IMAGE +
                         "\nmemAlloc: 32M\ncpuShares: 128\nincludedFiles: [not-there.txt]\n"
                         "run: [true]\n");
  CliRun no_file = Spawnctl({"deploy", "-u", path(), "-c", missing.string(), "--no-follow"});
  EXPECT_NE(no_file.exit_code, 0);
  EXPECT_THAT(no_file.err, HasSubstr("not-there.txt"));
  const auto bad = project_.Write("bad.yml", std::string("name: b\nimage: ") + SPAWN_TEST_IMAGE +
                                                 "\nmemAlloc: 12X\ncpuShares: 128\nrun: [true]\n");
  CliRun bad_value = Spawnctl({"deploy", "-u", path(), "-c", bad.string(), "--no-follow"});
  EXPECT_NE(bad_value.exit_code, 0);
  EXPECT_THAT(bad_value.err, HasSubstr("memAlloc"));
  EXPECT_THAT(bad_value.err, HasSubstr("12X"));
  Drain(probe_);
  EXPECT_TRUE(probe_.All([&](const BusMessage& m) { return m.topic == topics::ConfigSlot(path()); })
                  .empty())
      << "a deploy that failed locally was sent anyway";
}

// Issue 8: a config in the original Spawnpoint's syntax; the service killed from outside comes back
// after restartInt; stop, zombie, purge; a volume's data survives a redeploy.
TEST_F(AcceptanceTest, OriginalSyntaxKillRestartStopZombiePurgeAndVolumeSurvivesRedeploy) {
  const std::string volume = "spawntest-" + UniqueName("vol");
  project_.Write("params.yml", "greeting: hello from params.yml\n");
  // The original's keys: `container` for the image, sizes like 64M, restartInt as a duration.
  const auto yml = project_.Write(
      "deploy.yml",
      std::string("container: ") + SPAWN_TEST_IMAGE + "\nrun: [sh, -c, 'cat params.yml; M=/srv/" +
          volume +
          "/marker; if [ -f $M ]; then echo \"found marker: $(cat $M)\"; else echo first-run > $M; "
          "echo wrote marker; fi; while true; do sleep 1; done']\n"
          "memAlloc: 64M\ncpuShares: 512\nautoRestart: true\nrestartInt: 2s\n"
          "includedFiles: [params.yml]\nvolumes: [" +
          volume + "]\nuseHostNet: true\n");
  const std::string hb_topic = topics::ServiceHeartbeat(path(), "keeper");
  const std::string log_topic = topics::ServiceLog(path(), "keeper");
  struct VolumeCleanup {
    std::string name;
    ~VolumeCleanup() { Docker("volume rm -f " + name + " >/dev/null 2>&1"); }
  } cleanup{volume};

  CliRun deploy =
      Spawnctl({"deploy", "-u", path(), "-c", yml.string(), "-n", "keeper", "--no-follow"});
  ASSERT_EQ(deploy.exit_code, 0) << Printed(deploy) << spawnd_.Log();
  ASSERT_TRUE(probe_.WaitFor(LogContains(log_topic, "wrote marker")));
  ASSERT_TRUE(probe_.WaitFor(LogContains(log_topic, "hello from params.yml")));
  ASSERT_TRUE(probe_.WaitFor(ServiceIn(hb_topic, proto::ServiceState::kRunning)));
  CliRun scan = Spawnctl({"scan", path()});
  ASSERT_EQ(scan.exit_code, 0) << Printed(scan);
  EXPECT_THAT(scan.out, HasSubstr("[keeper] running"));
  EXPECT_THAT(scan.out, HasSubstr("(512 shares)"));
  EXPECT_THAT(scan.out, HasSubstr("/64 MiB"));

  // Killed from outside: spawnd restarts the same container, no sooner than restartInt.
  const std::string id = ContainerOf(path(), "keeper");
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Inspect(id, "{{.HostConfig.Memory}} {{.HostConfig.CpuShares}}"),
            std::to_string(64 * 1024 * 1024) + " 512");
  probe_.Clear();
  ASSERT_EQ(Docker("kill " + id + " >/dev/null").exit_code, 0);
  ASSERT_TRUE(probe_.WaitFor(ServiceHeartbeatWhere(hb_topic, [](const auto& hb) {
    return hb.state == proto::ServiceState::kRunning && hb.restarts == 1;
  })));
  ASSERT_EQ(Inspect(id, "{{.State.Running}}"), "true");
  const double died = EngineTime(Inspect(id, "{{.State.FinishedAt}}"));
  const double started = EngineTime(Inspect(id, "{{.State.StartedAt}}"));
  EXPECT_GE(started - died, 2.0) << "restarted before restartInt (2s)";
  ASSERT_TRUE(probe_.WaitFor(LogContains(log_topic, "found marker: first-run")));

  // Stop: a zombie, listed by scan --all, then purged.
  CliRun stop = Spawnctl({"stop", "-u", path(), "-n", "keeper", "--no-follow"});
  ASSERT_EQ(stop.exit_code, 0) << Printed(stop);
  ASSERT_TRUE(probe_.WaitFor(ServiceIn(hb_topic, proto::ServiceState::kZombie)));
  CliRun zombies = Spawnctl({"scan", "--all", path()});
  EXPECT_THAT(zombies.out, HasSubstr("[keeper] zombie")) << zombies.out;
  ASSERT_TRUE(probe_.WaitFor(TopicIs(hb_topic, "")));
  for (int i = 0; i < 100 && !ContainerOf(path(), "keeper").empty(); ++i) {
    std::this_thread::sleep_for(100ms);  // the purge removes the container
  }
  EXPECT_TRUE(ContainerOf(path(), "keeper").empty()) << "the purged service's container is left";
  EXPECT_THAT(Spawnctl({"scan", "--all", path()}).out, Not(HasSubstr("[keeper]")));

  // Redeployed: a new container on the same volume reads what the first one wrote.
  probe_.Clear();
  CliRun again =
      Spawnctl({"deploy", "-u", path(), "-c", yml.string(), "-n", "keeper", "--no-follow"});
  ASSERT_EQ(again.exit_code, 0) << Printed(again);
  EXPECT_NE(ContainerOf(path(), "keeper"), id);
  ASSERT_TRUE(probe_.WaitFor(LogContains(log_topic, "found marker: first-run")));
  CliRun logs = Spawnctl({"logs", "-u", path(), "-n", "keeper"});
  EXPECT_THAT(logs.out, HasSubstr("found marker: first-run"));
}

}  // namespace
}  // namespace spawn
