#include <gtest/gtest.h>

#include "spawn/bus/bus.h"

namespace spawn {
namespace {

TEST(TopicMatchesTest, ExactAndWildcards) {
  EXPECT_TRUE(TopicMatches("a/b/c", "a/b/c"));
  EXPECT_FALSE(TopicMatches("a/b/c", "a/b"));
  EXPECT_FALSE(TopicMatches("a/b", "a/b/c"));
  EXPECT_TRUE(TopicMatches("a/+/c", "a/b/c"));
  EXPECT_FALSE(TopicMatches("a/+/c", "a/b/d"));
  EXPECT_TRUE(TopicMatches("a/+", "a/"));
  EXPECT_TRUE(TopicMatches("+/+", "/x"));
  EXPECT_TRUE(TopicMatches("a/#", "a/b/c/d"));
  EXPECT_TRUE(TopicMatches("a/#", "a"));
  EXPECT_TRUE(TopicMatches("#", "anything/at/all"));
  EXPECT_FALSE(TopicMatches("a/#", "b/c"));
  EXPECT_TRUE(TopicMatches("x/+/s.spawnpoint/server/i.spawnpoint/signal/heartbeat",
                           "x/alpha/s.spawnpoint/server/i.spawnpoint/signal/heartbeat"));
  EXPECT_FALSE(TopicMatches("#", "$SYS/broker"));
  EXPECT_FALSE(TopicMatches("+/broker", "$SYS/broker"));
  EXPECT_TRUE(TopicMatches("$SYS/#", "$SYS/broker"));
}

}  // namespace
}  // namespace spawn
