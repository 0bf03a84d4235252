// FleetAgent on the in-memory bus: scripted spawnpoints that heartbeat and answer deploys, a
// ManualEventLoop for time.
#include "spawn/fleet/agent.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spawn/bus/fake_bus.h"
#include "spawn/fleet/fleet_client.h"
#include "spawn/proto/topics.h"

namespace spawn::fleet {
namespace {

using ::testing::SizeIs;

// A spawnpoint that says it has `mem` MiB and accepts every deploy that fits, publishing the
// reply and the service's heartbeat (running at once).
class ScriptedSpawnpoint {
 public:
  ScriptedSpawnpoint(FakeBroker& broker, EventLoop& loop, std::string path, int64_t mem)
      : bus_(broker), loop_(loop), path_(std::move(path)), free_(mem) {
    bus_.SetMessageHandler([this](const BusMessage& m) { OnCommand(m); });
    EXPECT_TRUE(bus_.Connect().ok());
    EXPECT_TRUE(bus_.Subscribe(topics::ConfigSlot(path_), 1).ok());
    EXPECT_TRUE(bus_.Subscribe(topics::StopSlot(path_), 1).ok());
    Heartbeat();
  }
  void Heartbeat() {
    proto::SpawnpointHeartbeat hb;
    hb.time_unix_ns = ToUnixNanos(loop_.WallNow());
    hb.available_mem_mib = free_;
    hb.available_cpu_shares = 4096;
    hb.heartbeat_interval_ms = 1000;
    bus_.Publish(BusMessage{topics::Heartbeat(path_), proto::Encode(hb), 1, true}).IgnoreError();
  }
  std::vector<std::string> services;

 private:
  void OnCommand(const BusMessage& m) {
    proto::Reply reply;
    if (m.topic == topics::ConfigSlot(path_)) {
      auto req = proto::DecodeDeployRequest(m.payload);
      ASSERT_TRUE(req.ok()) << req.status().message();
      reply.request_id = req->request_id;
      const int64_t mem = req->config.mem_alloc_bytes >> 20;
      reply.ok = mem <= free_;
      reply.code = reply.ok ? 200 : 503;
      if (reply.ok) {
        free_ -= mem;
        services.push_back(req->config.name);
        proto::ServiceHeartbeat hb;
        hb.name = req->config.name;
        hb.state = proto::ServiceState::kRunning;
        hb.original_config = req->config;
        bus_.Publish(
                BusMessage{topics::ServiceHeartbeat(path_, hb.name), proto::Encode(hb), 1, true})
            .IgnoreError();
      }
    } else {
      auto cmd = proto::DecodeServiceCommand(m.payload);
      ASSERT_TRUE(cmd.ok());
      reply.request_id = cmd->request_id;
      reply.ok = true;
      reply.code = 200;
    }
    bus_.Publish(BusMessage{topics::Reply(path_, reply.request_id), proto::Encode(reply), 1, false})
        .IgnoreError();
    Heartbeat();
  }

  FakeBus bus_;
  EventLoop& loop_;
  std::string path_;
  int64_t free_;
};

FleetConfig Web(int64_t replicas) {
  FleetConfig c;
  c.replicas = replicas;
  c.config.name = "web";
  c.config.run = {"./web"};
  c.config.mem_alloc_bytes = int64_t{256} << 20;
  c.config.cpu_shares = 256;
  return c;
}

TEST(FleetAgentTest, PlacesWhatFleetClientAppliedAndPublishesTheStatus) {
  FakeBroker broker;
  ManualEventLoop loop;
  ScriptedSpawnpoint a(broker, loop, "site/a", 1024), b(broker, loop, "site/b", 1024);
  FakeBus agent_bus(broker);
  FleetAgent agent(AgentOptions{ReconcilerOptions{"site"}}, agent_bus, loop);
  agent.Install();
  ASSERT_TRUE(agent_bus.Connect().ok());
  ASSERT_TRUE(agent.Start().ok());

  FakeBus client_bus(broker);
  FleetClient client(client_bus);
  ASSERT_TRUE(client_bus.Connect().ok());
  auto applied = client.Apply("site", Web(2), "", "", std::chrono::seconds(1));
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ(applied->spec.current.generation, 1);
  for (int i = 0; i < 5; ++i) loop.AdvanceBy(std::chrono::milliseconds(100));

  EXPECT_THAT(a.services, SizeIs(1));
  EXPECT_THAT(b.services, SizeIs(1));
  auto deploys = agent_bus.PublishedOn(topics::ConfigSlot("site/+"));
  ASSERT_THAT(deploys, SizeIs(2));
  EXPECT_EQ(deploys[0].expiry, std::chrono::seconds(60));
  auto view = client.Read("site", std::chrono::seconds(1));
  ASSERT_TRUE(view.ok());
  const FleetStatus& st = view->statuses.at("web");
  EXPECT_EQ(st.running, 2);
  EXPECT_EQ(st.rollout, RolloutState::kDone);
  auto waited = client.WaitForRollout("site", "web", 1, std::chrono::seconds(1));
  ASSERT_TRUE(waited.ok()) << waited.status().message();
  EXPECT_EQ(waited->rollout, RolloutState::kDone);
}

TEST(FleetClientTest, ApplyNumbersGenerationsScaleKeepsThemDrainAndRemoveMark) {
  FakeBroker broker;
  FakeBus bus(broker);
  FleetClient client(bus);
  ASSERT_TRUE(bus.Connect().ok());
  const auto timeout = std::chrono::seconds(1);
  auto first = client.Apply("site", Web(2), "tar", "", timeout);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->spec.current.generation, 1);
  EXPECT_FALSE(first->spec.previous.has_value());
  auto same = client.Apply("site", Web(3), "tar", "", timeout);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->spec.current.generation, 1);
  EXPECT_FALSE(same->changed_config);
  FleetConfig changed = Web(3);
  changed.config.env = {"V=2"};
  auto second = client.Apply("site", changed, "tar2", "", timeout);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->spec.current.generation, 2);
  ASSERT_TRUE(second->spec.previous.has_value());
  EXPECT_EQ(second->spec.previous->generation, 1);
  auto view = client.Read("site", timeout);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->files.at("web").archive, "tar2");
  EXPECT_EQ(view->files.at("web").previous_archive, "tar");
  EXPECT_EQ(view->files.at("web").generation, 2);

  auto scaled = client.Scale("site", "web", 5, timeout);
  ASSERT_TRUE(scaled.ok());
  EXPECT_EQ(scaled->replicas, 5);
  EXPECT_EQ(scaled->current.generation, 2);
  EXPECT_EQ(client.Scale("site", "nope", 1, timeout).status().code(), Code::kNotFound);

  ASSERT_TRUE(client.Drain("site/a", true).ok());
  EXPECT_TRUE(client.Read("site", timeout)->drained.count("site/a"));
  ASSERT_TRUE(client.Drain("site/a", false).ok());
  EXPECT_FALSE(client.Read("site", timeout)->drained.count("site/a"));
  EXPECT_EQ(client.Drain("alpha", true).code(), Code::kBadRequest);

  ASSERT_TRUE(client.Remove("site", "web", timeout).ok());
  EXPECT_TRUE(client.Read("site", timeout)->sets.at("web").removed);
}

}  // namespace
}  // namespace spawn::fleet
