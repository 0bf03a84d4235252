// Outbox on a FakeBus, or on a bus that holds QoS 1 publishes until released (GatedBus), so that
// what the outbox thread is doing is known when a test pushes. Waits are on conditions, each with a
// hang guard, never on time.
#include "spawn/daemon/outbox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "spawn/bus/fake_bus.h"
#include "spawn/common/mutex.h"

namespace spawn {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

constexpr auto kHangGuard = 30s;

std::vector<std::string> Payloads(const std::vector<BusMessage>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.payload);
  return out;
}

// A bus that records which thread published what, and holds every QoS 1 publish until released
// (as a real broker's PUBACK takes a while).
class GatedBus final : public Bus {
 public:
  void SetMessageHandler(MessageHandler) override {}
  void SetConnectionHandler(ConnectionHandler) override {}
  Status Connect() override { return Status::Ok(); }
  Status Publish(const BusMessage& m) override EXCLUDES(mu_) {
    MutexLock lock(mu_);
    published_.push_back({m.payload, std::this_thread::get_id()});
    changed_.NotifyAll();
    if (m.qos > 0) {
      while (!released_) changed_.Wait(lock);
    }
    return Status::Ok();
  }
  std::vector<Status> PublishBatch(const std::vector<BusMessage>& messages) override EXCLUDES(mu_) {
    {
      MutexLock lock(mu_);
      batch_sizes_.push_back(messages.size());
    }
    return Bus::PublishBatch(messages);
  }
  Status Subscribe(const std::string&, int) override { return Status::Ok(); }
  Status Unsubscribe(const std::string&) override { return Status::Ok(); }
  Status Disconnect() override { return Status::Ok(); }
  bool IsConnected() const override { return true; }

  std::vector<size_t> BatchSizes() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return batch_sizes_;
  }
  void Release() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    released_ = true;
    changed_.NotifyAll();
  }
  // Waits (a hang guard, not a timing threshold) until `count` publishes have been made.
  std::vector<std::pair<std::string, std::thread::id>> WaitForPublished(size_t count)
      EXCLUDES(mu_) {
    const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
    MutexLock lock(mu_);
    while (published_.size() < count && changed_.WaitUntil(lock, deadline)) {
    }
    return published_;
  }
  std::vector<std::string> PublishedPayloads() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    std::vector<std::string> out;
    for (const auto& [payload, thread] : published_) out.push_back(payload);
    return out;
  }

 private:
  Mutex mu_;
  CondVar changed_;
  std::vector<std::pair<std::string, std::thread::id>> published_ GUARDED_BY(mu_);
  bool released_ GUARDED_BY(mu_) = false;
  std::vector<size_t> batch_sizes_ GUARDED_BY(mu_);
};

// A FakeBus as the outbox sees it, with a way to wait until the outbox thread has found the bus
// away: after a batch fails it asks IsConnected(), and what it keeps for a retry is decided then.
// (Connecting the FakeBus before that could make it take the failure for one while connected.)
class WatchedBus final : public Bus {
 public:
  explicit WatchedBus(FakeBus& bus) : bus_(bus) {}
  void SetMessageHandler(MessageHandler handler) override { bus_.SetMessageHandler(handler); }
  void SetConnectionHandler(ConnectionHandler handler) override {
    bus_.SetConnectionHandler(handler);
  }
  Status Connect() override { return bus_.Connect(); }
  Status Publish(const BusMessage& m) override { return bus_.Publish(m); }
  Status Subscribe(const std::string& filter, int qos) override {
    return bus_.Subscribe(filter, qos);
  }
  Status Unsubscribe(const std::string& filter) override { return bus_.Unsubscribe(filter); }
  Status Disconnect() override { return bus_.Disconnect(); }
  bool IsConnected() const override EXCLUDES(mu_) {
    const bool connected = bus_.IsConnected();
    MutexLock lock(mu_);
    if (!connected) ++found_away_;
    changed_.NotifyAll();
    return connected;
  }

  // Waits (a hang guard, not a timing threshold) until the bus was found away `count` times.
  bool WaitUntilFoundAway(int count) EXCLUDES(mu_) {
    const auto deadline = std::chrono::steady_clock::now() + kHangGuard;
    MutexLock lock(mu_);
    while (found_away_ < count && changed_.WaitUntil(lock, deadline)) {
    }
    return found_away_ >= count;
  }

 private:
  FakeBus& bus_;
  mutable Mutex mu_;
  mutable CondVar changed_;
  mutable int found_away_ GUARDED_BY(mu_) = 0;
};

TEST(OutboxTest, MessagesArePublishedInTheOrderTheyWerePushed) {
  FakeBus bus;
  ASSERT_TRUE(bus.Connect().ok());
  Outbox outbox(bus, 1000);
  std::vector<std::string> pushed;
  for (int i = 0; i < 300; ++i) {
    pushed.push_back(std::to_string(i));
    outbox.Push({"t/" + std::to_string(i % 7), pushed.back(), i % 3 == 0 ? 0 : 1, i % 2 == 0});
  }
  ASSERT_TRUE(outbox.Flush(kHangGuard));
  EXPECT_THAT(Payloads(bus.Published()), ElementsAreArray(pushed));
  EXPECT_EQ(outbox.dropped(), 0u);
}

TEST(OutboxTest, AQos0MessageWithNothingAheadIsHandedToTheBusByPushItself) {
  GatedBus bus;
  Outbox outbox(bus, 100);
  outbox.Push({"t/log", "line 1", 0, false});
  auto published = bus.WaitForPublished(1);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].first, "line 1");
  EXPECT_EQ(published[0].second, std::this_thread::get_id());
  bus.Release();
}

TEST(OutboxTest, AQos0MessageWaitsBehindOneNotYetAcknowledgedAndOrderIsKept) {
  GatedBus bus;
  Outbox outbox(bus, 100);
  outbox.Push({"t/heartbeat", "heartbeat", 1, true});
  ASSERT_EQ(bus.WaitForPublished(1).size(), 1u);  // the outbox thread now waits for its PUBACK
  outbox.Push({"t/log", "line 1", 0, false});
  outbox.Push({"t/log", "line 2", 0, false});
  bus.Release();
  auto published = bus.WaitForPublished(3);
  ASSERT_EQ(published.size(), 3u);
  EXPECT_EQ(published[0].first, "heartbeat");
  EXPECT_EQ(published[1].first, "line 1");
  EXPECT_EQ(published[2].first, "line 2");
  EXPECT_NE(published[0].second, std::this_thread::get_id());
  EXPECT_NE(published[1].second, std::this_thread::get_id());
  EXPECT_TRUE(outbox.Flush(kHangGuard));
}

TEST(OutboxTest, WhatQueuesUpWhileAPublishWaitsGoesOutAsOneBatchInOrder) {
  GatedBus bus;
  Outbox outbox(bus, 1000);
  outbox.Push({"t/heartbeat", "first", 1, true});
  ASSERT_EQ(bus.WaitForPublished(1).size(), 1u);  // the outbox thread now waits for its PUBACK
  for (int i = 0; i < 200; ++i) outbox.Push({"t/heartbeat", std::to_string(i), 1, true});
  bus.Release();
  auto published = bus.WaitForPublished(201);
  ASSERT_EQ(published.size(), 201u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(published[i + 1].first, std::to_string(i));
  EXPECT_TRUE(outbox.Flush(kHangGuard));
  // The first alone, then the 200 queued meanwhile in batches of at most kBatch.
  EXPECT_THAT(bus.BatchSizes(), ElementsAre(1u, Outbox::kBatch, 200u - Outbox::kBatch));
}

TEST(OutboxTest, WhileTheBusIsAwayMessagesAreKeptAndGoOutInOrderOnceItIsBack) {
  FakeBus fake;  // not connected yet
  WatchedBus bus(fake);
  Outbox outbox(bus, 100);
  outbox.Push({"t/log", "log while away", 0, false});  // Push's own attempt fails: queued
  outbox.Push({"t/heartbeat", "heartbeat", 1, true});
  ASSERT_TRUE(bus.WaitUntilFoundAway(1));
  outbox.Push({"t/reply", "reply", 1, false});
  EXPECT_FALSE(outbox.Flush(0ms));  // held, not lost
  EXPECT_TRUE(fake.Published().empty());

  ASSERT_TRUE(fake.Connect().ok());
  ASSERT_TRUE(outbox.Flush(kHangGuard));  // retried after kRetryWhileAway
  EXPECT_THAT(Payloads(fake.Published()), ElementsAre("log while away", "heartbeat", "reply"));
  EXPECT_EQ(outbox.dropped(), 0u);
}

TEST(OutboxTest, APublishThatFailsWhileConnectedIsGivenUpAndTheNextGoesOut) {
  FakeBus bus;
  ASSERT_TRUE(bus.Connect().ok());
  Outbox outbox(bus, 100);
  bus.FailPublishes(true);
  outbox.Push({"t/reply", "lost", 1, false});
  ASSERT_TRUE(outbox.Flush(kHangGuard));  // handed over, failed, not retried
  bus.FailPublishes(false);
  outbox.Push({"t/reply", "next", 1, false});
  ASSERT_TRUE(outbox.Flush(kHangGuard));
  EXPECT_THAT(Payloads(bus.Published()), ElementsAre("next"));
  EXPECT_EQ(outbox.dropped(), 0u);  // a failure is not a drop
}

TEST(OutboxTest, WhenTheQueueIsFullTheOldestAreDroppedAndCounted) {
  GatedBus bus;
  Outbox outbox(bus, 5);
  outbox.Push({"t/heartbeat", "in flight", 1, true});
  ASSERT_EQ(bus.WaitForPublished(1).size(), 1u);  // out of the queue, waiting for its PUBACK
  for (int i = 1; i <= 7; ++i) outbox.Push({"t/heartbeat", std::to_string(i), 1, true});
  EXPECT_EQ(outbox.dropped(), 2u);
  bus.Release();
  ASSERT_EQ(bus.WaitForPublished(6).size(), 6u);
  ASSERT_TRUE(outbox.Flush(kHangGuard));
  EXPECT_THAT(bus.PublishedPayloads(), ElementsAre("in flight", "3", "4", "5", "6", "7"));
}

TEST(OutboxTest, DestroyingItPublishesWhatIsStillQueued) {
  FakeBus bus;
  ASSERT_TRUE(bus.Connect().ok());
  {
    Outbox outbox(bus, 100);
    for (int i = 0; i < 50; ++i) outbox.Push({"t/heartbeat", std::to_string(i), 1, true});
  }
  EXPECT_EQ(bus.Published().size(), 50u);
}

}  // namespace
}  // namespace spawn
