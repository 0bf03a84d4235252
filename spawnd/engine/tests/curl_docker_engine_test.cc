// CurlDockerEngine against a scripted HTTP server on a unix socket: the mapping of the engine's
// answers to Status codes, transport failures, and the streams' reconnection and cancellation,
// without a real engine (tests/integration/engine_test.cc covers that).
#include "spawn/engine/curl_docker_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "build_context.h"
#include "scripted_engine.h"
#include "spawn/common/tar.h"
#include "spawn/engine/inbox.h"

namespace spawn {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

TEST(CurlDockerEngineTest, AMissingSocketIsUnavailableAndNamesTheSocket) {
  CurlDockerEngine engine(::testing::TempDir() + "/no-such-dir/docker.sock");
  auto v = engine.Connect();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kUnavailable);
  EXPECT_THAT(v.status().message(), HasSubstr("cannot reach the Docker engine at " +
                                              ::testing::TempDir() + "/no-such-dir/docker.sock"));
  EXPECT_EQ(engine.StartContainer("x").code(), Code::kUnavailable);
}

TEST(CurlDockerEngineTest, ConnectChecksTheApiVersion) {
  std::string api = "1.41";
  ScriptedEngine server([&](const Request& r, int fd) {
    if (r.target == "/v1.41/_ping") return ScriptedEngine::Answer(fd, 200, "OK");
    ScriptedEngine::Answer(fd, 200, R"({"Version":"20.10.24","ApiVersion":")" + api + "\"}");
  });
  CurlDockerEngine engine(server.path());
  auto v = engine.Connect();
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->version, "20.10.24");
  api = "1.40";
  auto old = engine.Connect();
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().code(), Code::kInternal);
  EXPECT_THAT(old.status().message(), HasSubstr("1.41"));
}

TEST(CurlDockerEngineTest, HttpAnswersMapToCodesWithTheEnginesMessage) {
  ScriptedEngine server([](const Request& r, int fd) {
    if (StartsWith(r.target, "/v1.41/containers/gone/json"))
      return ScriptedEngine::Answer(fd, 404, R"({"message":"No such container: gone"})");
    if (StartsWith(r.target, "/v1.41/containers/create"))
      return ScriptedEngine::Answer(fd, 409, R"({"message":"name already in use"})");
    if (StartsWith(r.target, "/v1.41/containers/broken/start"))
      return ScriptedEngine::Answer(fd, 500, R"({"message":"cgroup trouble"})");
    if (StartsWith(r.target, "/v1.41/containers/idle/stop"))
      return ScriptedEngine::Answer(fd, 304, "");
    ScriptedEngine::Answer(fd, 400, R"({"message":"unexpected"})");
  });
  CurlDockerEngine engine(server.path());
  auto inspected = engine.InspectContainer("gone");
  EXPECT_EQ(inspected.status().code(), Code::kNotFound);
  EXPECT_THAT(inspected.status().message(), HasSubstr("No such container: gone"));
  ContainerSpec spec;
  spec.name = "svc";
  spec.image = "img";
  auto created = engine.CreateContainer(spec);
  EXPECT_EQ(created.status().code(), Code::kConflict);
  EXPECT_THAT(created.status().message(), HasSubstr("name already in use"));
  const Status started = engine.StartContainer("broken");
  EXPECT_EQ(started.code(), Code::kInternal);
  EXPECT_THAT(started.message(), HasSubstr("cgroup trouble"));
  EXPECT_TRUE(engine.StopContainer("idle", 3s).ok());  // 304: already stopped
  EXPECT_THAT(server.Requests().back().target, HasSubstr("/containers/idle/stop?t=3"));
}

TEST(CurlDockerEngineTest, CreateSendsTheWholeSpec) {
  ScriptedEngine server([](const Request& r, int fd) {
    if (StartsWith(r.target, "/v1.41/volumes/create")) return ScriptedEngine::Answer(fd, 201, "{}");
    if (StartsWith(r.target, "/v1.41/volumes/"))
      return ScriptedEngine::Answer(fd, 404, R"({"message":"no such volume"})");
    ScriptedEngine::Answer(fd, 201, R"({"Id":"abc123","Warnings":[]})");
  });
  CurlDockerEngine engine(server.path());
  ContainerSpec spec;
  spec.name = "spawnpoint_alpha_demo";
  spec.image = "spawnpoint/demo:0123456789abcdef";
  spec.cmd = {"./svc", "-v"};
  spec.env = {"A=1"};
  spec.labels = {{"io.spawnpoint.service", "demo"}};
  spec.working_dir = "/srv/spawnpoint";
  spec.memory_bytes = 64 << 20;
  spec.cpu_shares = 512;
  spec.network_mode = "host";
  spec.volumes = {"cache"};
  spec.devices = {"/dev/ttyUSB0:/dev/ttyS0:rw"};
  auto id = engine.CreateContainer(spec);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(*id, "abc123");
  const auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].target, "/v1.41/volumes/cache");
  EXPECT_EQ(nlohmann::json::parse(requests[1].body)["Name"], "cache");
  EXPECT_EQ(requests[2].target, "/v1.41/containers/create?name=spawnpoint_alpha_demo");
  const auto body = nlohmann::json::parse(requests[2].body);
  EXPECT_EQ(body["Image"], spec.image);
  EXPECT_EQ(body["Cmd"], nlohmann::json(spec.cmd));
  EXPECT_EQ(body["Env"], nlohmann::json(spec.env));
  EXPECT_EQ(body["Labels"]["io.spawnpoint.service"], "demo");
  EXPECT_EQ(body["WorkingDir"], "/srv/spawnpoint");
  const auto& host = body["HostConfig"];
  EXPECT_EQ(host["Memory"], 64 << 20);
  EXPECT_EQ(host["CpuShares"], 512);
  EXPECT_EQ(host["NetworkMode"], "host");
  EXPECT_EQ(host["Privileged"], false);
  EXPECT_EQ(host["Mounts"][0]["Type"], "volume");
  EXPECT_EQ(host["Mounts"][0]["Source"], "cache");
  EXPECT_EQ(host["Mounts"][0]["Target"], "/srv/cache");
  EXPECT_EQ(host["Devices"][0]["PathOnHost"], "/dev/ttyUSB0");
  EXPECT_EQ(host["Devices"][0]["PathInContainer"], "/dev/ttyS0");
  EXPECT_EQ(host["Devices"][0]["CgroupPermissions"], "rw");
  EXPECT_EQ(host["LogConfig"]["Type"], "json-file");
  EXPECT_EQ(host["LogConfig"]["Config"]["max-size"], "50m");
}

TEST(CurlDockerEngineTest, EnsureNetworkUsesAnExistingNetworkAsItIs) {
  ScriptedEngine server([](const Request&, int fd) {
    ScriptedEngine::Answer(fd, 200, R"({"Name":"svcnet","Id":"0123","Driver":"macvlan"})");
  });
  CurlDockerEngine engine(server.path());
  ASSERT_TRUE(engine.EnsureNetwork("svcnet").ok());
  const auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/v1.41/networks/svcnet");
}

TEST(CurlDockerEngineTest, EnsureNetworkMakesABridgeOrInASwarmAnAttachableOverlay) {
  for (const bool swarm : {false, true}) {
    ScriptedEngine server([swarm](const Request& r, int fd) {
      if (r.target == "/v1.41/info") {
        return ScriptedEngine::Answer(fd, 200,
                                      std::string(R"({"Swarm":{"LocalNodeState":")") +
                                          (swarm ? "active" : "inactive") + "\"}}");
      }
      if (r.target == "/v1.41/networks/create")
        return ScriptedEngine::Answer(fd, 201, R"({"Id":"n1"})");
      // Found by the start of another network's id only: not the one asked for.
      if (r.target == "/v1.41/networks/ab")
        return ScriptedEngine::Answer(fd, 200, R"({"Name":"other","Id":"ab12"})");
      ScriptedEngine::Answer(fd, 404, R"({"message":"network not found"})");
    });
    CurlDockerEngine engine(server.path());
    for (const std::string name : {"svcnet", "ab"}) {
      ASSERT_TRUE(engine.EnsureNetwork(name).ok()) << name;
      const auto requests = server.Requests();
      ASSERT_GE(requests.size(), 3u);
      const Request& create = requests.back();
      EXPECT_EQ(create.method, "POST");
      EXPECT_EQ(create.target, "/v1.41/networks/create");
      const auto body = nlohmann::json::parse(create.body);
      EXPECT_EQ(body["Name"], name);
      EXPECT_EQ(body["Driver"], swarm ? "overlay" : "bridge");
      EXPECT_EQ(body["Attachable"], swarm);
      EXPECT_EQ(body["CheckDuplicate"], true);
    }
  }
}

TEST(CurlDockerEngineTest, EnsureNetworkRacingAnotherCreatorSucceedsAndErrorsAreMapped) {
  std::atomic<int> create_code{409};
  ScriptedEngine server([&](const Request& r, int fd) {
    if (r.target == "/v1.41/info") return ScriptedEngine::Answer(fd, 200, R"({"Swarm":{}})");
    if (r.target == "/v1.41/networks/create") {
      return ScriptedEngine::Answer(fd, create_code,
                                    R"({"message":"network with name svcnet already exists"})");
    }
    if (r.target == "/v1.41/networks/broken")
      return ScriptedEngine::Answer(fd, 500, R"({"message":"store trouble"})");
    ScriptedEngine::Answer(fd, 404, R"({"message":"network not found"})");
  });
  CurlDockerEngine engine(server.path());
  EXPECT_TRUE(engine.EnsureNetwork("svcnet").ok());  // 409: made meanwhile
  create_code = 400;
  const Status refused = engine.EnsureNetwork("svcnet");
  EXPECT_EQ(refused.code(), Code::kBadRequest);
  EXPECT_THAT(refused.message(), HasSubstr("create bridge network svcnet"));
  const Status broken = engine.EnsureNetwork("broken");
  EXPECT_EQ(broken.code(), Code::kInternal);
  EXPECT_THAT(broken.message(), HasSubstr("store trouble"));
}

TEST(CurlDockerEngineTest, ListFiltersByLabel) {
  ScriptedEngine server([](const Request& r, int fd) {
    if (StartsWith(r.target, "/v1.41/containers/json"))
      return ScriptedEngine::Answer(fd, 200, R"([{"Id":"c1"}])");
    ScriptedEngine::Answer(fd, 200,
                           R"({"Id":"c1","Name":"/svc","State":{"Status":"exited","ExitCode":3}})");
  });
  CurlDockerEngine engine(server.path());
  auto list = engine.ListContainers("io.spawnpoint.path", "a/b");
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "svc");
  EXPECT_EQ((*list)[0].exit_code, 3);
  // filters={"label":["io.spawnpoint.path=a/b"]}, escaped
  EXPECT_THAT(
      server.Requests()[0].target,
      HasSubstr("all=1&filters=%7B%22label%22%3A%5B%22io.spawnpoint.path%3Da%2Fb%22%5D%7D"));
}

TEST(CurlDockerEngineTest, AnEngineThatDoesNotAnswerTimesOut) {
  ScriptedEngine server([&](const Request&, int) { server.HoldOpen(); });
  CurlDockerEngine engine(server.path(), 1s);
  auto info = engine.InspectContainer("x");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), Code::kTimeout);
}

TEST(CurlDockerEngineTest, BuildSendsOneContextAndReportsTheEnginesError) {
  ScriptedEngine server([](const Request&, int fd) {
    ScriptedEngine::StartStream(fd);
    ScriptedEngine::Write(fd, "{\"stream\":\"Step 1/2 : FROM x\\n\"}\r\n{\"stream\":\"");
    ScriptedEngine::Write(fd, "Step 2/2 : RUN false\\n\"}\r\n");
    ScriptedEngine::Write(
        fd,
        R"({"errorDetail":{"message":"returned a non-zero code: 1"},"error":"returned a non-zero code: 1"})"
        "\r\n");
  });
  CurlDockerEngine engine(server.path());
  TarWriter included;
  included.AddFile("params.yml", "a: 1\n");
  Inbox<std::string> output;
  Inbox<Status> done;
  auto stream = engine.Build(
      {"spawnpoint/demo:1", "FROM x\nRUN false\n", included.Finish(), true, {{"k", "v"}}},
      [&](const std::string& line) { output.Push(line); }, [&](const Status& s) { done.Push(s); });
  ASSERT_TRUE(done.WaitForCount(1));
  EXPECT_EQ(done.Items()[0].code(), Code::kBadRequest);
  EXPECT_THAT(done.Items()[0].message(), HasSubstr("returned a non-zero code: 1"));
  EXPECT_EQ(output.Items(),
            (std::vector<std::string>{"Step 1/2 : FROM x", "Step 2/2 : RUN false"}));
  const Request r = server.Requests().at(0);
  EXPECT_EQ(r.method, "POST");
  EXPECT_THAT(r.target, HasSubstr("/v1.41/build?t=spawnpoint%2Fdemo%3A1"));
  EXPECT_THAT(r.target, HasSubstr("&rm=1&forcerm=1&networkmode=host"));
  EXPECT_THAT(r.target, HasSubstr("&labels=%7B%22k%22%3A%22v%22%7D"));  // {"k":"v"}
  auto context = ReadTar(r.body);
  ASSERT_TRUE(context.ok()) << context.status().message();
  ASSERT_EQ(context->size(), 2u);
  EXPECT_EQ((*context)[0].path, kDockerfileName);
  EXPECT_EQ((*context)[1].path, "params.yml");
}

TEST(CurlDockerEngineTest, EventsReconnectAfterTheEngineGoesAwayAndRepeatNothing) {
  std::atomic<int> connection{0};
  ScriptedEngine server([&](const Request& r, int fd) {
    if (!StartsWith(r.target, "/v1.41/events?")) return ScriptedEngine::Answer(fd, 404, "{}");
    const int n = connection++;
    ScriptedEngine::StartStream(fd);
    nlohmann::json event = {
        {"Type", "container"},
        {"Action", "die"},
        {"Actor",
         {{"ID", "c" + std::to_string(n)},
          {"Attributes", {{"exitCode", "3"}, {"io.spawnpoint.service", "demo"}}}}},
        {"timeNano", std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count()}};
    ScriptedEngine::Write(fd, event.dump() + "\n");
    if (n > 0) server.HoldOpen();  // the first connection ends: the engine "restarted"
  });
  CurlDockerEngine engine(server.path());
  Inbox<EngineEvent> events;
  Inbox<int> reconnects;
  {
    auto stream = engine.FollowEvents([&](const EngineEvent& e) { events.Push(e); },
                                      [&] { reconnects.Push(1); });
    ASSERT_TRUE(events.WaitForCount(2));
    ASSERT_TRUE(reconnects.WaitForCount(1));
  }  // destroying the stream cancels it although the engine holds it open
  const auto got = events.Items();
  EXPECT_EQ(got[0].kind, EngineEvent::Kind::kDie);
  EXPECT_EQ(got[0].container_id, "c0");
  EXPECT_EQ(got[0].exit_code, 3);
  EXPECT_EQ(got[0].labels, (std::map<std::string, std::string>{{"io.spawnpoint.service", "demo"}}));
  EXPECT_EQ(got[1].container_id, "c1");
  EXPECT_EQ(reconnects.Items().size(), 1u);
  const auto requests = server.Requests();
  ASSERT_GE(requests.size(), 2u);
  // The second connection asks for what came after the last event it saw.
  const int64_t after = got[0].time_unix_ns + 1;
  char since[64];
  std::snprintf(since, sizeof since, "since=%lld.%09lld",
                static_cast<long long>(after / 1000000000),
                static_cast<long long>(after % 1000000000));
  EXPECT_THAT(requests[1].target, HasSubstr(since));
  EXPECT_THAT(requests[0].target, HasSubstr("%22die%22"));
}

TEST(CurlDockerEngineTest, LogsDemultiplexAndCancelPromptlyWithoutFurtherCallbacks) {
  ScriptedEngine server([&](const Request& r, int fd) {
    if (StartsWith(r.target, "/v1.41/containers/c1/json"))
      return ScriptedEngine::Answer(fd, 200, R"({"Id":"c1","Config":{"Tty":false}})");
    ScriptedEngine::StartStream(fd);
    std::string frame = std::string("\x02\0\0\0\0\0\0\x05", 8) + "oops\n";
    ScriptedEngine::Write(fd, frame);
    server.HoldOpen();  // a quiet container: the stream stays open
  });
  CurlDockerEngine engine(server.path());
  Inbox<LogLine> lines;
  Inbox<Status> ends;
  auto stream = engine.FollowLogs(
      "c1", 0, [&](const LogLine& l) { lines.Push(l); }, [&](const Status& s) { ends.Push(s); });
  ASSERT_TRUE(lines.WaitForCount(1));
  EXPECT_EQ(lines.Items()[0].stream, "stderr");
  EXPECT_EQ(lines.Items()[0].text, "oops");
  stream->Cancel();
  EXPECT_TRUE(ends.Items().empty());
  EXPECT_THAT(server.Requests().at(1).target,
              HasSubstr("/containers/c1/logs?follow=1&stdout=1&stderr=1&tail=0"));
}

TEST(CurlDockerEngineTest, ReadLogsAsksForTheLastLinesSinceWithTimesAndSplitsThem) {
  auto frame = [](char stream, const std::string& payload) {
    std::string f = std::string(1, stream) + std::string(3, '\0');
    for (int shift = 24; shift >= 0; shift -= 8) f += static_cast<char>(payload.size() >> shift);
    return f + payload;
  };
  ScriptedEngine server([&](const Request& r, int fd) {
    if (StartsWith(r.target, "/v1.41/containers/c1/json"))
      return ScriptedEngine::Answer(fd, 200, R"({"Id":"c1","Config":{"Tty":false}})");
    if (StartsWith(r.target, "/v1.41/containers/gone/"))
      return ScriptedEngine::Answer(fd, 404, R"({"message":"No such container: gone"})");
    ScriptedEngine::Answer(fd, 200,
                           frame(1, "2026-12-06T19:40:00.5Z first line\n") +
                               frame(2, "2026-12-06T19:40:01.000000001Z oops\n"));
  });
  CurlDockerEngine engine(server.path());
  auto lines = engine.ReadLogs("c1", 1000000002, 5);
  ASSERT_TRUE(lines.ok()) << lines.status().message();
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[0].stream, "stdout");
  EXPECT_EQ((*lines)[0].text, "first line");
  EXPECT_EQ((*lines)[0].time_unix_ns, 1796586000500000000);
  EXPECT_EQ((*lines)[1].stream, "stderr");
  EXPECT_EQ((*lines)[1].text, "oops");
  EXPECT_EQ((*lines)[1].time_unix_ns, 1796586001000000001);
  EXPECT_THAT(server.Requests().at(1).target,
              HasSubstr("/containers/c1/logs?stdout=1&stderr=1&timestamps=1&tail=5&"
                        "since=1.000000002"));
  EXPECT_THAT(server.Requests().at(1).target, Not(HasSubstr("follow")));
  EXPECT_EQ(engine.ReadLogs("gone", 0, 5).status().code(), Code::kNotFound);
}

TEST(CurlDockerEngineTest, CancelFromItsOwnCallbackStopsFurtherCallbacks) {
  ScriptedEngine server([&](const Request& r, int fd) {
    if (StartsWith(r.target, "/v1.41/containers/c1/json"))
      return ScriptedEngine::Answer(fd, 200, R"({"Id":"c1","Config":{"Tty":true}})");
    ScriptedEngine::StartStream(fd);
    ScriptedEngine::Write(fd, "one\ntwo\nthree\n");  // one chunk: the lines arrive together
    server.HoldOpen();
  });
  CurlDockerEngine engine(server.path());
  std::mutex mu;
  std::unique_ptr<Stream> stream;
  Inbox<std::string> lines;
  Inbox<Status> ends;
  {
    std::lock_guard lock(mu);  // the callback must not see `stream` before it is assigned
    stream = engine.FollowLogs(
        "c1", 0,
        [&](const LogLine& l) {
          {
            std::lock_guard lock(mu);
            stream->Cancel();  // on the stream's own thread: no deadlock, and no more lines
          }
          lines.Push(l.text);
        },
        [&](const Status& s) { ends.Push(s); });
  }
  ASSERT_TRUE(lines.WaitForCount(1));
  stream.reset();  // joins the thread: whatever was to come has come
  EXPECT_EQ(lines.Items(), std::vector<std::string>{"one"});
  EXPECT_TRUE(ends.Items().empty());
}

TEST(CurlDockerEngineTest, LogsOfAnUnknownContainerEndNotFound) {
  ScriptedEngine server([](const Request&, int fd) {
    ScriptedEngine::Answer(fd, 404, R"({"message":"No such container: c9"})");
  });
  CurlDockerEngine engine(server.path());
  Inbox<Status> ends;
  auto stream = engine.FollowLogs(
      "c9", 0, [](const LogLine&) {}, [&](const Status& s) { ends.Push(s); });
  ASSERT_TRUE(ends.WaitForCount(1));
  EXPECT_EQ(ends.Items()[0].code(), Code::kNotFound);
}

// Each poll is a one-shot sample, which carries no previous CPU reading: the previous poll's is
// the baseline, so the first sample has no CPU figure and the next ones have the exact one. Each
// poll after the first runs on the transfer the last one left: what that one read is gone.
TEST(CurlDockerEngineTest, StatsArePolledOneShotWithThePreviousPollAsTheCpuBaseline) {
  std::atomic<int> polls{0};
  ScriptedEngine server([&](const Request&, int fd) {
    const int n = ++polls;
    const nlohmann::json sample = {{"memory_stats", {{"usage", 1000 * n}, {"limit", 64 << 20}}},
                                   {"cpu_stats",
                                    {{"cpu_usage", {{"total_usage", 100 * n}}},
                                     {"system_cpu_usage", 1000 * n},
                                     {"online_cpus", 2}}}};
    ScriptedEngine::Answer(fd, 200, sample.dump());
  });
  CurlDockerEngine engine(server.path());
  engine.SetStatsInterval(std::chrono::milliseconds(10));
  Inbox<ContainerStats> samples;
  auto stream = engine.FollowStats(
      "c1", [&](const ContainerStats& s) { samples.Push(s); }, [](const Status&) {});
  ASSERT_TRUE(samples.WaitForCount(3));
  stream.reset();
  const auto items = samples.Items();
  EXPECT_EQ(items[0].memory_usage_bytes, 1000);
  EXPECT_EQ(items[0].cpu_percent, 0);
  EXPECT_EQ(items[1].memory_usage_bytes, 2000);
  EXPECT_DOUBLE_EQ(items[1].cpu_percent, 100.0 / 1000 * 2 * 100);  // 20% of one core, 2 online
  EXPECT_DOUBLE_EQ(items[2].cpu_percent, items[1].cpu_percent);
  for (const Request& r : server.Requests())
    EXPECT_EQ(r.target, "/v1.41/containers/c1/stats?stream=0&one-shot=1");
}

// A stopped container's sample has no memory figures; it is not reported, and polling goes on.
TEST(CurlDockerEngineTest, AStoppedContainersEmptySampleIsSkipped) {
  std::atomic<int> polls{0};
  ScriptedEngine server([&](const Request&, int fd) {
    const bool stopped = ++polls == 1;
    ScriptedEngine::Answer(
        fd, 200,
        stopped ? R"({"memory_stats":{},"cpu_stats":{}})" : R"({"memory_stats":{"usage":2000}})");
  });
  CurlDockerEngine engine(server.path());
  engine.SetStatsInterval(std::chrono::milliseconds(10));
  Inbox<ContainerStats> samples;
  auto stream = engine.FollowStats(
      "c1", [&](const ContainerStats& s) { samples.Push(s); }, [](const Status&) {});
  ASSERT_TRUE(samples.WaitForCount(1));
  EXPECT_EQ(samples.Items()[0].memory_usage_bytes, 2000);
}

// The polls of many containers that fall due together go to the engine in turns that take all
// kStatsPollsAtOnce slots, and every one of them is answered. (That no turn is ever larger is the
// hub's to show: stream_hub_test.cc.)
TEST(CurlDockerEngineTest, StatsPollsFallingDueTogetherTakeTurns) {
  constexpr int kSlots = CurlDockerEngine::kStatsPollsAtOnce;
  constexpr int kContainers = kSlots * 2 + 10;
  std::mutex mu;
  std::condition_variable changed;
  int arrived = 0, in_flight = 0, most_in_flight = 0, turn = 0;
  ScriptedEngine server([&](const Request&, int fd) {
    {
      // The answers of a turn wait until every slot is taken (or every poll has come), then go
      // together: the polls of a turn are all in flight at once, and one too many would show.
      std::unique_lock lock(mu);
      ++arrived;
      most_in_flight = std::max(most_in_flight, ++in_flight);
      const int mine = turn;
      if (in_flight >= kSlots || arrived == kContainers) {
        ++turn;
        changed.notify_all();
      } else {
        changed.wait_for(lock, 60s, [&] { return turn != mine; });
      }
      --in_flight;
    }
    ScriptedEngine::Answer(fd, 200, R"({"memory_stats":{"usage":1000}})");
  });
  CurlDockerEngine engine(server.path());
  engine.SetStatsInterval(std::chrono::hours(1));  // one poll each
  Inbox<std::string> sampled;
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < kContainers; ++i) {
    const std::string id = "c" + std::to_string(i);
    streams.push_back(engine.FollowStats(
        id, [&sampled, id](const ContainerStats&) { sampled.Push(id); }, [](const Status&) {}));
  }
  ASSERT_TRUE(sampled.WaitForCount(kContainers));
  streams.clear();
  const auto ids = sampled.Items();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), size_t{kContainers});
  EXPECT_EQ(most_in_flight, kSlots);
}

// A poll waiting for its turn is dropped when its stream is cancelled: it never reaches the engine.
TEST(CurlDockerEngineTest, ACancelledPollWaitingForItsTurnIsNeverSent) {
  std::mutex mu;
  std::condition_variable changed;
  bool release = false;
  ScriptedEngine server([&](const Request& r, int fd) {
    if (r.target.find("/stats") == std::string::npos) {
      ScriptedEngine::Answer(fd, 404, R"({"message":"No such container"})");
      return;
    }
    {
      std::unique_lock lock(mu);
      changed.wait_for(lock, 30s, [&] { return release; });
    }
    ScriptedEngine::Answer(fd, 200, R"({"memory_stats":{"usage":1000}})");
  });
  CurlDockerEngine engine(server.path());
  engine.SetStatsInterval(std::chrono::hours(1));
  Inbox<std::string> sampled;
  auto follow = [&](const std::string& id) {
    return engine.FollowStats(
        id, [&sampled, id](const ContainerStats&) { sampled.Push(id); }, [](const Status&) {});
  };
  std::vector<std::unique_ptr<Stream>> holding;  // fill every slot
  for (int i = 0; i < CurlDockerEngine::kStatsPollsAtOnce; ++i)
    holding.push_back(follow("busy" + std::to_string(i)));
  ASSERT_TRUE(server.WaitForRequests(CurlDockerEngine::kStatsPollsAtOnce));
  auto waiting = follow("dropped");
  auto after = follow("after");
  // A log stream added after them starts with an inspect at once: when the engine has seen it,
  // the hub has taken in both polls (and would have sent them, were they not waiting).
  Inbox<Status> marker_ended;
  auto marker = engine.FollowLogs(
      "marker", 0, [](const LogLine&) {}, [&](const Status& s) { marker_ended.Push(s); });
  ASSERT_TRUE(marker_ended.WaitForCount(1));
  waiting->Cancel();
  {
    std::lock_guard lock(mu);
    release = true;
  }
  changed.notify_all();
  ASSERT_TRUE(sampled.WaitForCount(CurlDockerEngine::kStatsPollsAtOnce + 1));
  holding.clear();
  after.reset();
  marker.reset();
  for (const Request& r : server.Requests()) EXPECT_THAT(r.target, Not(HasSubstr("dropped")));
  const auto ids = sampled.Items();
  EXPECT_EQ(std::count(ids.begin(), ids.end(), "after"), 1);
}

TEST(CurlDockerEngineTest, StatsOfAnUnknownContainerEndNotFound) {
  ScriptedEngine server([](const Request&, int fd) {
    ScriptedEngine::Answer(fd, 404, R"({"message":"No such container: c9"})");
  });
  CurlDockerEngine engine(server.path());
  Inbox<ContainerStats> samples;
  Inbox<Status> ends;
  auto stream = engine.FollowStats(
      "c9", [&](const ContainerStats& s) { samples.Push(s); },
      [&](const Status& s) { ends.Push(s); });
  ASSERT_TRUE(ends.WaitForCount(1));
  EXPECT_EQ(ends.Items()[0].code(), Code::kNotFound);
  EXPECT_TRUE(samples.Items().empty());
}

}  // namespace
}  // namespace spawn
