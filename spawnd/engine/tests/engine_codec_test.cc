#include "engine_codec.h"

#include <gtest/gtest.h>

#include "curl_http_prober.h"

namespace spawn {
namespace {

std::string Frame(int stream, const std::string& payload) {
  std::string f(8, '\0');
  f[0] = static_cast<char>(stream);
  const uint32_t n = static_cast<uint32_t>(payload.size());
  f[4] = static_cast<char>(n >> 24);
  f[5] = static_cast<char>(n >> 16);
  f[6] = static_cast<char>(n >> 8);
  f[7] = static_cast<char>(n);
  return f + payload;
}

std::vector<std::string> Collect(bool tty, const std::vector<std::string>& chunks,
                                 bool flush = true) {
  std::vector<std::string> lines;
  LogDemultiplexer demux(tty, [&](const LogLine& l) { lines.push_back(l.stream + ":" + l.text); });
  for (const auto& c : chunks) demux.Feed(c);
  if (flush) demux.Flush();
  return lines;
}

TEST(InspectSaysTtyTest, ConfigTtyOrFalseForAnythingElse) {
  EXPECT_TRUE(InspectSaysTty(R"({"Id":"c1","Config":{"Tty":true}})"));
  EXPECT_FALSE(InspectSaysTty(R"({"Id":"c1","Config":{"Tty":false}})"));
  EXPECT_FALSE(InspectSaysTty(R"({"Id":"c1","Config":{}})"));
  EXPECT_FALSE(InspectSaysTty(R"({"Id":"c1"})"));
  EXPECT_FALSE(InspectSaysTty("not json"));
}

TEST(SplitLogTimestampTest, RfcThreeThreeThreeNineNanoInUtcAndTheTextAfterIt) {
  int64_t ns = 0;
  std::string_view text;
  ASSERT_TRUE(SplitLogTimestamp("2026-12-06T19:40:00.123456789Z hello world", &ns, &text));
  EXPECT_EQ(ns, 1796586000123456789);
  EXPECT_EQ(text, "hello world");
  // The engine trims trailing zeros of the fraction, or leaves it out.
  ASSERT_TRUE(SplitLogTimestamp("2026-12-06T19:40:00.5Z x", &ns, &text));
  EXPECT_EQ(ns, 1796586000500000000);
  ASSERT_TRUE(SplitLogTimestamp("2026-12-06T19:40:00Z ", &ns, &text));
  EXPECT_EQ(ns, 1796586000000000000);
  EXPECT_EQ(text, "");
  for (const char* bad : {"hello", "2026-12-06 19:40:00Z x", "2026-12-06T19:40:00.Z x",
                          "2026-12-06T19:40:00.1234567891Z x", "2026-12-06T19:40:00+01:00 x"})
    EXPECT_FALSE(SplitLogTimestamp(bad, &ns, &text)) << bad;
}

TEST(EngineMessageTest, TheEnginesMessageOrTheBodyItself) {
  EXPECT_EQ(EngineMessage(R"({"message":"No such container: c9"})"), "No such container: c9");
  EXPECT_EQ(EngineMessage("page not found"), "page not found");
  EXPECT_EQ(EngineMessage(R"({"other":1})"), R"({"other":1})");
  EXPECT_EQ(EngineMessage(""), "no message from the engine");
}

TEST(ParseEventTest, ExitCodeIsTakenOutOfTheLabels) {
  const EngineEvent e = ParseEvent(nlohmann::json::parse(R"({
    "Type": "container", "Action": "die", "timeNano": 1700000000123456789,
    "Actor": {"ID": "c1", "Attributes": {"exitCode": "3", "io.spawnpoint.service": "demo"}}
  })"));
  EXPECT_EQ(e.kind, EngineEvent::Kind::kDie);
  EXPECT_EQ(e.action, "die");
  EXPECT_EQ(e.container_id, "c1");
  EXPECT_EQ(e.exit_code, 3);
  EXPECT_EQ(e.time_unix_ns, 1700000000123456789);
  EXPECT_EQ(e.labels, (std::map<std::string, std::string>{{"io.spawnpoint.service", "demo"}}));
}

TEST(ParseEventTest, KindsFromTheAction) {
  auto kind = [](const std::string& action) {
    return ParseEvent(nlohmann::json{{"Action", action}, {"Actor", {{"ID", "c1"}}}}).kind;
  };
  EXPECT_EQ(kind("start"), EngineEvent::Kind::kStart);
  EXPECT_EQ(kind("oom"), EngineEvent::Kind::kOom);
  EXPECT_EQ(kind("health_status: unhealthy"), EngineEvent::Kind::kHealthStatus);
  EXPECT_EQ(kind("exec_start"), EngineEvent::Kind::kOther);
  // Older engines name the action `status` and the container `id`.
  const EngineEvent old = ParseEvent(nlohmann::json{{"status", "die"}, {"id", "c2"}});
  EXPECT_EQ(old.kind, EngineEvent::Kind::kDie);
  EXPECT_EQ(old.container_id, "c2");
}

TEST(ParseInspectTest, EveryFieldAndTheNameWithoutItsSlash) {
  const ContainerInfo info = ParseInspect(nlohmann::json::parse(R"({
    "Id": "abc", "Name": "/svc",
    "Config": {"Image": "img:1", "Labels": {"io.spawnpoint.service": "demo"}},
    "State": {"Status": "exited", "Running": false, "ExitCode": 137, "OOMKilled": true,
              "StartedAt": "2024-01-01T00:00:00Z", "FinishedAt": "2024-01-01T00:01:00Z"},
    "HostConfig": {"Memory": 67108864, "CpuShares": 512, "NetworkMode": "host", "Privileged": false}
  })"));
  EXPECT_EQ(info.id, "abc");
  EXPECT_EQ(info.name, "svc");
  EXPECT_EQ(info.image, "img:1");
  EXPECT_EQ(info.labels.at("io.spawnpoint.service"), "demo");
  EXPECT_EQ(info.status, "exited");
  EXPECT_FALSE(info.running);
  EXPECT_EQ(info.exit_code, 137);
  EXPECT_TRUE(info.oom_killed);
  EXPECT_EQ(info.finished_at, "2024-01-01T00:01:00Z");
  EXPECT_EQ(info.memory_bytes, 67108864);
  EXPECT_EQ(info.cpu_shares, 512);
  EXPECT_EQ(info.network_mode, "host");
  EXPECT_EQ(ParseInspect(nlohmann::json::object()).name, "");  // missing members: defaults
}

TEST(CreateContainerBodyTest, DevicesDefaultToTheSamePathAndRwm) {
  ContainerSpec spec;
  spec.image = "img";
  spec.devices = {"/dev/ttyUSB0", "/dev/ttyUSB1:/dev/ttyS1"};
  const auto body = CreateContainerBody(spec);
  const auto& devices = body["HostConfig"]["Devices"];
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0]["PathInContainer"], "/dev/ttyUSB0");
  EXPECT_EQ(devices[0]["CgroupPermissions"], "rwm");
  EXPECT_EQ(devices[1]["PathInContainer"], "/dev/ttyS1");
  EXPECT_EQ(devices[1]["CgroupPermissions"], "rwm");
  EXPECT_EQ(body["HostConfig"]["Privileged"], false);
  EXPECT_FALSE(body.contains("Cmd"));  // the image's own
  EXPECT_FALSE(body["HostConfig"].contains("NetworkMode"));
}

TEST(CreateContainerBodyTest, AUserDefinedNetworkWithAliases) {
  ContainerSpec spec;
  spec.image = "img";
  spec.network_mode = "svcnet";
  spec.network_aliases = {"demo"};
  const auto body = CreateContainerBody(spec);
  EXPECT_EQ(body["HostConfig"]["NetworkMode"], "svcnet");
  EXPECT_EQ(body["NetworkingConfig"],
            (nlohmann::json{{"EndpointsConfig", {{"svcnet", {{"Aliases", {"demo"}}}}}}}));
  // The engine refuses aliases on its own networks: none are sent there.
  spec.network_mode = "host";
  EXPECT_FALSE(CreateContainerBody(spec).contains("NetworkingConfig"));
  spec.network_mode = "svcnet";
  spec.network_aliases.clear();
  EXPECT_FALSE(CreateContainerBody(spec).contains("NetworkingConfig"));
}

TEST(CreateContainerBodyTest, ConfinementAndSecretsMount) {
  ContainerSpec spec;
  spec.image = "busybox";
  spec.pids_limit = 50;
  spec.read_only_rootfs = true;
  spec.user = "1000:1000";
  spec.no_new_privileges = true;
  spec.volumes = {"data"};
  spec.binds = {{"/var/lib/spawnd/secrets/svc", "/run/spawnpoint", true}};
  const auto body = CreateContainerBody(spec);
  const auto& host = body["HostConfig"];
  EXPECT_EQ(host["PidsLimit"], 50);
  EXPECT_EQ(host["ReadonlyRootfs"], true);
  EXPECT_EQ(host["Tmpfs"]["/tmp"], "rw,nosuid,nodev,mode=1777");
  EXPECT_EQ(host["SecurityOpt"], nlohmann::json::array({"no-new-privileges"}));
  EXPECT_EQ(body["User"], "1000:1000");
  ASSERT_EQ(host["Mounts"].size(), 2u);
  EXPECT_EQ(host["Mounts"][1], (nlohmann::json{{"Type", "bind"},
                                               {"Source", "/var/lib/spawnd/secrets/svc"},
                                               {"Target", "/run/spawnpoint"},
                                               {"ReadOnly", true}}));
  // Left out, the engine's defaults hold.
  const auto plain = CreateContainerBody(ContainerSpec{});
  for (const char* key : {"PidsLimit", "ReadonlyRootfs", "Tmpfs", "SecurityOpt"}) {
    EXPECT_FALSE(plain["HostConfig"].contains(key)) << key;
  }
  EXPECT_FALSE(plain.contains("User"));
}

TEST(ParseInspectTest, PidsLimitAsTheEngineHoldsIt) {
  EXPECT_EQ(ParseInspect(nlohmann::json::parse(R"({"HostConfig":{"PidsLimit":50}})")).pids_limit,
            50);
  // Discarded by an engine that cannot enforce it: null.
  EXPECT_EQ(ParseInspect(nlohmann::json::parse(R"({"HostConfig":{"PidsLimit":null}})")).pids_limit,
            0);
}

TEST(CreateWarningsTest, TheEnginesWarningsIfAny) {
  EXPECT_EQ(
      CreateWarnings(nlohmann::json::parse(
          R"({"Id":"x","Warnings":["Your kernel does not support pids limit capabilities",""]})")),
      std::vector<std::string>{"Your kernel does not support pids limit capabilities"});
  EXPECT_TRUE(CreateWarnings(nlohmann::json::parse(R"({"Id":"x","Warnings":null})")).empty());
  EXPECT_TRUE(CreateWarnings(nlohmann::json::parse(R"({"Id":"x"})")).empty());
}

TEST(NetworkTest, ABridgeUnlessTheEngineIsInASwarm) {
  EXPECT_FALSE(SwarmActive(nlohmann::json::parse(R"({"Swarm":{"LocalNodeState":"inactive"}})")));
  EXPECT_FALSE(SwarmActive(nlohmann::json::parse(R"({"Swarm":{"LocalNodeState":"pending"}})")));
  EXPECT_FALSE(SwarmActive(nlohmann::json::parse(R"({"ID":"x"})")));
  EXPECT_TRUE(SwarmActive(nlohmann::json::parse(R"({"Swarm":{"LocalNodeState":"active"}})")));
  EXPECT_EQ(
      CreateNetworkBody("n", false),
      (nlohmann::json{
          {"Name", "n"}, {"Driver", "bridge"}, {"Attachable", false}, {"CheckDuplicate", true}}));
  EXPECT_EQ(
      CreateNetworkBody("n", true),
      (nlohmann::json{
          {"Name", "n"}, {"Driver", "overlay"}, {"Attachable", true}, {"CheckDuplicate", true}}));
}

TEST(ParseBuildLineTest, StreamTextStatusOrError) {
  EXPECT_EQ(ParseBuildLine(nlohmann::json{{"stream", "Step 1/2 : FROM x\r\n"}}).text,
            "Step 1/2 : FROM x");
  EXPECT_EQ(ParseBuildLine(nlohmann::json{{"status", "Pulling"}}).text, "Pulling");
  EXPECT_EQ(ParseBuildLine(nlohmann::json{{"stream", "\n"}}).text, "");
  const BuildLine failed = ParseBuildLine(nlohmann::json{{"error", "exit 1"}, {"stream", "x"}});
  ASSERT_TRUE(failed.error.has_value());
  EXPECT_EQ(*failed.error, "exit 1");
  EXPECT_EQ(failed.text, "");
  EXPECT_EQ(*ParseBuildLine(nlohmann::json{{"error", {{"code", 1}}}}).error, R"({"code":1})");
}

TEST(JsonLinesTest, DocumentsSplitAcrossFeedsBlankAndBrokenLinesSkipped) {
  std::vector<std::string> got;
  JsonLines lines([&](const nlohmann::json& j) { got.push_back(j.dump()); });
  lines.Feed("{\"a\":");
  lines.Feed("1}\r\n\n  \nnot json\n{\"b\":2}\n{\"c\"");
  EXPECT_EQ(got, (std::vector<std::string>{R"({"a":1})", R"({"b":2})"}));
  lines.Feed(":3}\n");
  EXPECT_EQ(got.back(), R"({"c":3})");
}

TEST(StatsTest, KeepStatsMemberSkipsWhatComputeStatsDoesNotRead) {
  const auto sample = nlohmann::json::parse(
      R"({"read": "now", "pids_stats": {"current": 3}, "memory_stats": {"usage": 5, "stats": {}},
          "cpu_stats": {"online_cpus": 1}, "networks": {}, "blkio_stats": {}})",
      KeepStatsMember);
  std::vector<std::string> keys;
  for (const auto& [key, value] : sample.items()) keys.push_back(key);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"blkio_stats", "cpu_stats", "memory_stats", "networks"}));
  EXPECT_EQ(sample["memory_stats"]["usage"], 5);  // nested members are all kept
}

TEST(LogDemultiplexerTest, SeparatesStreamsInOrder) {
  const std::string data = Frame(1, "out 1\n") + Frame(2, "err 1\n") + Frame(1, "out 2\nout 3\n");
  EXPECT_EQ(Collect(false, {data}), (std::vector<std::string>{"stdout:out 1", "stderr:err 1",
                                                              "stdout:out 2", "stdout:out 3"}));
}

TEST(LogDemultiplexerTest, FramesSplitAnywhereGiveTheSameLines) {
  const std::string data = Frame(1, "hello world\n") + Frame(2, "oops\n") + Frame(1, "bye\n");
  const auto expected = Collect(false, {data});
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    EXPECT_EQ(Collect(false, {data.substr(0, cut), data.substr(cut)}), expected) << cut;
  }
  std::vector<std::string> bytes;
  for (char c : data) bytes.emplace_back(1, c);
  EXPECT_EQ(Collect(false, bytes), expected);
}

TEST(LogDemultiplexerTest, PartialLinesWaitForTheirEndPerStream) {
  const std::string data =
      Frame(1, "par") + Frame(2, "err\n") + Frame(1, "tial\n") + Frame(1, "tail");
  EXPECT_EQ(Collect(false, {data}, false),
            (std::vector<std::string>{"stderr:err", "stdout:partial"}));
  EXPECT_EQ(Collect(false, {data}, true),
            (std::vector<std::string>{"stderr:err", "stdout:partial", "stdout:tail"}));
}

TEST(LogDemultiplexerTest, TtyStreamsAreRawStdoutWithCrLf) {
  EXPECT_EQ(Collect(true, {"a\r\nb", "c\r\n"}),
            (std::vector<std::string>{"stdout:a", "stdout:bc"}));
}

TEST(StatsTest, CpuPercentAsDockerStats) {
  auto sample = nlohmann::json::parse(R"({
    "cpu_stats": {"cpu_usage": {"total_usage": 3000000000}, "system_cpu_usage": 20000000000, "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 2000000000}, "system_cpu_usage": 10000000000}
  })");
  // 1e9 ns of container CPU over 1e10 ns of all-CPU time on 2 CPUs: 20% (of one core = 100%).
  EXPECT_DOUBLE_EQ(CpuPercent(sample), 20.0);
  sample["cpu_stats"].erase("online_cpus");
  sample["cpu_stats"]["cpu_usage"]["percpu_usage"] = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(CpuPercent(sample), 40.0);
  sample["precpu_stats"]["system_cpu_usage"] = 20000000000;  // no system delta: no reading
  EXPECT_DOUBLE_EQ(CpuPercent(sample), 0.0);
}

TEST(StatsTest, MemoryNetworkAndBlockIo) {
  auto sample = nlohmann::json::parse(R"({
    "memory_stats": {"usage": 10485760, "limit": 67108864, "stats": {"total_inactive_file": 2097152}},
    "networks": {"eth0": {"rx_bytes": 100, "tx_bytes": 10}, "lo": {"rx_bytes": 5, "tx_bytes": 5}},
    "blkio_stats": {"io_service_bytes_recursive": [
      {"op": "Read", "value": 4096}, {"op": "Write", "value": 8192}, {"op": "read", "value": 1}]}
  })");
  const ContainerStats s = ComputeStats(sample);
  EXPECT_EQ(s.memory_usage_bytes, 8388608);
  EXPECT_EQ(s.memory_limit_bytes, 67108864);
  EXPECT_EQ(s.network_rx_bytes, 105);
  EXPECT_EQ(s.network_tx_bytes, 15);
  EXPECT_EQ(s.block_read_bytes, 4097);
  EXPECT_EQ(s.block_written_bytes, 8192);
  sample["memory_stats"]["stats"] = {{"inactive_file", 1048576}};  // cgroup v2 naming
  EXPECT_EQ(ComputeStats(sample).memory_usage_bytes, 9437184);
  sample["memory_stats"]["stats"] = {{"cache", 3145728}};  // older engines
  EXPECT_EQ(ComputeStats(sample).memory_usage_bytes, 7340032);
  sample["memory_stats"]["stats"] = {{"inactive_file", 20971520}};  // more than usage: ignored
  EXPECT_EQ(ComputeStats(sample).memory_usage_bytes, 10485760);
}

TEST(StatsTest, ASampleFromThisHostsEngine) {
  // GET /containers/{id}/stats from Docker 20.10 on cgroup v1 (network none: no `networks`),
  // trimmed to the fields docker stats reads.
  auto sample = nlohmann::json::parse(R"({
    "blkio_stats": {"io_service_bytes_recursive": []},
    "cpu_stats": {"cpu_usage": {"total_usage": 36251140, "percpu_usage": [0, 36251140]},
                  "system_cpu_usage": 13145980000000, "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 35294111, "percpu_usage": [0, 35294111]},
                     "system_cpu_usage": 13143970000000, "online_cpus": 2},
    "memory_stats": {"usage": 512000, "max_usage": 4083712,
                     "stats": {"cache": 28672, "inactive_file": 0, "total_cache": 28672,
                               "total_inactive_file": 0, "total_rss": 114688},
                     "limit": 25276502016}
  })");
  const ContainerStats s = ComputeStats(sample);
  // The 20.10 CLI subtracts total_inactive_file on cgroup v1 (older ones subtracted `cache`).
  EXPECT_EQ(s.memory_usage_bytes, 512000);
  EXPECT_EQ(s.memory_limit_bytes, 25276502016);
  EXPECT_DOUBLE_EQ(s.cpu_percent,
                   (36251140.0 - 35294111.0) / (13145980000000.0 - 13143970000000.0) * 2 * 100);
  EXPECT_EQ(s.network_rx_bytes, 0);
  EXPECT_EQ(s.block_read_bytes, 0);
}

}  // namespace
}  // namespace spawn

namespace spawn {
namespace {

TEST(CreateContainerBodyTest, HealthcheckInNanosecondsAsACmdTest) {
  ContainerSpec spec;
  spec.healthcheck.test = {"test", "-f", "/tmp/ok"};
  spec.healthcheck.interval = std::chrono::seconds(10);
  spec.healthcheck.timeout = std::chrono::seconds(2);
  spec.healthcheck.start_period = std::chrono::milliseconds(500);
  spec.healthcheck.retries = 3;
  const auto body = CreateContainerBody(spec);
  EXPECT_EQ(body["Healthcheck"].dump(),
            R"({"Interval":10000000000,"Retries":3,"StartPeriod":500000000,)"
            R"("Test":["CMD","test","-f","/tmp/ok"],"Timeout":2000000000})");
  EXPECT_FALSE(CreateContainerBody(ContainerSpec{}).contains("Healthcheck"));
}

TEST(ParseInspectTest, AddressAndHealthWithTheLastFailingOutput) {
  const ContainerInfo info = ParseInspect(nlohmann::json::parse(R"({
    "State": {"Health": {"Status": "unhealthy", "Log": [
      {"ExitCode": 1, "Output": "first"}, {"ExitCode": 1, "Output": "no file\n"},
      {"ExitCode": 0, "Output": ""}]}},
    "NetworkSettings": {"IPAddress": "", "Networks": {"svcnet": {"IPAddress": "172.20.0.2"}}}})"));
  EXPECT_EQ(info.health, "unhealthy");
  EXPECT_EQ(info.health_output, "no file\n");
  EXPECT_EQ(info.ip_address, "172.20.0.2");
  const ContainerInfo bare = ParseInspect(nlohmann::json::object());
  EXPECT_EQ(bare.health, "");
  EXPECT_EQ(bare.ip_address, "");
}

}  // namespace
}  // namespace spawn

namespace spawn {
namespace {

TEST(HttpProbeOutcomeTest, HealthyOnlyOnAnAnswerBelow400WhoseBodyMatches) {
  EXPECT_TRUE(ProbeOutcome(CURLE_OK, "", 200, "status: ok", "ok|fine").healthy);
  EXPECT_TRUE(ProbeOutcome(CURLE_OK, "", 204, "", "").healthy);
  EXPECT_TRUE(ProbeOutcome(CURLE_OK, "", 301, "", "").healthy);
  const HttpProbeResult refused =
      ProbeOutcome(CURLE_COULDNT_CONNECT, "Failed to connect to 127.0.0.1 port 1", 0, "", "");
  EXPECT_FALSE(refused.healthy);
  EXPECT_EQ(refused.output, "Failed to connect to 127.0.0.1 port 1");
  const HttpProbeResult error = ProbeOutcome(CURLE_OK, "", 503, "down\nfor now\n", "");
  EXPECT_FALSE(error.healthy);
  EXPECT_EQ(error.output, "HTTP 503: down for now");  // one line
  const HttpProbeResult mismatch = ProbeOutcome(CURLE_OK, "", 200, "status: bad", "^status: ok");
  EXPECT_FALSE(mismatch.healthy);
  EXPECT_EQ(mismatch.output, "the body does not match \"^status: ok\": status: bad");
  EXPECT_LE(ProbeOutcome(CURLE_OK, "", 500, std::string(10000, 'x'), "").output.size(), 210u);
}

}  // namespace
}  // namespace spawn
