#include "spawn/bus/fake_bus.h"

#include <gtest/gtest.h>

namespace spawn {
namespace {

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

}  // namespace
}  // namespace spawn
