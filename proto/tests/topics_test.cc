#include "spawn/proto/topics.h"

#include <gtest/gtest.h>

namespace spawn::topics {
namespace {

TEST(TopicsTest, FollowTheDesignTable) {
  const std::string p = "scratch.ns/spawnpoint/alpha";
  const std::string s = p + "/s.spawnpoint/server/i.spawnpoint";
  EXPECT_EQ(Root(p), p + "/s.spawnpoint");
  EXPECT_EQ(ConfigSlot(p), s + "/slot/config");
  EXPECT_EQ(RestartSlot(p), s + "/slot/restart");
  EXPECT_EQ(RollbackSlot(p), s + "/slot/rollback");
  EXPECT_EQ(StopSlot(p), s + "/slot/stop");
  EXPECT_EQ(LogsSlot(p), s + "/slot/logs");
  EXPECT_EQ(Reply(p, "r1"), s + "/signal/reply/r1");
  EXPECT_EQ(Heartbeat(p), s + "/signal/heartbeat");
  EXPECT_EQ(Presence(p), s + "/signal/presence");
  EXPECT_EQ(ServiceHeartbeat(p, "demo"), s + "/signal/heartbeat/demo");
  EXPECT_EQ(ServiceHeartbeatWildcard(p), s + "/signal/heartbeat/+");
  EXPECT_EQ(Meta(p, "room"), s + "/!meta/room");
  EXPECT_EQ(MetaWildcard(p), s + "/!meta/+");
  EXPECT_EQ(LogsReply(p, "r2"), s + "/signal/logs/r2");
  EXPECT_EQ(JobsSlot(p), s + "/slot/jobs");
  EXPECT_EQ(MetaSlot(p), s + "/slot/meta");
  EXPECT_EQ(JobsReply(p, "r3"), s + "/signal/jobs/r3");
  EXPECT_EQ(JobEnd(p, "r4"), s + "/signal/job/r4");
  EXPECT_EQ(ServiceTopic(p, "demo"), p + "/s.spawnpoint/demo");
  EXPECT_EQ(ServiceLog(p, "demo"), p + "/s.spawnpoint/demo/i.spawnable/signal/log");
}

TEST(TopicsTest, TheFleetsAreUnderTheBase) {
  EXPECT_EQ(FleetRoot("site/lab"), "site/lab/s.spawnfleet");
  EXPECT_EQ(FleetSet("site/lab", "web"), "site/lab/s.spawnfleet/web");
  EXPECT_EQ(FleetFiles("site/lab", "web"), "site/lab/s.spawnfleet/web/files");
  EXPECT_EQ(FleetStatus("site/lab", "web"), "site/lab/s.spawnfleet/web/status");
  EXPECT_EQ(FleetDrain("site/lab", "alpha"), "site/lab/s.spawnfleet/!drain/alpha");
}

TEST(TopicsTest, PathOfHeartbeat) {
  EXPECT_EQ(PathOfHeartbeat(Heartbeat("a/b")), "a/b");
  EXPECT_FALSE(PathOfHeartbeat(ServiceHeartbeat("a/b", "demo")).has_value());
  EXPECT_FALSE(PathOfHeartbeat("/s.spawnpoint/server/i.spawnpoint/signal/heartbeat").has_value());
  EXPECT_FALSE(PathOfHeartbeat("a/b/other").has_value());
}

}  // namespace
}  // namespace spawn::topics
