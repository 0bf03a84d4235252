// HeartbeatPolicy: which samples of a service make its heartbeat go out again. Each Sampled() call
// stands for one heartbeat interval of the daemon's clock (the daemon tests drive that clock).
#include "spawn/daemon/heartbeat_policy.h"

#include <gtest/gtest.h>

#include "spawn/common/units.h"

namespace spawn {
namespace {

ServiceSnapshot Running(int64_t memory_bytes = 100 * kMiB, double cpu = 10) {
  ServiceSnapshot s;
  s.name = "web";
  s.state = proto::ServiceState::kRunning;
  s.container_id = "c1";
  s.config.mem_alloc_bytes = 512 * kMiB;
  s.config.cpu_shares = 512;
  s.usage.memory_usage_bytes = memory_bytes;
  s.usage.cpu_percent = cpu;
  return s;
}

class HeartbeatPolicyTest : public ::testing::Test {
 protected:
  // Publishes `s` when the policy says so, as the daemon does; returns whether it did.
  bool Sample(const ServiceSnapshot& s) {
    if (!policy_.Sampled(s)) return false;
    policy_.Published(s);
    return true;
  }
  HeartbeatPolicy policy_{HeartbeatPolicy::Deadband{}};
};

TEST_F(HeartbeatPolicyTest, AServiceNeverPublishedGoesOutThenNothingWhileNothingChanges) {
  EXPECT_TRUE(Sample(Running()));
  for (int interval = 0; interval < 100; ++interval) EXPECT_FALSE(Sample(Running()));
}

TEST_F(HeartbeatPolicyTest, EveryChangeOfWhatItReportsGoesOutAtOnce) {
  ASSERT_TRUE(Sample(Running()));
  ServiceSnapshot s = Running();
  s.state = proto::ServiceState::kRestarting;
  EXPECT_TRUE(Sample(s));
  s.state = proto::ServiceState::kRunning;
  EXPECT_TRUE(Sample(s));
  s.restarts = 1;
  EXPECT_TRUE(Sample(s));
  s.exit_code = 137;
  EXPECT_TRUE(Sample(s));
  s.health = "unhealthy";
  EXPECT_TRUE(Sample(s));
  s.backoff = Duration(2000);
  EXPECT_TRUE(Sample(s));
  s.container_id = "c2";
  EXPECT_TRUE(Sample(s));
  s.config.mem_alloc_bytes = 1024 * kMiB;
  EXPECT_TRUE(Sample(s));
  EXPECT_FALSE(Sample(s));
  // Counters and the health probe's output alone are not news.
  s.usage.network_rx_bytes += 1'000'000;
  s.usage.block_written_bytes += 1'000'000;
  s.health_output = "connection refused";
  EXPECT_FALSE(Sample(s));
}

TEST_F(HeartbeatPolicyTest, MemoryGoesOutPastTheLargerOfOneMibAndTenPercent) {
  ASSERT_TRUE(Sample(Running(100 * kMiB)));
  // 10% of 100 MiB is the band: 10 MiB up or down is inside, a byte more is out.
  EXPECT_FALSE(Sample(Running(110 * kMiB)));
  EXPECT_FALSE(Sample(Running(90 * kMiB)));
  EXPECT_TRUE(Sample(Running(110 * kMiB + 1)));
  // Compared with what was last published (110 MiB + 1), not with the last sample.
  EXPECT_FALSE(Sample(Running(115 * kMiB)));
  EXPECT_FALSE(Sample(Running(120 * kMiB)));

  // A small service: 1 MiB is the band.
  ServiceSnapshot small = Running(4 * kMiB);
  small.name = "small";
  ASSERT_TRUE(Sample(small));
  small.usage.memory_usage_bytes = 5 * kMiB;
  EXPECT_FALSE(Sample(small));
  small.usage.memory_usage_bytes = 5 * kMiB + 1;
  EXPECT_TRUE(Sample(small));
}

// A service reported running before its first stats sample shows no memory: the first sample,
// however small, is news (clients wait for usage to show).
TEST_F(HeartbeatPolicyTest, TheFirstUsageSampleGoesOutHoweverSmall) {
  ASSERT_TRUE(Sample(Running(0, 0)));
  EXPECT_FALSE(Sample(Running(0, 0)));
  EXPECT_TRUE(Sample(Running(300 * 1024, 0.1)));
  EXPECT_FALSE(Sample(Running(400 * 1024, 0.1)));
}

TEST_F(HeartbeatPolicyTest, CpuGoesOutOnlyWhenPastFivePointsInTwoSamplesInARow) {
  ASSERT_TRUE(Sample(Running(100 * kMiB, 10)));
  EXPECT_FALSE(Sample(Running(100 * kMiB, 15)));  // 5 points: inside
  EXPECT_FALSE(Sample(Running(100 * kMiB, 40)));  // a spike: one sample
  EXPECT_FALSE(Sample(Running(100 * kMiB, 12)));  // back inside: the count starts again
  EXPECT_FALSE(Sample(Running(100 * kMiB, 30)));
  EXPECT_TRUE(Sample(Running(100 * kMiB, 35)));  // held over two samples: published at 35
  EXPECT_FALSE(Sample(Running(100 * kMiB, 38)));
  EXPECT_FALSE(Sample(Running(100 * kMiB, 20)));  // 15 below 35, once
  EXPECT_TRUE(Sample(Running(100 * kMiB, 20)));
}

TEST_F(HeartbeatPolicyTest, ASwingingServiceAloneGoesOut) {
  ServiceSnapshot quiet = Running();
  quiet.name = "quiet";
  ASSERT_TRUE(Sample(quiet));
  ASSERT_TRUE(Sample(Running(100 * kMiB)));
  int swinging = 0, still = 0;
  for (int interval = 0; interval < 20; ++interval) {
    swinging += Sample(Running(interval % 2 ? 100 * kMiB : 200 * kMiB)) ? 1 : 0;
    still += Sample(quiet) ? 1 : 0;
  }
  EXPECT_EQ(swinging, 20);
  EXPECT_EQ(still, 0);
}

TEST_F(HeartbeatPolicyTest, TheDeadbandIsConfigurableAndAForgottenServiceStartsAfresh) {
  HeartbeatPolicy strict(HeartbeatPolicy::Deadband{0, 0, 0, 1});
  ASSERT_TRUE(strict.Sampled(Running()));
  strict.Published(Running());
  EXPECT_FALSE(strict.Sampled(Running()));
  EXPECT_TRUE(strict.Sampled(Running(100 * kMiB + 1)));
  EXPECT_TRUE(strict.Sampled(Running(100 * kMiB, 10.5)));
  strict.Forget("web");
  EXPECT_TRUE(strict.Sampled(Running()));
}

}  // namespace
}  // namespace spawn
