#include "spawn/client/format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "spawn/common/units.h"

namespace spawn {
namespace {

constexpr int64_t kSec = 1000000000;
// 2026-11-23 02:30:00 UTC
constexpr int64_t kNow = 1795401000LL * kSec;

proto::ServiceHeartbeat Service(const std::string& name, proto::ServiceState state) {
  proto::ServiceHeartbeat hb;
  hb.spawnpoint_uri = "scratch.ns/spawnpoint/alpha";
  hb.name = name;
  hb.time_unix_ns = kNow - 2200 * 1000000LL;
  hb.state = state;
  hb.mem_alloc_mib = 512;
  hb.cpu_shares = 1024;
  hb.mem_usage_mib = 52.34;
  hb.cpu_percent = 12.5;
  hb.restarts = 2;
  return hb;
}

SpawnpointInfo Spawnpoint(const std::string& alias, int64_t seen) {
  SpawnpointInfo sp;
  sp.path = "scratch.ns/spawnpoint/" + alias;
  sp.heartbeat.alias = alias;
  sp.heartbeat.time_unix_ns = seen;
  sp.heartbeat.total_mem_mib = 4096;
  sp.heartbeat.available_mem_mib = 1536;
  sp.heartbeat.total_cpu_shares = 4096;
  sp.heartbeat.available_cpu_shares = 1024;
  sp.last_seen_unix_ns = seen;
  return sp;
}

TEST(FormatAgeTest, PicksAUnitForEachScale) {
  using std::chrono::milliseconds;
  EXPECT_EQ(FormatAge(milliseconds(0)), "0ms");
  EXPECT_EQ(FormatAge(milliseconds(850)), "850ms");
  EXPECT_EQ(FormatAge(milliseconds(4200)), "4.2s");
  EXPECT_EQ(FormatAge(milliseconds(4299)), "4.2s");
  EXPECT_EQ(FormatAge(milliseconds(59999)), "59.9s");
  EXPECT_EQ(FormatAge(milliseconds(192000)), "3m12s");
  EXPECT_EQ(FormatAge(milliseconds(7500000)), "2h5m");
  EXPECT_EQ(FormatAge(milliseconds(273600000)), "3d4h");
  EXPECT_EQ(FormatAge(milliseconds(-5000)), "0ms");  // clock skew
  EXPECT_EQ(FormatAgeBetween(kNow - 4200 * 1000000LL, kNow), "4.2s");
}

TEST(FormatMibTest, OneDecimalBelowAHundred) {
  EXPECT_EQ(FormatMib(0), "0.0 MiB");
  EXPECT_EQ(FormatMib(12.34), "12.3 MiB");
  EXPECT_EQ(FormatMib(512), "512 MiB");
  EXPECT_EQ(FormatMib(4096.4), "4096 MiB");
}

TEST(FormatTimeTest, UtcByDefault) { EXPECT_EQ(FormatTime(kNow, {}), "2026-11-23 02:30:00"); }

TEST(FormatScanTest, SeveralSpawnpointsWithUpAndDown) {
  SpawnpointInfo beta = Spawnpoint("beta", kNow - 4200 * 1000000LL);
  beta.services["web"] = Service("web", proto::ServiceState::kRunning);
  beta.services["old"] = Service("old", proto::ServiceState::kZombie);
  SpawnpointInfo gamma = Spawnpoint("gamma", kNow - 16 * kSec);  // silent > 3 heartbeats
  SpawnpointInfo delta = Spawnpoint("delta", kNow - 1 * kSec);
  delta.online = false;  // said offline (its will)
  EXPECT_EQ(FormatScan({beta, gamma, delta}, kNow, {}),
            "Discovered 3 SpawnPoint(s):\n"
            "[beta] seen 2026-11-23 02:29:55 (4.2s) ago at scratch.ns/spawnpoint/beta\n"
            "    Available Memory: 1536/4096 MiB, Available CPU Shares: 1024/4096\n"
            "    Services: web\n"
            "[gamma] seen 2026-11-23 02:29:44 (16.0s) ago at scratch.ns/spawnpoint/gamma DOWN "
            "(no heartbeat for 15s)\n"
            "    Available Memory: 1536/4096 MiB, Available CPU Shares: 1024/4096\n"
            "[delta] seen 2026-11-23 02:29:59 (1.0s) ago at scratch.ns/spawnpoint/delta DOWN "
            "(offline)\n"
            "    Available Memory: 1536/4096 MiB, Available CPU Shares: 1024/4096\n");
}

TEST(FormatScanTest, DownAfterIsConfigurable) {
  FormatOptions o;
  o.down_after = std::chrono::seconds(30);
  const std::string text = FormatScan({Spawnpoint("gamma", kNow - 16 * kSec)}, kNow, o);
  EXPECT_EQ(text.find("DOWN"), std::string::npos) << text;
}

// Without --down-after, "down" is three of the intervals the spawnpoint announces.
TEST(FormatScanTest, DownFollowsTheIntervalTheSpawnpointAnnounces) {
  SpawnpointInfo slow = Spawnpoint("slow", kNow - 40 * kSec);
  slow.heartbeat.heartbeat_interval_ms = 15000;  // down after 45 s
  SpawnpointInfo fast = Spawnpoint("fast", kNow - 4 * kSec);
  fast.heartbeat.heartbeat_interval_ms = 1000;  // down after 3 s
  EXPECT_EQ(DownAfter(slow), std::chrono::seconds(45));
  EXPECT_EQ(DownAfter(fast), std::chrono::seconds(3));
  EXPECT_EQ(DownAfter(Spawnpoint("old", kNow)), kDefaultDownAfter);  // interval not announced
  EXPECT_EQ(DownAfter(fast, std::chrono::seconds(60)), std::chrono::seconds(60));
  const std::string text = FormatScan({slow, fast}, kNow, FormatOptions{});
  EXPECT_EQ(text.find("slow DOWN"), std::string::npos) << text;
  EXPECT_NE(text.find("fast DOWN (no heartbeat for 3s)"), std::string::npos) << text;
}

TEST(FormatScanTest, OneSpawnpointShowsServicesAndMetadata) {
  SpawnpointInfo alpha = Spawnpoint("alpha", kNow - 4470 * 1000000LL);
  alpha.services["demosvc"] = Service("demosvc", proto::ServiceState::kRunning);
  auto zombie = Service("old", proto::ServiceState::kZombie);
  zombie.exit_code = 137;
  alpha.services["old"] = zombie;
  alpha.metadata["arch"] = "amd64";
  const std::string expected_head =
      "Discovered 1 SpawnPoint(s):\n"
      "[alpha] seen 2026-11-23 02:29:55 (4.4s) ago at scratch.ns/spawnpoint/alpha\n"
      "    Available Memory: 1536/4096 MiB, Available CPU Shares: 1024/4096\n"
      "• [demosvc] running, seen 2026-11-23 02:29:57 (2.2s) ago, restarts 2\n"
      "    CPU: 12.5% (1024 shares), Memory: 52.3 MiB/512 MiB\n";
  const std::string metadata = "Metadata:\n  • arch: amd64\n";
  EXPECT_EQ(FormatScan({alpha}, kNow, {}), expected_head + metadata);

  FormatOptions all;
  all.show_zombies = true;
  EXPECT_EQ(FormatScan({alpha}, kNow, all),
            expected_head +
                "• [old] zombie, seen 2026-11-23 02:29:57 (2.2s) ago, restarts 2, exit code 137\n"
                "    CPU: 12.5% (1024 shares), Memory: 52.3 MiB/512 MiB\n" +
                metadata);
}

TEST(FormatScanTest, NothingFound) {
  EXPECT_EQ(FormatScan({}, kNow, {}), "Discovered 0 SpawnPoint(s):\n");
}

TEST(FormatScanTest, ColourOnlyWhenAsked) {
  SpawnpointInfo alpha = Spawnpoint("alpha", kNow);
  EXPECT_EQ(FormatScan({alpha}, kNow, {}).find('\033'), std::string::npos);
  FormatOptions color;
  color.color = true;
  EXPECT_NE(FormatScan({alpha}, kNow, color).find("\033[1malpha\033[0m"), std::string::npos);
}

TEST(FormatServiceTest, BackoffAndExitCode) {
  auto hb = Service("svc", proto::ServiceState::kRestarting);
  hb.exit_code = 1;
  hb.backoff = "8s";
  EXPECT_EQ(FormatService(hb, kNow, {}),
            "• [svc] restarting, seen 2026-11-23 02:29:57 (2.2s) ago, restarts 2, exit code 1, "
            "next restart in 8s\n"
            "    CPU: 12.5% (1024 shares), Memory: 52.3 MiB/512 MiB\n");
}

TEST(FormatServiceTest, HealthAndTheOutputOfAFailingCheck) {
  auto hb = Service("svc", proto::ServiceState::kRunning);
  hb.health = "unhealthy";
  hb.health_output = "connection refused";
  EXPECT_EQ(FormatService(hb, kNow, {}),
            "• [svc] running, seen 2026-11-23 02:29:57 (2.2s) ago, restarts 2, unhealthy "
            "(connection refused)\n"
            "    CPU: 12.5% (1024 shares), Memory: 52.3 MiB/512 MiB\n");
  hb.health = "healthy";
  EXPECT_NE(FormatService(hb, kNow, {}).find("restarts 2, healthy\n"), std::string::npos);
}

// Report by exception: a service's heartbeat is from its last change (an hour ago here); the
// spawnpoint heartbeat of a second ago vouches for it, so the service was seen a second ago.
TEST(FormatScanTest, UnderReportByExceptionAServiceIsAsFreshAsItsSpawnpointsHeartbeat) {
  SpawnpointInfo alpha = Spawnpoint("alpha", kNow - kSec);
  auto web = Service("web", proto::ServiceState::kRunning);
  web.time_unix_ns = kNow - 3600 * kSec;
  alpha.services["web"] = web;
  // An older spawnd (no policy) sent every service every interval: its own Time counts.
  EXPECT_EQ(ServiceLastSeen(alpha, web), kNow - 3600 * kSec);
  EXPECT_NE(FormatScan({alpha}, kNow, {}).find("• [web] running, seen 2026-11-23 01:30:00 (1h0m)"),
            std::string::npos);
  alpha.heartbeat.heartbeat_policy = proto::kReportByException;
  EXPECT_EQ(ServiceLastSeen(alpha, web), kNow - kSec);
  EXPECT_NE(FormatScan({alpha}, kNow, {}).find("• [web] running, seen 2026-11-23 02:29:59 (1.0s)"),
            std::string::npos)
      << FormatScan({alpha}, kNow, {});
  auto json =
      nlohmann::json::parse(ToJson(std::vector<SpawnpointInfo>{alpha}, kNow, Duration::zero()));
  EXPECT_EQ(json[0]["HeartbeatPolicy"], "exception");
  EXPECT_EQ(json[0]["Services"]["web"]["Seen"], kNow - kSec);
  EXPECT_EQ(json[0]["Services"]["web"]["Time"], kNow - 3600 * kSec);
}

TEST(FormatLogLineTest, OneLinePerMessage) {
  proto::LogMessage m{kNow, "gamma", "demosvc", "stdout", "attempting restart"};
  EXPECT_EQ(FormatLogLine(m, {}), "[11/23 02:30:00] gamma::demosvc > attempting restart");
  m.stream = "spawnd";
  FormatOptions color;
  color.color = true;
  EXPECT_EQ(FormatLogLine(m, color),
            "[11/23 02:30:00] \033[36mgamma::demosvc >\033[0m attempting restart");
}

TEST(FormatReplyTest, OkAndError) {
  EXPECT_EQ(FormatReply({"id", true, 200, "service a accepted by alpha"}, {}),
            "[OK] service a accepted by alpha");
  EXPECT_EQ(FormatReply({"id", false, 503, "Insufficient resources"}, {}),
            "[ERROR 503] Insufficient resources");
}

TEST(FormatInspectTest, ShowsTheOriginalConfig) {
  auto hb = Service("svc", proto::ServiceState::kRunning);
  hb.original_config.name = "svc";
  hb.original_config.image = "busybox";
  hb.original_config.run = {"sh", "-c", "echo hi"};
  hb.original_config.mem_alloc_bytes = 64 * kMiB;
  hb.original_config.cpu_shares = 512;
  const std::string text = FormatInspect(hb, kNow, {});
  EXPECT_NE(text.find("Original config:\n"), std::string::npos) << text;
  EXPECT_NE(text.find("memAlloc: 64M"), std::string::npos) << text;
  EXPECT_NE(text.find("image: busybox"), std::string::npos) << text;
}

TEST(ToJsonTest, DecodedMessagesWithWireKeys) {
  auto reply = nlohmann::json::parse(ToJson(proto::Reply{"abc", false, 409, "exists"}));
  EXPECT_EQ(reply["Code"], 409);
  EXPECT_EQ(reply["Ok"], false);
  auto line = nlohmann::json::parse(
      ToJson(proto::LogMessage{kNow, "a", "svc", "stderr", std::string("bad \xff byte")}));
  EXPECT_EQ(line["Stream"], "stderr");
  SpawnpointInfo alpha = Spawnpoint("alpha", kNow - 20 * kSec);
  alpha.services["svc"] = Service("svc", proto::ServiceState::kRunning);
  auto scan = nlohmann::json::parse(ToJson({alpha}, kNow, kDefaultDownAfter));
  ASSERT_EQ(scan.size(), 1u);
  EXPECT_EQ(scan[0]["Path"], "scratch.ns/spawnpoint/alpha");
  EXPECT_EQ(scan[0]["Down"], true);
  EXPECT_EQ(scan[0]["Services"]["svc"]["State"], "running");
}

}  // namespace
}  // namespace spawn
