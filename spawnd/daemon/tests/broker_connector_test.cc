// BrokerConnector on a ManualEventLoop with a bus whose broker refuses the first connections: the
// back-off is checked by advancing the loop's time, never by waiting.
#include "spawn/daemon/broker_connector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spawn/bus/fake_bus.h"

namespace spawn {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

// A FakeBus whose broker refuses the first `refusals` connections (FakeBus itself always
// connects); counts the attempts.
class RefusingBus final : public Bus {
 public:
  explicit RefusingBus(int refusals) : refusals_(refusals) {}
  void SetMessageHandler(MessageHandler handler) override { fake.SetMessageHandler(handler); }
  void SetConnectionHandler(ConnectionHandler handler) override {
    fake.SetConnectionHandler(handler);
  }
  Status Connect() override {
    ++attempts;
    if (refusals_ == kForever) return Status::Unavailable("connection refused");
    if (refusals_ > 0) {
      --refusals_;
      return Status::Unavailable("connection refused");
    }
    return fake.Connect();
  }
  Status Publish(const BusMessage& m) override { return fake.Publish(m); }
  Status Subscribe(const std::string& filter, int qos) override {
    return fake.Subscribe(filter, qos);
  }
  Status Unsubscribe(const std::string& filter) override { return fake.Unsubscribe(filter); }
  Status Disconnect() override { return fake.Disconnect(); }
  bool IsConnected() const override { return fake.IsConnected(); }

  static constexpr int kForever = -1;
  FakeBus fake;
  int attempts = 0;

 private:
  int refusals_;
};

TEST(BrokerConnectorTest, ConnectsOnTheLoopAndSaysSoOnce) {
  ManualEventLoop loop;
  RefusingBus bus(0);
  BrokerConnector connector(bus, loop);
  int connected = 0;
  connector.Start([&] { ++connected; });
  EXPECT_EQ(bus.attempts, 0);  // Posted, not made by Start
  loop.RunPending();
  EXPECT_EQ(bus.attempts, 1);
  EXPECT_EQ(connected, 1);
  EXPECT_TRUE(connector.connected());
  EXPECT_TRUE(bus.IsConnected());
  EXPECT_EQ(loop.PendingTimers(), 0u);
}

TEST(BrokerConnectorTest, RetriesWithADelayThatDoublesUpToTheMaximum) {
  ManualEventLoop loop;
  RefusingBus bus(10);
  BrokerConnector connector(bus, loop);
  int connected = 0;
  connector.Start([&] { ++connected; });
  loop.RunPending();
  ASSERT_EQ(bus.attempts, 1);
  const std::vector<Duration> delays = {500ms,   1000ms,  2000ms,  4000ms,  8000ms,
                                        16000ms, 30000ms, 30000ms, 30000ms, 30000ms};
  for (size_t i = 0; i < delays.size(); ++i) {
    loop.AdvanceBy(delays[i] - 1ms);
    EXPECT_EQ(bus.attempts, static_cast<int>(i) + 1) << "too early, after failure " << i + 1;
    loop.AdvanceBy(1ms);
    EXPECT_EQ(bus.attempts, static_cast<int>(i) + 2) << "after failure " << i + 1;
  }
  EXPECT_EQ(connector.failures(), 10);
  EXPECT_EQ(connected, 1);
  EXPECT_TRUE(connector.connected());
  EXPECT_EQ(loop.PendingTimers(), 0u);
}

TEST(BrokerConnectorTest, AShutdownPostedWhileItWaitsRunsAtOnceAndNoAttemptFollows) {
  ManualEventLoop loop;
  RefusingBus bus(RefusingBus::kForever);
  BrokerConnector connector(bus, loop);
  bool connected = false;
  connector.Start([&] { connected = true; });
  loop.AdvanceBy(1000ms);  // attempts at 0 and 500 ms; the next is due at 1500 ms
  ASSERT_EQ(bus.attempts, 2);
  bool shut_down = false;
  loop.Post([&] {  // as spawnd's signal thread does
    connector.Stop();
    shut_down = true;
  });
  loop.RunPending();  // no time passes
  EXPECT_TRUE(shut_down);
  EXPECT_EQ(loop.PendingTimers(), 0u);
  loop.AdvanceBy(1h);
  EXPECT_EQ(bus.attempts, 2);
  EXPECT_FALSE(connected);
}

TEST(BrokerConnectorTest, StoppedBeforeTheFirstAttemptItMakesNone) {
  ManualEventLoop loop;
  RefusingBus bus(0);
  BrokerConnector connector(bus, loop);
  bool connected = false;
  connector.Start([&] { connected = true; });
  connector.Stop();
  loop.RunPending();
  EXPECT_EQ(bus.attempts, 0);
  EXPECT_FALSE(connected);
}

// The daemon's Start runs in the connected callback: it must come before what the bus Posted
// while connecting (a message from the persistent session, the connection handler).
TEST(BrokerConnectorTest, TheCallbackRunsBeforeWhatTheBusPostedWhileConnecting) {
  ManualEventLoop loop;
  RefusingBus bus(1);
  std::vector<std::string> order;
  bus.SetConnectionHandler([&](bool up) {
    if (up) loop.Post([&] { order.push_back("connection handler"); });
  });
  BrokerConnector connector(bus, loop);
  connector.Start([&] { order.push_back("connected"); });
  loop.AdvanceBy(BrokerConnector::kFirstRetryDelay);
  EXPECT_THAT(order, ElementsAre("connected", "connection handler"));
}

}  // namespace
}  // namespace spawn
