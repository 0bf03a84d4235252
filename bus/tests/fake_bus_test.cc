#include "spawn/bus/fake_bus.h"

#include <gtest/gtest.h>

namespace spawn {
namespace {

TEST(BrokerUsesTlsTest, OnlySslUrisDo) {
  EXPECT_TRUE(BrokerUsesTls("ssl://broker:8883"));
  EXPECT_FALSE(BrokerUsesTls("tcp://127.0.0.1:1883"));
  EXPECT_FALSE(BrokerUsesTls("tcp://ssl.example:1883"));
}

TEST(FakeBusTest, RoutesByFilterKeepsRetainedAndRecords) {
  FakeBroker broker;
  FakeBus a(broker), b(broker);
  std::vector<std::string> got;
  b.SetMessageHandler([&](const BusMessage& m) { got.push_back(m.topic + "=" + m.payload); });
  ASSERT_TRUE(a.Connect().ok());
  ASSERT_TRUE(b.Connect().ok());
  ASSERT_TRUE(a.Publish({"x/kept", "1", 1, true}).ok());
  ASSERT_TRUE(b.Subscribe("x/#", 1).ok());  // receives the retained message on subscribe
  ASSERT_TRUE(a.Publish({"x/live", "2", 1, false}).ok());
  ASSERT_TRUE(a.Publish({"y/other", "3", 1, false}).ok());
  EXPECT_EQ(got, (std::vector<std::string>{"x/kept=1", "x/live=2"}));
  EXPECT_EQ(a.Published().size(), 3u);
  EXPECT_EQ(a.PublishedOn("y/+").size(), 1u);
  ASSERT_TRUE(a.Publish({"x/kept", "", 1, true}).ok());  // an empty retained payload clears
  EXPECT_EQ(broker.Retained().count("x/kept"), 0u);
}

TEST(FakeBusTest, FailsWhenToldAndSendsTheWillOnALostConnection) {
  FakeBroker broker;
  BusOptions options;
  options.will = BusMessage{"p/presence", "offline", 1, true};
  FakeBus a(broker, options), watcher(broker);
  bool lost = false;
  a.SetConnectionHandler([&](bool up) { lost = !up; });
  ASSERT_TRUE(a.Connect().ok());
  ASSERT_TRUE(watcher.Connect().ok());
  a.FailPublishes(true);
  EXPECT_EQ(a.Publish({"t", "x", 1, false}).code(), Code::kUnavailable);
  a.DropConnection();
  EXPECT_TRUE(lost);
  EXPECT_EQ(broker.Retained().at("p/presence").payload, "offline");
  EXPECT_EQ(a.Publish({"t", "x", 1, false}).code(), Code::kUnavailable);
}

TEST(FakeBusTest, RefusesPublishesToAFilterAsForbiddenAndKeepsExpiries) {
  FakeBroker broker;
  FakeBus a(broker), b(broker);
  std::vector<BusMessage> got;
  b.SetMessageHandler([&](const BusMessage& m) { got.push_back(m); });
  ASSERT_TRUE(a.Connect().ok());
  ASSERT_TRUE(b.Connect().ok());
  ASSERT_TRUE(b.Subscribe("#", 1).ok());
  a.RefusePublishesTo("closed/#");
  const Status refused = a.Publish({"closed/x", "1", 1, false});
  EXPECT_EQ(refused.code(), Code::kForbidden);
  EXPECT_EQ(refused.message(),
            "publish to closed/x failed: the broker refused it (not authorised)");
  ASSERT_TRUE(a.Publish({"open/x", "2", 1, false, std::chrono::seconds(30)}).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].topic, "open/x");
  EXPECT_EQ(got[0].expiry, std::chrono::seconds(30));
  EXPECT_EQ(a.Published().size(), 1u);
}

TEST(FakeBusTest, DeliverInjectsOnlyWhatMatchesAndFiltersSurviveAReconnection) {
  FakeBus bus;  // a broker of its own
  std::vector<std::string> got;
  std::vector<bool> connections;
  bus.SetMessageHandler([&](const BusMessage& m) { got.push_back(m.topic); });
  bus.SetConnectionHandler([&](bool up) { connections.push_back(up); });
  bus.Deliver({"a/b", "x", 1, false});  // not connected: dropped
  ASSERT_TRUE(bus.Connect().ok());
  ASSERT_TRUE(bus.Subscribe("a/+", 1).ok());
  bus.Deliver({"a/b", "x", 1, false});
  bus.Deliver({"a/b/c", "x", 1, false});
  bus.DropConnection();
  bus.Deliver({"a/c", "x", 1, false});  // away: not queued
  ASSERT_TRUE(bus.Connect().ok());
  bus.Deliver({"a/d", "x", 1, false});
  EXPECT_EQ(got, (std::vector<std::string>{"a/b", "a/d"}));
  EXPECT_EQ(connections, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(bus.Subscriptions(), (std::set<std::string>{"a/+"}));
  ASSERT_TRUE(bus.Unsubscribe("a/+").ok());
  bus.Deliver({"a/e", "x", 1, false});
  EXPECT_EQ(got.size(), 2u);
}

TEST(FakeBusTest, RetainedMessagesArriveFlaggedOnSubscribeAndPublishersCanBeFailedAndHealed) {
  FakeBroker broker;
  FakeBus a(broker), b(broker);
  ASSERT_TRUE(a.Connect().ok());
  ASSERT_TRUE(b.Connect().ok());
  ASSERT_TRUE(a.Publish({"s/hb", "v1", 1, true}).ok());
  ASSERT_TRUE(a.Publish({"s/hb", "v2", 1, true}).ok());  // replaces
  std::vector<BusMessage> got;
  b.SetMessageHandler([&](const BusMessage& m) { got.push_back(m); });
  ASSERT_TRUE(b.Subscribe("s/#", 1).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, "v2");
  EXPECT_TRUE(got[0].retained);
  a.FailPublishes(true);
  EXPECT_FALSE(a.Publish({"s/x", "1", 1, false}).ok());
  a.FailPublishes(false);
  ASSERT_TRUE(a.Publish({"s/x", "1", 0, false}).ok());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_FALSE(got[1].retained);
  EXPECT_EQ(a.Published().size(), 3u);  // failed publishes are not recorded
}

}  // namespace
}  // namespace spawn
