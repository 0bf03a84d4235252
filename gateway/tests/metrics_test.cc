#include "spawn/gateway/metrics.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fake_fleet.h"

namespace spawn::gateway {
namespace {

using gateway_testing::kSecond;
using gateway_testing::ServiceBeat;
using gateway_testing::SpawnpointBeat;

std::vector<SpawnpointInfo> Fleet() {
  SpawnpointInfo a;
  a.path = "fleet/a";
  a.heartbeat = SpawnpointBeat("al\"pha", 100 * kSecond, {"web"});
  a.last_seen_unix_ns = 100 * kSecond;
  a.services["web"] = ServiceBeat("fleet/a", "web", 10 * kSecond, proto::ServiceState::kRunning);
  SpawnpointInfo b;
  b.path = "fleet/b";
  b.heartbeat = SpawnpointBeat("beta", 50 * kSecond);
  b.last_seen_unix_ns = 50 * kSecond;
  b.services["db"] = ServiceBeat("fleet/b", "db", 50 * kSecond, proto::ServiceState::kRunning);
  return {a, b};
}

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(GatewayMetricsTest, SpawnpointFamilies) {
  const std::string m = RenderMetrics(Fleet(), 101 * kSecond);
  EXPECT_TRUE(Has(m, "# TYPE spawnpoint_up gauge"));
  EXPECT_TRUE(Has(m, "spawnpoint_up{spawnpoint=\"fleet/a\",alias=\"al\\\"pha\"} 1")) << m;
  // b's heartbeat is 51 s old: down, whatever its service heartbeat says.
  EXPECT_TRUE(Has(m, "spawnpoint_up{spawnpoint=\"fleet/b\",alias=\"beta\"} 0"));
  EXPECT_TRUE(Has(m,
                  "spawnpoint_last_heartbeat_timestamp_seconds{spawnpoint=\"fleet/a\","
                  "alias=\"al\\\"pha\"} 100"));
  EXPECT_TRUE(Has(m, "spawnpoint_memory_bytes{spawnpoint=\"fleet/b\",alias=\"beta\"} 4294967296"));
  EXPECT_TRUE(Has(
      m, "spawnpoint_memory_available_bytes{spawnpoint=\"fleet/b\",alias=\"beta\"} 3221225472"));
  EXPECT_TRUE(Has(m, "spawnpoint_cpu_shares{spawnpoint=\"fleet/b\",alias=\"beta\"} 1024"));
  EXPECT_TRUE(Has(m, "spawnpoint_cpu_shares_available{spawnpoint=\"fleet/b\",alias=\"beta\"} 512"));
}

TEST(GatewayMetricsTest, ServiceFamilies) {
  const std::string m = RenderMetrics(Fleet(), 101 * kSecond);
  const std::string web = "{spawnpoint=\"fleet/a\",alias=\"al\\\"pha\",service=\"web\"";
  EXPECT_TRUE(Has(m, "spawnpoint_service_state" + web + ",state=\"running\"} 1")) << m;
  EXPECT_TRUE(Has(m, "spawnpoint_service_state" + web + ",state=\"zombie\"} 0"));
  EXPECT_TRUE(Has(m, "spawnpoint_service_up" + web + "} 1"));
  EXPECT_TRUE(
      Has(m, "spawnpoint_service_up{spawnpoint=\"fleet/b\",alias=\"beta\",service=\"db\"} 0"));
  EXPECT_TRUE(Has(m, "spawnpoint_service_cpu_percent" + web + "} 12.5"));
  EXPECT_TRUE(Has(m, "spawnpoint_service_memory_used_bytes" + web + "} 105381888"));
  EXPECT_TRUE(Has(m, "spawnpoint_service_memory_allocated_bytes" + web + "} 536870912"));
  EXPECT_TRUE(Has(m, "spawnpoint_service_cpu_shares" + web + "} 256"));
  EXPECT_TRUE(Has(m, "# TYPE spawnpoint_service_restarts_total counter"));
  EXPECT_TRUE(Has(m, "spawnpoint_service_restarts_total" + web + "} 2"));
  EXPECT_TRUE(Has(m, "spawnpoint_service_last_exit_code" + web + "} 137"));
  EXPECT_TRUE(Has(m, "spawnpoint_service_network_receive_bytes_total" + web + "} 1500000"));
  EXPECT_TRUE(Has(m, "spawnpoint_service_network_transmit_bytes_total" + web + "} 250000"));
  EXPECT_TRUE(Has(m, "spawnpoint_service_block_read_bytes_total" + web + "} 2000000"));
  EXPECT_TRUE(Has(m, "spawnpoint_service_block_written_bytes_total" + web + "} 3000000"));
}

TEST(GatewayMetricsTest, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

TEST(GatewayMetricsTest, AnEmptyFleetStillDeclaresTheFamilies) {
  const std::string m = RenderMetrics({}, 0);
  EXPECT_TRUE(Has(m, "# TYPE spawnpoint_up gauge"));
  EXPECT_EQ(m.find("spawnpoint_up{"), std::string::npos);
}

// Prometheus' own linter, from Debian's prometheus package, when it is installed.
TEST(GatewayMetricsTest, PromtoolAcceptsIt) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "promtool not installed (Debian: apt-get install prometheus)";
  const auto file = std::filesystem::temp_directory_path() /
                    ("spawn_metrics_" + std::to_string(::getpid()) + ".txt");
  std::ofstream(file) << RenderMetrics(Fleet(), 101 * kSecond);
  const std::string out = file.string() + ".out";
  const int rc =
      std::system(("promtool check metrics < " + file.string() + " > " + out + " 2>&1").c_str());
  std::ifstream in(out);
  std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(file);
  std::filesystem::remove(out);
  EXPECT_EQ(rc, 0) << said;
  EXPECT_EQ(said, "") << said;
}

}  // namespace
}  // namespace spawn::gateway
