#include "spawn/spawnable/poller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace spawn {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

// Records the waits it is asked for and returns at once, as if each wait ran to its end unless a
// Wake() is pending. `on_wait` runs inside each wait (a stand-in for another thread acting then).
class FakeWaiter final : public Waiter {
 public:
  bool WaitFor(Duration d) override {
    waits.push_back(d);
    if (on_wait) on_wait(waits.size());
    std::lock_guard lock(mu_);
    const bool woken = woken_;
    woken_ = false;
    woken_results.push_back(woken);
    return woken;
  }
  void Wake() override {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  std::vector<Duration> waits;
  std::vector<bool> woken_results;
  std::function<void(size_t)> on_wait;

 private:
  std::mutex mu_;
  bool woken_ = false;
};

TEST(BackoffTest, DoublesUpToTheCapAndResets) {
  Backoff b({.initial = 100ms, .max = 1s, .multiplier = 2.0});
  std::vector<Duration> seq;
  for (int i = 0; i < 6; ++i) seq.push_back(b.Next());
  EXPECT_THAT(seq, ElementsAre(100ms, 200ms, 400ms, 800ms, 1s, 1s));
  b.Reset();
  EXPECT_EQ(b.Next(), 100ms);
}

TEST(BackoffTest, ClampsNonsense) {
  Backoff b({.initial = 5s, .max = 1s, .multiplier = 0.5});
  EXPECT_EQ(b.Next(), 5s);
  EXPECT_EQ(b.Next(), 5s);
}

TEST(BackoffPollerTest, BacksOffWhileIdleAndRestartsAfterWork) {
  FakeWaiter waiter;
  // Idle four times, busy once, idle twice, then stop.
  std::vector<bool> results = {false, false, false, false, true, false, false};
  size_t polls = 0;
  BackoffPoller* self = nullptr;
  BackoffPoller poller(
      {.initial = 1s, .max = 4s},
      [&] {
        const bool r = results[polls++];
        if (polls == results.size()) self->Stop();
        return r;
      },
      &waiter);
  self = &poller;
  poller.Run();
  EXPECT_EQ(polls, 7u);
  EXPECT_THAT(waiter.waits, ElementsAre(1s, 2s, 4s, 4s, 1s, 2s));
}

TEST(BackoffPollerTest, ResetDuringAWaitPollsAtOnceFromInitial) {
  FakeWaiter waiter;
  size_t polls = 0;
  BackoffPoller poller(
      {.initial = 1s, .max = 8s}, [&] { return ++polls, false; }, &waiter);
  waiter.on_wait = [&](size_t n) {
    if (n == 4) poller.Reset();  // during the 8 s wait
    if (n == 6) poller.Stop();
  };
  poller.Run();
  EXPECT_THAT(waiter.waits, ElementsAre(1s, 2s, 4s, 8s, 1s, 2s));
  EXPECT_THAT(waiter.woken_results, ElementsAre(false, false, false, true, false, true));
  EXPECT_EQ(polls, 6u);
}

TEST(BackoffPollerTest, ResetDuringAPollIsNotLost) {
  FakeWaiter waiter;
  size_t polls = 0;
  BackoffPoller* self = nullptr;
  BackoffPoller poller(
      {.initial = 1s, .max = 8s},
      [&] {
        ++polls;
        if (polls == 3) self->Reset();
        if (polls == 5) self->Stop();
        return false;
      },
      &waiter);
  self = &poller;
  poller.Run();
  // The reset came while polling: the wait after it is initial and ends at once.
  EXPECT_THAT(waiter.waits, ElementsAre(1s, 2s, 1s, 1s));
  EXPECT_THAT(waiter.woken_results, ElementsAre(false, false, true, false));
}

TEST(BackoffPollerTest, StopBeforeRunReturnsAtOnce) {
  FakeWaiter waiter;
  int polls = 0;
  BackoffPoller poller(
      {}, [&] { return ++polls, true; }, &waiter);
  poller.Stop();
  poller.Run();
  EXPECT_EQ(polls, 0);
  EXPECT_TRUE(waiter.waits.empty());
}

TEST(RealWaiterTest, RemembersAWakeThatCameFirst) {
  RealWaiter w;
  w.Wake();
  EXPECT_TRUE(w.WaitFor(std::chrono::hours(1)));
  EXPECT_FALSE(w.WaitFor(0ms));
}

// The real waiter with an hour-long back-off: only Reset and Stop from another thread can move it,
// and neither blocks the caller.
TEST(BackoffPollerTest, RealWaitsAreInterruptedFromAnotherThread) {
  std::mutex mu;
  std::condition_variable cv;
  int polls = 0;
  BackoffPoller poller({.initial = std::chrono::hours(1), .max = std::chrono::hours(2)}, [&] {
    std::lock_guard lock(mu);
    ++polls;
    cv.notify_all();
    return false;
  });
  auto wait_polls = [&](int n) {
    std::unique_lock lock(mu);
    // A bound only so that a broken Reset fails the test instead of hanging it.
    return cv.wait_for(lock, std::chrono::minutes(1), [&] { return polls >= n; });
  };
  std::thread runner([&] { poller.Run(); });
  ASSERT_TRUE(wait_polls(1));
  poller.Reset();
  ASSERT_TRUE(wait_polls(2));
  poller.Reset();
  ASSERT_TRUE(wait_polls(3));
  poller.Stop();
  runner.join();
  EXPECT_EQ(polls, 3);
}

}  // namespace
}  // namespace spawn
