#include "spawn/client/fan_out.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>

namespace spawn {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr int64_t kNow = 1'800'000'000'000'000'000;

SpawnpointInfo Up(const std::string& path) {
  SpawnpointInfo sp;
  sp.path = path;
  sp.heartbeat.heartbeat_interval_ms = 1000;
  sp.last_seen_unix_ns = kNow - 500'000'000;
  return sp;
}

TEST(FanOutTest, TheBaseIsWhatPrecedesTheStar) {
  EXPECT_EQ(FanOutBase("bldg/spawnpoint/*"), "bldg/spawnpoint");
  EXPECT_EQ(FanOutBase("bldg/spawnpoint"), std::nullopt);
  EXPECT_EQ(FanOutBase("/*"), std::nullopt);
  EXPECT_EQ(FanOutBase("bldg/*/x"), std::nullopt);
}

TEST(FanOutTest, UpSpawnpointsAreWaitedForAndAwayOnesQueued) {
  SpawnpointInfo offline = Up("b/offline");
  offline.online = false;
  SpawnpointInfo silent = Up("b/silent");
  silent.last_seen_unix_ns = kNow - 60'000'000'000;  // a minute: past three 1s intervals
  std::mutex mu;
  std::map<std::string, Duration> asked;
  auto send = [&](const std::string& path, Duration timeout) -> Result<proto::Reply> {
    {
      std::lock_guard<std::mutex> lock(mu);
      asked[path] = timeout;
    }
    if (timeout == Duration::zero()) return Status::Timeout("no answer");
    if (path == "b/full") return proto::Reply{"r", false, 503, "Insufficient resources"};
    return proto::Reply{"r", true, 200, "Deployed service web"};
  };
  auto outcomes =
      FanOut({Up("b/a"), offline, silent, Up("b/full")}, kNow, Duration::zero(), 10s, send);
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(outcomes[0].kind, FanOutOutcome::Kind::kOk);
  EXPECT_EQ(outcomes[1].kind, FanOutOutcome::Kind::kQueued);
  EXPECT_EQ(outcomes[2].kind, FanOutOutcome::Kind::kQueued);
  EXPECT_EQ(outcomes[3].kind, FanOutOutcome::Kind::kFailed);
  EXPECT_EQ(asked["b/a"], 10s);
  EXPECT_EQ(asked["b/offline"], Duration::zero());  // sent, not waited for
  EXPECT_EQ(asked["b/silent"], Duration::zero());
  EXPECT_FALSE(FanOutSucceeded(outcomes));
  const std::string text = FormatFanOut(outcomes, {});
  EXPECT_THAT(text, HasSubstr("b/a: ok [200] Deployed service web\n"));
  EXPECT_THAT(text, HasSubstr("b/offline: queued (offline: the broker keeps the command"));
  EXPECT_THAT(text, HasSubstr("b/silent: queued (silent:"));
  EXPECT_THAT(text, HasSubstr("b/full: failed [503] Insufficient resources\n"));
  outcomes.pop_back();
  EXPECT_TRUE(FanOutSucceeded(outcomes));  // ok and queued
}

TEST(FanOutTest, ACommandThatCouldNotBeSentToAnAwaySpawnpointFails) {
  SpawnpointInfo offline = Up("b/offline");
  offline.online = false;
  auto outcomes = FanOut({offline}, kNow, Duration::zero(), 10s, [](const std::string&, Duration) {
    return Result<proto::Reply>(Status::Forbidden("not authorised"));
  });
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].kind, FanOutOutcome::Kind::kFailed);
  EXPECT_EQ(outcomes[0].message, "not authorised");
}

}  // namespace
}  // namespace spawn
