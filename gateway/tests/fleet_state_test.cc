#include "spawn/gateway/fleet_state.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_fleet.h"

namespace spawn::gateway {
namespace {

using gateway_testing::kSecond;
using gateway_testing::Retained;
using gateway_testing::ServiceBeat;
using gateway_testing::SpawnpointBeat;
using json = nlohmann::json;

class GatewayFleetStateTest : public ::testing::Test {
 protected:
  void Beat(const std::string& path, const std::string& alias, int64_t t) {
    state_.Apply(
        Retained(topics::Heartbeat(path), proto::Encode(SpawnpointBeat(alias, t, {"web"}))), t);
  }
  void Service(const std::string& path, const std::string& name, int64_t t, proto::ServiceState s,
               double cpu = 12.5) {
    auto hb = ServiceBeat(path, name, t, s);
    hb.cpu_percent = cpu;
    state_.Apply(Retained(topics::ServiceHeartbeat(path, name), proto::Encode(hb)), t);
  }
  // The names of the events queued on `sub`, and their data in `data`.
  static std::vector<std::string> Names(Subscription& sub, std::vector<json>* data = nullptr) {
    std::vector<std::string> out;
    for (auto& e : sub.Wait(Duration::zero())) {
      out.push_back(e.name);
      if (data) data->push_back(json::parse(e.data));
    }
    return out;
  }

  FleetState state_{"fleet"};
};

TEST_F(GatewayFleetStateTest, FilterCoversTheBase) {
  EXPECT_EQ(state_.Filter(), "fleet/#");
  EXPECT_EQ(FleetState("").Filter(), "#");
  EXPECT_EQ(FleetState("a/b/").Filter(), "a/b/#");
}

TEST_F(GatewayFleetStateTest, ASpawnpointIsKnownFromItsHeartbeatWithServicesHeardBefore) {
  Service("fleet/a", "web", 10 * kSecond, proto::ServiceState::kRunning);
  EXPECT_TRUE(state_.Spawnpoints().empty());  // a service alone makes no spawnpoint
  Beat("fleet/a", "alpha", 11 * kSecond);
  auto sps = state_.Spawnpoints();
  ASSERT_EQ(sps.size(), 1u);
  EXPECT_EQ(sps[0].path, "fleet/a");
  EXPECT_EQ(sps[0].heartbeat.alias, "alpha");
  EXPECT_EQ(sps[0].last_seen_unix_ns, 11 * kSecond);
  ASSERT_EQ(sps[0].services.count("web"), 1u);
  EXPECT_EQ(sps[0].services.at("web").state, proto::ServiceState::kRunning);
}

TEST_F(GatewayFleetStateTest, SnapshotFirstThenOneEventPerChange) {
  Beat("fleet/a", "alpha", 10 * kSecond);
  Service("fleet/a", "web", 10 * kSecond, proto::ServiceState::kRunning);
  auto sub = state_.Subscribe();
  std::vector<json> data;
  ASSERT_EQ(Names(*sub, &data), std::vector<std::string>{"snapshot"});
  EXPECT_EQ(data[0]["Base"], "fleet");
  ASSERT_EQ(data[0]["Spawnpoints"].size(), 1u);
  EXPECT_EQ(data[0]["Spawnpoints"][0]["Alias"], "alpha");
  EXPECT_EQ(data[0]["Spawnpoints"][0]["Services"]["web"]["State"], "running");
  EXPECT_EQ(data[0]["Spawnpoints"][0]["Services"]["web"]["History"].size(), 1u);

  Service("fleet/a", "web", 12 * kSecond, proto::ServiceState::kRestarting, 50);
  state_.Apply(Retained(topics::Meta("fleet/a", "room"), "lab"), 12 * kSecond);
  proto::LogMessage line{13 * kSecond, "alpha", "web", "stdout", "hello"};
  state_.Apply({topics::ServiceLog("fleet/a", "web"), proto::Encode(line), 0, false}, 13 * kSecond);
  state_.Apply(Retained(topics::ServiceHeartbeat("fleet/a", "web"), ""), 14 * kSecond);
  state_.Apply(Retained(topics::Heartbeat("fleet/a"), ""), 15 * kSecond);
  data.clear();
  EXPECT_EQ(Names(*sub, &data),
            (std::vector<std::string>{"service", "spawnpoint", "log", "service-removed",
                                      "spawnpoint-removed"}));
  EXPECT_EQ(data[0]["Spawnpoint"], "fleet/a");
  EXPECT_EQ(data[0]["Service"]["State"], "restarting");
  EXPECT_EQ(data[0]["Service"]["History"].size(), 2u);
  EXPECT_EQ(data[0]["Service"]["History"][1][1], 50.0);
  EXPECT_EQ(data[1]["Metadata"]["room"], "lab");
  EXPECT_EQ(data[2]["Contents"], "hello");
  EXPECT_EQ(data[2]["Spawnpoint"], "fleet/a");
  EXPECT_EQ(data[3]["Name"], "web");
  EXPECT_EQ(data[4]["Path"], "fleet/a");
  EXPECT_TRUE(state_.Spawnpoints().empty());
}

TEST_F(GatewayFleetStateTest, DownIsJudgedFromTheSpawnpointHeartbeatAtTicks) {
  Beat("fleet/a", "alpha", 10 * kSecond);
  // The service heartbeat is old (sent on change only): that does not make anything down.
  Service("fleet/a", "web", 1 * kSecond, proto::ServiceState::kRunning);
  auto sub = state_.Subscribe();
  Names(*sub);
  state_.Tick(20 * kSecond);  // 10 s of silence: under three 5 s intervals
  EXPECT_TRUE(Names(*sub).empty());
  std::vector<json> data;
  state_.Tick(26 * kSecond);  // 16 s: down
  ASSERT_EQ(Names(*sub, &data), std::vector<std::string>{"spawnpoint"});
  EXPECT_EQ(data[0]["Down"], true);
  state_.Tick(27 * kSecond);  // no change, no event
  EXPECT_TRUE(Names(*sub).empty());
  data.clear();
  Beat("fleet/a", "alpha", 28 * kSecond);
  ASSERT_EQ(Names(*sub, &data), std::vector<std::string>{"spawnpoint"});
  EXPECT_EQ(data[0]["Down"], false);
}

TEST_F(GatewayFleetStateTest, OfflinePresenceIsDown) {
  Beat("fleet/a", "alpha", 10 * kSecond);
  state_.Apply(Retained(topics::Presence("fleet/a"), "offline"), 11 * kSecond);
  auto sp = state_.Spawnpoint("fleet/a");
  ASSERT_TRUE(sp.has_value());
  EXPECT_FALSE(sp->online);
}

TEST_F(GatewayFleetStateTest, HistoryKeepsTheLastPointsInOrder) {
  FleetState small("fleet", {.history_points = 3});
  small.Apply(Retained(topics::Heartbeat("fleet/a"), proto::Encode(SpawnpointBeat("a", 1))), 1);
  for (int i = 1; i <= 5; ++i) {
    auto hb = ServiceBeat("fleet/a", "web", i * kSecond, proto::ServiceState::kRunning);
    hb.cpu_percent = i;
    small.Apply(Retained(topics::ServiceHeartbeat("fleet/a", "web"), proto::Encode(hb)),
                i * kSecond);
  }
  auto h = small.History("fleet/a", "web");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].cpu_percent, 3);
  EXPECT_EQ(h[2].cpu_percent, 5);
  EXPECT_EQ(h[2].mem_usage_mib, 100.5);
}

TEST_F(GatewayFleetStateTest, ASubscriberTooFarBehindIsCutOff) {
  FleetState state("fleet", {.max_queued = 3});
  state.Apply(Retained(topics::Heartbeat("fleet/a"), proto::Encode(SpawnpointBeat("a", 1))), 1);
  auto sub = state.Subscribe();  // the snapshot is one
  EXPECT_EQ(state.subscribers(), 1u);
  for (int i = 0; i < 3; ++i) {
    proto::LogMessage line{i, "a", "web", "stdout", "x"};
    state.Apply({topics::ServiceLog("fleet/a", "web"), proto::Encode(line), 0, false}, 2);
  }
  EXPECT_TRUE(sub->closed());
  EXPECT_TRUE(sub->Wait(Duration::zero()).empty());
  EXPECT_EQ(state.subscribers(), 0u);
}

TEST_F(GatewayFleetStateTest, TopicsOutsideSpawnpointsAndBadPayloadsAreIgnored) {
  state_.Apply(Retained("fleet/other/topic", "x"), 1);
  state_.Apply(Retained(topics::Heartbeat("fleet/a"), "not msgpack"), 1);
  EXPECT_TRUE(state_.Spawnpoints().empty());
}

TEST_F(GatewayFleetStateTest, CloseAllEndsEveryStream) {
  auto a = state_.Subscribe(), b = state_.Subscribe();
  state_.CloseAll();
  EXPECT_TRUE(a->closed());
  EXPECT_TRUE(b->closed());
}

}  // namespace
}  // namespace spawn::gateway
