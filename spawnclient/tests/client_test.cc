// SpawnClient against FakeBroker, with a scripted fake spawnpoint answering on its own FakeBus.
// FakeBus delivers synchronously on the publisher's thread, so each exchange completes inside the
// client's Publish(): no sleeps, no timing.
#include "spawn/client/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "spawn/bus/fake_bus.h"
#include "spawn/common/units.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using proto::ServiceState;
using ::testing::ElementsAre;

constexpr int64_t kSec = 1000000000;
constexpr int64_t kNow = 1795401000LL * kSec;
const std::string kPath = "test.ns/spawnpoint/alpha";

// A spawnpoint as spawnctl sees it: retained heartbeats, replies to commands, a log history.
// What it was asked is recorded; what it answers is scripted.
class ScriptedSpawnpoint {
 public:
  ScriptedSpawnpoint(FakeBroker& broker, std::string path) : bus_(broker), path_(std::move(path)) {
    bus_.SetMessageHandler([this](const BusMessage& m) { Handle(m); });
    EXPECT_TRUE(bus_.Connect().ok());
    for (const auto& slot : {topics::ConfigSlot(path_), topics::RestartSlot(path_),
                             topics::StopSlot(path_), topics::LogsSlot(path_)}) {
      EXPECT_TRUE(bus_.Subscribe(slot, 1).ok());
    }
  }

  void PublishHeartbeat(int64_t time, const std::vector<std::string>& services) {
    proto::SpawnpointHeartbeat hb;
    hb.alias = path_.substr(path_.rfind('/') + 1);
    hb.time_unix_ns = time;
    hb.total_mem_mib = 4096;
    hb.available_mem_mib = 2048;
    hb.total_cpu_shares = 4096;
    hb.available_cpu_shares = 2048;
    hb.services = services;
    Publish(topics::Heartbeat(path_), proto::Encode(hb), true);
  }
  void PublishService(const std::string& name, ServiceState state) {
    proto::ServiceHeartbeat hb;
    hb.spawnpoint_uri = path_;
    hb.name = name;
    hb.time_unix_ns = kNow;
    hb.state = state;
    hb.mem_alloc_mib = 64;
    hb.cpu_shares = 512;
    hb.original_config.name = name;
    hb.original_config.run = {"sh"};
    hb.original_config.mem_alloc_bytes = 64 * kMiB;
    hb.original_config.cpu_shares = 512;
    Publish(topics::ServiceHeartbeat(path_, name), proto::Encode(hb), true);
  }
  void Log(const std::string& service, const std::string& stream, const std::string& text) {
    Publish(topics::ServiceLog(path_, service),
            proto::Encode(proto::LogMessage{kNow, "alpha", service, stream, text}), false);
  }
  void Publish(const std::string& topic, const std::string& payload, bool retained) {
    EXPECT_TRUE(bus_.Publish({topic, payload, 1, retained}).ok());
  }

  // Scripted answers.
  proto::Reply next_reply{"", true, 200, "ok"};
  bool answer = true;
  int lose_first = 0;  // commands lost on the way (a broker restart), before any is answered
  // Run after answering a deploy (e.g. publish the states the service goes through).
  std::function<void(const proto::DeployRequest&)> after_deploy;
  std::vector<proto::LogMessage> history;

  // What it was asked.
  std::vector<proto::DeployRequest> deploys;
  std::vector<std::pair<std::string, proto::ServiceCommand>> commands;  // slot, command
  std::vector<proto::LogsRequest> log_requests;

 private:
  void Reply(const std::string& id) {
    proto::Reply r = next_reply;
    r.request_id = id;
    Publish(topics::Reply(path_, id), proto::Encode(r), false);
  }
  void Handle(const BusMessage& m) {
    if (m.topic == topics::ConfigSlot(path_)) {
      auto request = proto::DecodeDeployRequest(m.payload);
      ASSERT_TRUE(request.ok()) << request.status().message();
      deploys.push_back(*request);
      if (!answer) return;
      if (next_reply.ok) PublishService(request->config.name, ServiceState::kBuilding);
      Reply(request->request_id);
      if (after_deploy) after_deploy(*request);
    } else if (m.topic == topics::LogsSlot(path_)) {
      auto request = proto::DecodeLogsRequest(m.payload);
      ASSERT_TRUE(request.ok());
      log_requests.push_back(*request);
      const std::string topic = topics::LogsReply(path_, request->request_id);
      // In two parts, then the empty list that ends the history.
      for (const auto& line : history)
        Publish(topic, proto::Encode(proto::LogsReply{request->request_id, {line}}), false);
      Publish(topic, proto::Encode(proto::LogsReply{request->request_id, {}}), false);
    } else {
      auto command = proto::DecodeServiceCommand(m.payload);
      ASSERT_TRUE(command.ok());
      if (lose_first > 0) {
        --lose_first;
        return;
      }
      commands.emplace_back(m.topic, *command);
      if (answer) Reply(command->request_id);
    }
  }

  FakeBus bus_;
  std::string path_;
};

// Hands everything to another bus and tells the test, on the client's thread, how each publish
// went: a test acts at the moment the client has tried, instead of guessing when that was.
class ObservedBus final : public Bus {
 public:
  explicit ObservedBus(Bus& bus) : bus_(bus) {}

  void SetMessageHandler(MessageHandler handler) override {
    bus_.SetMessageHandler(std::move(handler));
  }
  void SetConnectionHandler(ConnectionHandler handler) override {
    bus_.SetConnectionHandler(std::move(handler));
  }
  Status Connect() override { return bus_.Connect(); }
  Status Publish(const BusMessage& message) override {
    Status s = bus_.Publish(message);
    if (after_publish) after_publish(s);
    return s;
  }
  Status Subscribe(const std::string& filter, int qos) override {
    return bus_.Subscribe(filter, qos);
  }
  Status Unsubscribe(const std::string& filter) override { return bus_.Unsubscribe(filter); }
  Status Disconnect() override { return bus_.Disconnect(); }
  bool IsConnected() const override { return bus_.IsConnected(); }

  std::function<void(const Status&)> after_publish;  // set before the client publishes

 private:
  Bus& bus_;
};

class SpawnClientTest : public ::testing::Test {
 protected:
  SpawnClientTest() : spawnpoint_(broker_, kPath), bus_(broker_), client_(bus_) {
    EXPECT_TRUE(bus_.Connect().ok());
  }
  proto::DeployRequest Request(const std::string& name) {
    proto::DeployRequest r;
    r.config.name = name;
    r.config.run = {"sh"};
    r.config.mem_alloc_bytes = 64 * kMiB;
    r.config.cpu_shares = 512;
    r.archive = "tar bytes";
    r.entity = "secret";
    return r;
  }

  FakeBroker broker_;
  ScriptedSpawnpoint spawnpoint_;
  FakeBus bus_;
  SpawnClient client_;
  const Duration kTimeout = std::chrono::seconds(5);
};

TEST_F(SpawnClientTest, ScanGathersRetainedState) {
  spawnpoint_.PublishHeartbeat(kNow, {"web", "db"});
  spawnpoint_.PublishService("web", ServiceState::kRunning);
  spawnpoint_.PublishService("db", ServiceState::kZombie);
  spawnpoint_.PublishService("gone", ServiceState::kRunning);
  spawnpoint_.Publish(topics::ServiceHeartbeat(kPath, "gone"), "", true);  // purged
  spawnpoint_.Publish(topics::Meta(kPath, "arch"), "amd64", true);
  spawnpoint_.Publish(topics::Presence(kPath), "online", true);
  ScriptedSpawnpoint beta(broker_, "test.ns/spawnpoint/beta");
  beta.PublishHeartbeat(kNow - 60 * kSec, {});
  beta.Publish(topics::Presence("test.ns/spawnpoint/beta"), "offline", true);
  ScriptedSpawnpoint elsewhere(broker_, "other.ns/spawnpoint/x");
  elsewhere.PublishHeartbeat(kNow, {});

  auto found = client_.Scan("test.ns/spawnpoint", kTimeout);
  ASSERT_TRUE(found.ok()) << found.status().message();
  ASSERT_EQ(found->size(), 2u);
  const SpawnpointInfo& alpha = (*found)[0];
  EXPECT_EQ(alpha.path, kPath);
  EXPECT_EQ(alpha.heartbeat.alias, "alpha");
  EXPECT_TRUE(alpha.online);
  EXPECT_EQ(alpha.last_seen_unix_ns, kNow);
  EXPECT_FALSE(IsDown(alpha, kNow + 14 * kSec, kDefaultDownAfter));
  EXPECT_TRUE(IsDown(alpha, kNow + 16 * kSec, kDefaultDownAfter));
  ASSERT_EQ(alpha.services.size(), 2u);
  EXPECT_EQ(alpha.services.at("web").state, ServiceState::kRunning);
  EXPECT_EQ(alpha.services.at("db").state, ServiceState::kZombie);
  EXPECT_EQ(alpha.metadata, (std::map<std::string, std::string>{{"arch", "amd64"}}));
  const SpawnpointInfo& beta_info = (*found)[1];
  EXPECT_EQ(beta_info.path, "test.ns/spawnpoint/beta");
  EXPECT_FALSE(beta_info.online);
  EXPECT_TRUE(IsDown(beta_info, kNow, kDefaultDownAfter));
  // Every subscription made for the scan is gone again.
  EXPECT_TRUE(bus_.Subscriptions().empty());
}

TEST_F(SpawnClientTest, ScanOfOneSpawnpointAndOfNothing) {
  spawnpoint_.PublishHeartbeat(kNow, {});
  auto one = client_.Scan(kPath, kTimeout);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  auto none = client_.Scan("nothing.here", kTimeout);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(SpawnClientTest, ScanDecodesOriginalConfigsUnlessAskedNotTo) {
  spawnpoint_.PublishHeartbeat(kNow, {"web"});
  spawnpoint_.PublishService("web", ServiceState::kRunning);
  auto full = client_.Scan(kPath, kTimeout);
  auto lean = client_.Scan(kPath, kTimeout, proto::HeartbeatDetail::kWithoutOriginalConfig);
  ASSERT_TRUE(full.ok() && lean.ok());
  ASSERT_EQ(full->size(), 1u);
  ASSERT_EQ(lean->size(), 1u);
  EXPECT_EQ(full->at(0).services.at("web").original_config.name, "web");
  EXPECT_EQ(lean->at(0).services.at("web").original_config, ServiceConfig{});
  EXPECT_EQ(lean->at(0).services.at("web").state, ServiceState::kRunning);
}

TEST_F(SpawnClientTest, ScanFailsWhenTheBrokerRefuses) {
  bus_.FailPublishes(true);
  auto found = client_.Scan(kPath, kTimeout);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), Code::kUnavailable);
}

TEST_F(SpawnClientTest, DeploySendsTheRequestAndReturnsTheReply) {
  spawnpoint_.next_reply = {"", true, 200, "service demo accepted by alpha"};
  auto reply = client_.Deploy(kPath, Request("demo"), kTimeout);
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_TRUE(reply->ok);
  EXPECT_EQ(reply->message, "service demo accepted by alpha");
  ASSERT_EQ(spawnpoint_.deploys.size(), 1u);
  const auto& sent = spawnpoint_.deploys[0];
  EXPECT_EQ(sent.config.name, "demo");
  EXPECT_EQ(sent.archive, "tar bytes");
  EXPECT_EQ(sent.entity, "secret");
  EXPECT_EQ(sent.request_id.size(), 32u);
  EXPECT_EQ(reply->request_id, sent.request_id);
  // Published once, at QoS 1, not retained.
  auto published = bus_.PublishedOn(topics::ConfigSlot(kPath));
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].qos, 1);
  EXPECT_FALSE(published[0].retained);
}

TEST_F(SpawnClientTest, RefusalIsAReplyNotAnError) {
  spawnpoint_.next_reply = {"", false, 409, "service demo exists"};
  auto reply = client_.Deploy(kPath, Request("demo"), kTimeout);
  ASSERT_TRUE(reply.ok());
  EXPECT_FALSE(reply->ok);
  EXPECT_EQ(reply->code, 409);
}

TEST_F(SpawnClientTest, NoAnswerTimesOut) {
  spawnpoint_.answer = false;
  auto reply = client_.Restart(kPath, "demo", Duration(1));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Code::kTimeout);
  EXPECT_NE(reply.status().message().find(kPath), std::string::npos);
}

TEST_F(SpawnClientTest, AnUnansweredCommandGoesOutAgainWithTheSameRequestId) {
  spawnpoint_.lose_first = 2;
  client_.set_resend_interval(std::chrono::milliseconds(1));
  auto reply = client_.Restart(kPath, "demo", kTimeout);
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_TRUE(reply->ok);
  auto sent = bus_.PublishedOn(topics::RestartSlot(kPath));
  ASSERT_EQ(sent.size(), 3u);  // two lost, the third answered; none after the answer
  EXPECT_EQ(sent[0].payload, sent[1].payload);
  EXPECT_EQ(sent[1].payload, sent[2].payload);
  ASSERT_EQ(spawnpoint_.commands.size(), 1u);
  EXPECT_EQ(spawnpoint_.commands[0].second.request_id, reply->request_id);
}

TEST_F(SpawnClientTest, ACommandWaitsForABrokerThatIsAwayAndFailsWithItsErrorAtTheEnd) {
  bus_.FailPublishes(true);
  auto never = client_.Stop(kPath, "demo", Duration(1));
  ASSERT_FALSE(never.ok());
  EXPECT_EQ(never.status().code(), Code::kUnavailable);  // the reason, not a bare timeout
  EXPECT_TRUE(spawnpoint_.commands.empty());

  // The broker is back as soon as the client has found it away: the command goes out again.
  FakeBus away(broker_);
  ObservedBus observed(away);
  SpawnClient client(observed);
  ASSERT_TRUE(away.Connect().ok());
  away.FailPublishes(true);
  int refused = 0;
  observed.after_publish = [&](const Status& s) {
    if (!s.ok() && ++refused == 1) away.FailPublishes(false);
  };
  auto reply = client.Stop(kPath, "demo", kTimeout);
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  EXPECT_EQ(refused, 1);
  ASSERT_EQ(spawnpoint_.commands.size(), 1u);
  EXPECT_EQ(spawnpoint_.commands[0].first, topics::StopSlot(kPath));
}

// A command refused by the broker (MQTT 5's PUBACK "not authorised") fails at once, with no
// resend and no wait for the timeout: kTimeout is far off, and the first refusal is the answer.
TEST_F(SpawnClientTest, ACommandTheBrokerRefusesFailsAtOnceAsForbidden) {
  bus_.RefusePublishesTo(topics::ConfigSlot(kPath));
  client_.set_resend_interval(std::chrono::hours(1));
  auto reply = client_.Deploy(kPath, Request("demo"), std::chrono::hours(1));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Code::kForbidden);
  EXPECT_NE(reply.status().message().find(topics::ConfigSlot(kPath)), std::string::npos);
  EXPECT_TRUE(spawnpoint_.deploys.empty());
  bus_.RefusePublishesTo(topics::StopSlot(kPath));
  EXPECT_EQ(client_.Stop(kPath, "demo", std::chrono::hours(1)).status().code(), Code::kForbidden);
}

TEST_F(SpawnClientTest, CommandsCarryTheCommandExpiryAndLogRequestsTheirTimeout) {
  EXPECT_EQ(client_.command_expiry(), std::chrono::minutes(10));
  ASSERT_TRUE(client_.Restart(kPath, "demo", kTimeout).ok());
  client_.set_command_expiry(std::chrono::seconds(2));
  ASSERT_TRUE(client_.Deploy(kPath, Request("demo"), kTimeout).ok());
  ASSERT_TRUE(client_.Logs(kPath, "demo", 0, std::chrono::milliseconds(2500)).ok());
  ASSERT_EQ(bus_.PublishedOn(topics::RestartSlot(kPath)).size(), 1u);
  EXPECT_EQ(bus_.PublishedOn(topics::RestartSlot(kPath))[0].expiry, std::chrono::minutes(10));
  ASSERT_EQ(bus_.PublishedOn(topics::ConfigSlot(kPath)).size(), 1u);
  EXPECT_EQ(bus_.PublishedOn(topics::ConfigSlot(kPath))[0].expiry, std::chrono::seconds(2));
  ASSERT_EQ(bus_.PublishedOn(topics::LogsSlot(kPath)).size(), 1u);
  EXPECT_EQ(bus_.PublishedOn(topics::LogsSlot(kPath))[0].expiry, std::chrono::seconds(3));
}

TEST_F(SpawnClientTest, RestartAndStopGoToTheirSlots) {
  ASSERT_TRUE(client_.Restart(kPath, "demo", kTimeout).ok());
  ASSERT_TRUE(client_.Stop(kPath, "demo", kTimeout).ok());
  ASSERT_EQ(spawnpoint_.commands.size(), 2u);
  EXPECT_EQ(spawnpoint_.commands[0].first, topics::RestartSlot(kPath));
  EXPECT_EQ(spawnpoint_.commands[0].second.service, "demo");
  EXPECT_EQ(spawnpoint_.commands[1].first, topics::StopSlot(kPath));
  EXPECT_NE(spawnpoint_.commands[0].second.request_id, spawnpoint_.commands[1].second.request_id);
}

TEST_F(SpawnClientTest, LogsGathersRepliesUntilTheEmptyList) {
  spawnpoint_.history = {{kNow, "alpha", "demo", "stdout", "one"},
                         {kNow + 1, "alpha", "demo", "stderr", "two"}};
  auto lines = client_.Logs(kPath, "demo", kNow - 600 * kSec, kTimeout);
  ASSERT_TRUE(lines.ok()) << lines.status().message();
  EXPECT_EQ(*lines, spawnpoint_.history);
  ASSERT_EQ(spawnpoint_.log_requests.size(), 1u);
  EXPECT_EQ(spawnpoint_.log_requests[0].service, "demo");
  EXPECT_EQ(spawnpoint_.log_requests[0].since_unix_ns, kNow - 600 * kSec);
}

TEST_F(SpawnClientTest, InspectReturnsTheRetainedHeartbeat) {
  spawnpoint_.PublishHeartbeat(kNow, {"web"});
  spawnpoint_.PublishService("web", ServiceState::kRunning);
  auto hb = client_.Inspect(kPath, "web", kTimeout);
  ASSERT_TRUE(hb.ok()) << hb.status().message();
  EXPECT_EQ(hb->original_config.run, std::vector<std::string>{"sh"});
  auto missing = client_.Inspect(kPath, "nope", kTimeout);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  auto no_spawnpoint = client_.Inspect("test.ns/none", "web", kTimeout);
  EXPECT_EQ(no_spawnpoint.status().code(), Code::kNotFound);
}

// The deploy flow of spawnctl: watch first, deploy, then wait for running while the build's log
// arrives (callbacks on the watch's thread).
TEST_F(SpawnClientTest, DeployFlowFollowsTheLogAndWaitsUntilRunning) {
  spawnpoint_.PublishService("demo", ServiceState::kZombie);  // an old instance's retained state
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> lines;
  auto watch = client_.Watch(kPath, "demo", [&](const proto::LogMessage& m) {
    std::lock_guard lock(mu);
    lines.push_back(m.contents);
    cv.notify_all();
  });
  ASSERT_TRUE(watch.ok()) << watch.status().message();
  spawnpoint_.after_deploy = [&](const proto::DeployRequest& r) {
    spawnpoint_.Log(r.config.name, "spawnd", "[INFO] Building image...");
    spawnpoint_.Log(r.config.name, "stdout", "Step 1/3 : FROM busybox");
    spawnpoint_.PublishService(r.config.name, ServiceState::kStarting);
    spawnpoint_.PublishService(r.config.name, ServiceState::kRunning);
  };
  auto request = Request("demo");
  request.replace = true;
  auto reply = client_.Deploy(kPath, request, kTimeout);
  ASSERT_TRUE(reply.ok() && reply->ok);
  EXPECT_TRUE((*watch)->WaitForState(ServiceState::kRunning, kTimeout).ok());
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return lines.size() == 2; });
  EXPECT_THAT(lines, ElementsAre("[INFO] Building image...", "Step 1/3 : FROM busybox"));
}

TEST_F(SpawnClientTest, WaitForRunningFailsWhenTheServiceDies) {
  auto watch = client_.Watch(kPath, "demo");
  ASSERT_TRUE(watch.ok());
  spawnpoint_.after_deploy = [&](const proto::DeployRequest& r) {
    spawnpoint_.Log(r.config.name, "spawnd", "[ERROR 500] build failed: step 2 returned 1");
    spawnpoint_.PublishService(r.config.name, ServiceState::kZombie);
  };
  ASSERT_TRUE(client_.Deploy(kPath, Request("demo"), kTimeout).ok());
  Status st = (*watch)->WaitForState(ServiceState::kRunning, kTimeout);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("build failed"), std::string::npos) << st.message();
}

TEST_F(SpawnClientTest, WaitForStateSeesAPurge) {
  spawnpoint_.PublishService("demo", ServiceState::kRunning);
  auto watch = client_.Watch(kPath, "demo");
  ASSERT_TRUE(watch.ok());
  spawnpoint_.Publish(topics::ServiceHeartbeat(kPath, "demo"), "", true);
  EXPECT_EQ((*watch)->WaitForState(ServiceState::kRunning, kTimeout).code(), Code::kNotFound);
}

TEST_F(SpawnClientTest, WaitForStateUsesTheRetainedHeartbeat) {
  spawnpoint_.PublishService("demo", ServiceState::kRunning);
  EXPECT_TRUE(client_.WaitForState(kPath, "demo", ServiceState::kRunning, kTimeout).ok());
  EXPECT_EQ(client_.WaitForState(kPath, "demo", ServiceState::kZombie, Duration(1)).code(),
            Code::kTimeout);
}

TEST_F(SpawnClientTest, CancelWakesTheWaitAndUnsubscribes) {
  auto watch = client_.Tail(kPath, "demo", [](const proto::LogMessage&) {});
  ASSERT_TRUE(watch.ok());
  EXPECT_EQ(bus_.Subscriptions().size(), 2u);
  std::thread canceller([&] { (*watch)->Cancel(); });
  Status st = (*watch)->WaitForState(ServiceState::kRunning, std::chrono::hours(1));
  canceller.join();
  EXPECT_EQ(st.message(), "interrupted");
  EXPECT_TRUE(bus_.Subscriptions().empty());
  spawnpoint_.Log("demo", "stdout", "after cancel: not delivered, no crash");
}

}  // namespace
}  // namespace spawn
