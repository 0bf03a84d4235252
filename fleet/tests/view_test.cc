// ViewBuilder reads the base's retained messages into a FleetView.
#include "spawn/fleet/view.h"

#include <gtest/gtest.h>

#include "spawn/proto/topics.h"

namespace spawn::fleet {
namespace {

BusMessage Msg(std::string topic, std::string payload) {
  return BusMessage{std::move(topic), std::move(payload), 1, true};
}

TEST(ViewTest, SpawnpointsServicesMetadataAndTheFleetsTopics) {
  ViewBuilder b("site");
  proto::SpawnpointHeartbeat hb;
  hb.time_unix_ns = 42;
  hb.available_mem_mib = 900;
  hb.available_cpu_shares = 800;
  hb.heartbeat_interval_ms = 1000;
  EXPECT_TRUE(b.Apply(Msg(topics::Heartbeat("site/a"), proto::Encode(hb))));
  EXPECT_TRUE(b.Apply(Msg(topics::Meta("site/a", "location"), "building-a")));
  EXPECT_TRUE(b.Apply(Msg(topics::Presence("site/a"), "offline")));
  proto::ServiceHeartbeat svc;
  svc.name = "web-0";
  svc.state = proto::ServiceState::kRunning;
  ServiceConfig config;
  config.name = "web";
  config.run = {"x"};
  config.mem_alloc_bytes = 1 << 20;
  config.cpu_shares = 1;
  svc.original_config = ReplicaConfig(config, "web", 0, 3, 1);
  EXPECT_TRUE(b.Apply(Msg(topics::ServiceHeartbeat("site/a", "web-0"), proto::Encode(svc))));
  EXPECT_TRUE(b.Apply(Msg(topics::FleetDrain("site", "a"), kDrainedPayload)));
  FleetSpec spec;
  spec.name = "web";
  spec.current.config = svc.original_config;
  spec.current.config.name = "web";
  spec.current.config.labels.clear();
  EXPECT_TRUE(b.Apply(Msg(topics::FleetSet("site", "web"), Encode(spec))));
  EXPECT_TRUE(
      b.Apply(Msg(topics::FleetFiles("site", "web"), Encode(FleetFiles{1, "a", "e", "", ""}))));
  FleetStatus st;
  st.name = "web";
  EXPECT_TRUE(b.Apply(Msg(topics::FleetStatus("site", "web"), Encode(st))));
  EXPECT_FALSE(b.Apply(Msg("elsewhere/a/s.spawnpoint", "x")));

  const FleetView& v = b.view();
  const ObservedSpawnpoint& a = v.spawnpoints.at("site/a");
  EXPECT_TRUE(a.has_heartbeat);
  EXPECT_FALSE(a.online);
  EXPECT_EQ(a.last_seen_unix_ns, 42);
  EXPECT_EQ(a.available_mem_mib, 900);
  EXPECT_EQ(a.metadata.at("location"), "building-a");
  const ObservedService& s = a.services.at("web-0");
  EXPECT_EQ(s.state, proto::ServiceState::kRunning);
  ASSERT_TRUE(s.labels.has_value());
  EXPECT_EQ(s.labels->generation, 3);
  EXPECT_EQ(s.labels->attempt, 1);
  EXPECT_TRUE(v.drained.count("site/a"));
  EXPECT_EQ(v.sets.at("web"), spec);
  EXPECT_EQ(v.files.at("web").archive, "a");
  EXPECT_EQ(v.statuses.at("web").name, "web");

  // Empty retained payloads clear.
  b.Apply(Msg(topics::FleetDrain("site", "a"), ""));
  b.Apply(Msg(topics::ServiceHeartbeat("site/a", "web-0"), ""));
  b.Apply(Msg(topics::FleetSet("site", "web"), ""));
  EXPECT_FALSE(b.view().drained.count("site/a"));
  EXPECT_FALSE(b.view().spawnpoints.at("site/a").services.count("web-0"));
  EXPECT_FALSE(b.view().sets.count("web"));
}

TEST(ViewTest, FiltersCoverTheBase) {
  const auto filters = ViewBuilder::Filters("site");
  for (const std::string& topic :
       {topics::Heartbeat("site/a"), topics::ServiceHeartbeat("site/a", "x"),
        topics::Presence("site/a"), topics::Meta("site/a", "k"), topics::FleetSet("site", "w"),
        topics::FleetDrain("site", "a")}) {
    bool matched = false;
    for (const auto& f : filters) matched = matched || TopicMatches(f, topic);
    EXPECT_TRUE(matched) << topic;
  }
}

}  // namespace
}  // namespace spawn::fleet
