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

TEST(TopicMatchesTest, EdgeCasesOfTheSpec) {
  // '+' matches exactly one level, which may be empty.
  EXPECT_TRUE(TopicMatches("+", "a"));
  EXPECT_FALSE(TopicMatches("+", "a/b"));
  EXPECT_FALSE(TopicMatches("+", "/a"));
  EXPECT_TRUE(TopicMatches("/+", "/a"));
  EXPECT_TRUE(TopicMatches("+/+", "/"));
  EXPECT_TRUE(TopicMatches("a/+/+", "a//"));
  EXPECT_FALSE(TopicMatches("a/+", "a"));
  // '#' matches the parent and any depth, including empty levels.
  EXPECT_TRUE(TopicMatches("+/#", "a"));
  EXPECT_TRUE(TopicMatches("a/b/#", "a/b"));
  EXPECT_FALSE(TopicMatches("a/b/#", "a"));
  EXPECT_TRUE(TopicMatches("a/#", "a/"));
  EXPECT_TRUE(TopicMatches("#", "/"));
  // Levels are compared whole; case matters; a trailing '/' is a level of its own.
  EXPECT_FALSE(TopicMatches("a/b", "a/bc"));
  EXPECT_FALSE(TopicMatches("A/b", "a/b"));
  EXPECT_FALSE(TopicMatches("a/b", "a/b/"));
  // '$' topics are matched by explicit filters, and by wildcards below the first level.
  EXPECT_TRUE(TopicMatches("$SYS/+", "$SYS/x"));
  EXPECT_TRUE(TopicMatches("a/#", "a/$x"));
  // Malformed filters match nothing.
  EXPECT_FALSE(TopicMatches("a/#/b", "a/x/b"));
  EXPECT_FALSE(TopicMatches("a/#/b", "a"));
}

}  // namespace
}  // namespace spawn
