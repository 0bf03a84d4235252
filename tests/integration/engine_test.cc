// CurlDockerEngine against the real Docker engine, with the busybox image built FROM scratch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>

#include "spawn/common/tar.h"
#include "spawn/core/image_recipe.h"
#include "spawn/engine/curl_docker_engine.h"
#include "spawn/engine/inbox.h"

namespace spawn {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(engine_.Connect().ok()); }
  void TearDown() override {
    for (const auto& id : created_) engine_.RemoveContainer(id, true).IgnoreError();
    for (const auto& tag : images_)
      engine_.Call("DELETE", "/images/" + tag + "?force=1").status().IgnoreError();
    for (const auto& v : volumes_) engine_.Call("DELETE", "/volumes/" + v).status().IgnoreError();
  }
  std::string Create(const std::string& suffix, std::vector<std::string> cmd, int64_t memory = 0,
                     int64_t shares = 0, const std::string& image = SPAWN_TEST_IMAGE) {
    ContainerSpec spec;
    spec.name = "spawntest-engine-" + std::to_string(getpid()) + "-" + suffix;
    spec.image = image;
    spec.cmd = std::move(cmd);
    spec.network_mode = "host";
    spec.memory_bytes = memory;
    spec.cpu_shares = shares;
    spec.labels = {{"io.spawnpoint.test", "engine-" + std::to_string(getpid())}};
    auto id = engine_.CreateContainer(spec);
    EXPECT_TRUE(id.ok()) << id.status().message();
    if (!id.ok()) return "";
    created_.push_back(*id);
    return *id;
  }
  std::vector<std::string> Lines(const std::string& id, size_t count) {
    Inbox<LogLine> lines;
    Inbox<Status> end;
    auto stream = engine_.FollowLogs(
        id, 1, [&](const LogLine& l) { lines.Push(l); }, [&](const Status& s) { end.Push(s); });
    EXPECT_TRUE(lines.WaitFor([&](const auto& v) { return v.size() >= count; }));
    std::vector<std::string> out;
    for (const auto& l : lines.Items()) out.push_back(l.stream + ":" + l.text);
    return out;
  }

  CurlDockerEngine engine_{"/var/run/docker.sock"};
  std::vector<std::string> created_;
  std::vector<std::string> images_;   // removed after the test, whatever happened
  std::vector<std::string> volumes_;  // likewise
};

TEST_F(EngineTest, BuildsWithAnIncludedFileAndDirectoryAndTheyAreInside) {
  ServiceConfig config;
  config.name = "enginetest";
  config.image = SPAWN_TEST_IMAGE;
  config.included_files = {"hello.txt"};
  config.included_dirs = {"data"};
  config.build = {"set -e\nmkdir -p made\necho built in two lines > made/it"};  // one script
  config.run = {"sh", "-c", "cat hello.txt data/inner.txt; ls -l data/run.sh; cat made/it"};
  TarWriter archive;
  archive.AddFile("hello.txt", "hello from a file\n");
  archive.AddDirectory("data");
  archive.AddFile("data/inner.txt", "inside a dir\n");
  archive.AddFile("data/run.sh", "#!/bin/sh\n", 0755);
  const std::string tar = archive.Finish();
  const std::string dockerfile = GenerateDockerfile(config, config.image);
  // The tag as spawnd makes it, under this test's own prefix so no service image is touched.
  std::string tag = ImageTag(dockerfile, tar + std::to_string(getpid()));
  tag.replace(0, tag.find('/'), "spawntest-engine");
  images_.push_back(tag);
  Inbox<std::string> output;
  Inbox<Status> done;
  auto build = engine_.Build(
      {tag, dockerfile, tar, true, {}}, [&](const std::string& l) { output.Push(l); },
      [&](const Status& s) { done.Push(s); });
  ASSERT_TRUE(done.WaitFor([](const auto& v) { return !v.empty(); }, 120s));
  ASSERT_TRUE(done.Items()[0].ok()) << done.Items()[0].message();
  EXPECT_FALSE(output.Items().empty());  // build progress arrives line by line
  EXPECT_TRUE(*engine_.ImageExists(tag));

  const std::string id = Create("build", config.run, 0, 0, tag);  // spawnd sets it at create
  ASSERT_TRUE(engine_.StartContainer(id).ok());
  auto lines = Lines(id, 4);
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines[0], "stdout:hello from a file");
  EXPECT_EQ(lines[1], "stdout:inside a dir");
  EXPECT_THAT(lines[2], HasSubstr("-rwxr-xr-x"));  // modes survive the trip
  EXPECT_EQ(lines[3], "stdout:built in two lines");
  EXPECT_TRUE(engine_.RemoveContainer(id, true).ok());
}

TEST_F(EngineTest, BuildErrorCarriesTheEnginesMessage) {
  Inbox<Status> done;
  auto build = engine_.Build(
      {"spawntest-engine/bad:1", "FROM " SPAWN_TEST_IMAGE "\nRUN exit 7\n", "", true, {}},
      [](const std::string&) {}, [&](const Status& s) { done.Push(s); });
  ASSERT_TRUE(done.WaitFor([](const auto& v) { return !v.empty(); }, 120s));
  EXPECT_FALSE(done.Items()[0].ok());
  EXPECT_THAT(done.Items()[0].message(), HasSubstr("returned a non-zero code: 7"));
}

TEST_F(EngineTest, ImagesAreLabelledListedInspectedAndRemovedUnforced) {
  const std::string mark = "engine-" + std::to_string(getpid());
  const std::string tag = "spawntest-engine/labelled:" + std::to_string(getpid());
  images_.push_back(tag);
  Inbox<Status> done;
  BuildRequest request{tag,
                       "FROM " SPAWN_TEST_IMAGE "\nRUN echo made > /made\n",
                       "",
                       true,
                       {{"io.spawnpoint.test", mark}}};
  auto build = engine_.Build(
      request, [](const std::string&) {}, [&](const Status& s) { done.Push(s); });
  ASSERT_TRUE(done.WaitFor([](const auto& v) { return !v.empty(); }, 120s));
  ASSERT_TRUE(done.Items()[0].ok()) << done.Items()[0].message();

  auto info = engine_.InspectImage(tag);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_THAT(info->id, ::testing::StartsWith("sha256:"));
  EXPECT_THAT(info->tags, ::testing::Contains(tag));
  EXPECT_GT(info->size_bytes, 0);
  EXPECT_EQ(info->labels.at("io.spawnpoint.test"), mark);
  auto listed = engine_.ListImages("io.spawnpoint.test", mark);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, info->id);
  EXPECT_EQ((*listed)[0].size_bytes, info->size_bytes);
  EXPECT_EQ(engine_.InspectImage("spawntest-engine/none:0").status().code(), Code::kNotFound);

  // A container that uses it, even stopped, keeps it: removal is never forced.
  const std::string id = Create("user", {"true"}, 0, 0, tag);
  EXPECT_EQ(engine_.RemoveImage(tag).code(), Code::kConflict);
  ASSERT_TRUE(engine_.RemoveContainer(id, true).ok());
  EXPECT_TRUE(engine_.RemoveImage(tag).ok());
  EXPECT_FALSE(*engine_.ImageExists(tag));
}

TEST_F(EngineTest, MemoryLimitAndCpuSharesAreSetAndNeverPrivileged) {
  const std::string id = Create("limits", {"sleep", "60"}, 64 << 20, 512);
  auto info = engine_.InspectContainer(id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->memory_bytes, 64 << 20);
  EXPECT_EQ(info->cpu_shares, 512);
  EXPECT_EQ(info->network_mode, "host");
  EXPECT_FALSE(info->privileged);
  EXPECT_EQ(info->status, "created");
  auto listed = engine_.ListContainers("io.spawnpoint.test", "engine-" + std::to_string(getpid()));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, id);
}

TEST_F(EngineTest, ExitCodeThreeArrivesAsADieEvent) {
  Inbox<EngineEvent> events;
  auto stream = engine_.FollowEvents([&](const EngineEvent& e) { events.Push(e); }, [] {});
  const std::string id = Create("exit3", {"sh", "-c", "exit 3"});
  ASSERT_TRUE(engine_.StartContainer(id).ok());
  ASSERT_TRUE(events.WaitFor([&](const auto& v) {
    for (const auto& e : v) {
      if (e.container_id == id && e.kind == EngineEvent::Kind::kDie) return true;
    }
    return false;
  }));
  for (const auto& e : events.Items()) {
    if (e.container_id == id && e.kind == EngineEvent::Kind::kDie) {
      EXPECT_EQ(e.exit_code, 3);
      EXPECT_EQ(e.labels.at("io.spawnpoint.test"), "engine-" + std::to_string(getpid()));
    }
  }
  auto info = engine_.InspectContainer(id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->exit_code, 3);
  EXPECT_FALSE(info->running);
  EXPECT_FALSE(info->finished_at.empty());
}

TEST_F(EngineTest, StdoutAndStderrArriveAsSeparateLinesInOrder) {
  const std::string id =
      Create("logs", {"sh", "-c", "echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three"});
  ASSERT_TRUE(engine_.StartContainer(id).ok());
  EXPECT_EQ(Lines(id, 3), (std::vector<std::string>{"stdout:one", "stderr:two", "stdout:three"}));
}

TEST_F(EngineTest, ReadLogsGivesTheLastLinesSinceATimeWithTheEnginesTimes) {
  const int64_t before = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::string id =
      Create("readlogs", {"sh", "-c", "echo one; sleep 0.2; echo two >&2; sleep 1; echo three"});
  ASSERT_TRUE(engine_.StartContainer(id).ok());
  Lines(id, 3);  // all three written
  auto all = engine_.ReadLogs(id, 0, 100);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].text, "one");
  EXPECT_EQ((*all)[1].stream, "stderr");
  EXPECT_EQ((*all)[1].text, "two");
  EXPECT_EQ((*all)[2].text, "three");
  for (const LogLine& l : *all) EXPECT_GE(l.time_unix_ns, before - 1000000000);  // clock skew
  EXPECT_GE((*all)[2].time_unix_ns, (*all)[0].time_unix_ns + 500000000);         // after the sleep
  // Since the last line's time: that line alone; the last line only: likewise.
  auto since = engine_.ReadLogs(id, (*all)[2].time_unix_ns, 100);
  ASSERT_TRUE(since.ok());
  ASSERT_EQ(since->size(), 1u);
  EXPECT_EQ((*since)[0].text, "three");
  auto last = engine_.ReadLogs(id, 0, 1);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ((*last)[0].text, "three");
}

TEST_F(EngineTest, StatsReportMemoryInUse) {
  const std::string id = Create("stats", {"sh", "-c", "while true; do sleep 1; done"}, 64 << 20);
  ASSERT_TRUE(engine_.StartContainer(id).ok());
  Inbox<ContainerStats> samples;
  auto stream = engine_.FollowStats(
      id, [&](const ContainerStats& s) { samples.Push(s); }, [](const Status&) {});
  ASSERT_TRUE(
      samples.WaitFor([](const auto& v) { return !v.empty() && v.back().memory_usage_bytes > 0; }));
  EXPECT_EQ(samples.Items().back().memory_limit_bytes, 64 << 20);
}

TEST_F(EngineTest, StopOfAProcessIgnoringTermEndsByKillAfterTheTimeout) {
  const std::string id =
      Create("stubborn", {"sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done"});
  ASSERT_TRUE(engine_.StartContainer(id).ok());
  Lines(id, 1);  // the trap is installed once it printed
  ASSERT_TRUE(engine_.StopContainer(id, 1s).ok());
  auto info = engine_.InspectContainer(id);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->running);
  EXPECT_EQ(info->exit_code, 137);                  // 128 + SIGKILL
  EXPECT_TRUE(engine_.StopContainer(id, 1s).ok());  // stopping a stopped container is fine
}

TEST_F(EngineTest, NamedVolumesAreCreatedAndMountedUnderSrv) {
  const std::string volume = "spawntest-engine-vol-" + std::to_string(getpid());
  volumes_.push_back(volume);
  ContainerSpec spec;
  spec.name = "spawntest-engine-" + std::to_string(getpid()) + "-volume";
  spec.image = SPAWN_TEST_IMAGE;
  spec.network_mode = "none";
  spec.volumes = {volume};
  spec.cmd = {"sh", "-c", "echo kept > /srv/" + volume + "/f && cat /srv/" + volume + "/f"};
  auto id = engine_.CreateContainer(spec);
  ASSERT_TRUE(id.ok()) << id.status().message();
  created_.push_back(*id);
  ASSERT_TRUE(engine_.StartContainer(*id).ok());
  EXPECT_EQ(Lines(*id, 1), std::vector<std::string>{"stdout:kept"});
  // A second container sees what the first one wrote: the volume outlives containers.
  spec.name += "2";
  spec.cmd = {"cat", "/srv/" + volume + "/f"};
  auto second = engine_.CreateContainer(spec);
  ASSERT_TRUE(second.ok()) << second.status().message();
  created_.push_back(*second);
  ASSERT_TRUE(engine_.StartContainer(*second).ok());
  EXPECT_EQ(Lines(*second, 1), std::vector<std::string>{"stdout:kept"});
}

TEST_F(EngineTest, KillDeliversTheSignalAndRestartRunsAgain) {
  const std::string id = Create("kill", {"sh", "-c", "echo up; while true; do sleep 1; done"});
  ASSERT_TRUE(engine_.StartContainer(id).ok());
  Lines(id, 1);
  ASSERT_TRUE(engine_.RestartContainer(id, 1s).ok());
  auto info = engine_.InspectContainer(id);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->running);
  ASSERT_TRUE(engine_.KillContainer(id, "KILL").ok());
  Inbox<Status> ended;
  // The kill is asynchronous; the container's log stream ends when its process is gone.
  auto stream = engine_.FollowLogs(
      id, 1, [](const LogLine&) {}, [&](const Status& s) { ended.Push(s); });
  ASSERT_TRUE(ended.WaitFor([](const auto& v) { return !v.empty(); }));
  info = engine_.InspectContainer(id);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->running);
  EXPECT_EQ(info->exit_code, 137);
  EXPECT_EQ(engine_.KillContainer(id, "KILL").code(), Code::kConflict);  // not running
}

TEST_F(EngineTest, UnknownImageAndContainerAreNotFound) {
  ContainerSpec spec;
  spec.name = "spawntest-engine-noimage-" + std::to_string(getpid());
  spec.image = "spawntest/does-not-exist:1";
  auto created = engine_.CreateContainer(spec);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), Code::kNotFound);
  EXPECT_THAT(created.status().message(), HasSubstr("does-not-exist"));
  auto inspected = engine_.InspectContainer("spawntest-no-such-container");
  ASSERT_FALSE(inspected.ok());
  EXPECT_EQ(inspected.status().code(), Code::kNotFound);
  EXPECT_EQ(engine_.StartContainer("spawntest-no-such-container").code(), Code::kNotFound);
}

TEST_F(EngineTest, NameConflictIsAConflict) {
  Create("dup", {"true"});
  ContainerSpec spec;
  spec.name = "spawntest-engine-" + std::to_string(getpid()) + "-dup";
  spec.image = SPAWN_TEST_IMAGE;
  auto again = engine_.CreateContainer(spec);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kConflict);
}

TEST_F(EngineTest, PutArchiveCopiesAFileIntoACreatedContainer) {
  const std::string id = Create(
      "archive", {"sh", "-c", "ls -l /srv/spawnpoint/entity.key; cat /srv/spawnpoint/entity.key"});
  TarWriter w;
  w.AddFile("entity.key", "secret\n", 0600);
  ASSERT_TRUE(engine_.PutArchive(id, "/srv/spawnpoint", w.Finish()).ok());
  ASSERT_TRUE(engine_.StartContainer(id).ok());
  auto lines = Lines(id, 2);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("-rw-------"));
  EXPECT_EQ(lines[1], "stdout:secret");
}

}  // namespace
}  // namespace spawn
