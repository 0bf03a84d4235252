#include "spawn/common/event_loop.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

namespace spawn {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;

TEST(ManualEventLoopTest, TimersFireInOrderWhenTimeAdvances) {
  ManualEventLoop loop;
  std::vector<int> fired;
  loop.RunAfter(seconds(2), [&] { fired.push_back(2); });
  loop.RunAfter(seconds(1), [&] { fired.push_back(1); });
  loop.AdvanceBy(milliseconds(999));
  EXPECT_TRUE(fired.empty());
  loop.AdvanceBy(milliseconds(1));
  EXPECT_THAT(fired, ElementsAre(1));
  loop.AdvanceBy(seconds(5));
  EXPECT_THAT(fired, ElementsAre(1, 2));
}

TEST(ManualEventLoopTest, TimerSeesItsOwnDueTimeAsNow) {
  ManualEventLoop loop;
  const SteadyTime start = loop.Now();
  SteadyTime seen;
  loop.RunAfter(seconds(3), [&] { seen = loop.Now(); });
  loop.AdvanceBy(seconds(10));
  EXPECT_EQ(seen - start, seconds(3));
  EXPECT_EQ(loop.Now() - start, seconds(10));
}

TEST(ManualEventLoopTest, TimersScheduledByTimersFireWithinTheSameAdvance) {
  ManualEventLoop loop;
  std::vector<int> fired;
  loop.RunAfter(seconds(1), [&] {
    fired.push_back(1);
    loop.RunAfter(seconds(1), [&] { fired.push_back(2); });
  });
  loop.AdvanceBy(seconds(2));
  EXPECT_THAT(fired, ElementsAre(1, 2));
}

TEST(ManualEventLoopTest, CancelledTimerDoesNotFire) {
  ManualEventLoop loop;
  bool fired = false;
  auto id = loop.RunAfter(seconds(1), [&] { fired = true; });
  loop.Cancel(id);
  loop.Cancel(12345);  // unknown ids are ignored
  loop.AdvanceBy(seconds(2));
  EXPECT_FALSE(fired);
  EXPECT_EQ(loop.PendingTimers(), 0u);
}

TEST(ManualEventLoopTest, PostedTasksRunInOrderBeforeTime) {
  ManualEventLoop loop;
  std::vector<int> ran;
  loop.Post([&] { ran.push_back(1); });
  loop.Post([&] { ran.push_back(2); });
  loop.RunPending();
  EXPECT_THAT(ran, ElementsAre(1, 2));
}

TEST(RealEventLoopTest, RunsPostedTasksFromOtherThreadsAndStops) {
  RealEventLoop loop;
  std::vector<int> ran;
  std::thread poster([&] {
    for (int i = 0; i < 100; ++i) loop.Post([&ran, i] { ran.push_back(i); });
    loop.Post([&] { loop.Stop(); });
  });
  loop.Run();
  poster.join();
  ASSERT_EQ(ran.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ran[i], i);
}

TEST(RealEventLoopTest, TimerFiresAndCancelledOneDoesNot) {
  RealEventLoop loop;
  bool cancelled_fired = false;
  auto id = loop.RunAfter(milliseconds(1), [&] { cancelled_fired = true; });
  loop.Cancel(id);
  loop.RunAfter(milliseconds(5), [&] { loop.Stop(); });
  loop.Run();  // returns only because the 5 ms timer fired
  EXPECT_FALSE(cancelled_fired);
}

TEST(RealEventLoopTest, RunsBatchedTasksInOrderAfterThoseAlreadyPosted) {
  RealEventLoop loop;
  std::vector<int> ran;
  std::mutex mu;
  std::condition_variable cv;
  bool posted = false;
  // The loop is busy while the others are handed over, so it finds the plain one queued before
  // the batch is due.
  loop.Post([&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return posted; });
    ran.push_back(0);
  });
  std::thread poster([&] {
    for (int i = 1; i <= 50; ++i) loop.PostBatched([&ran, i] { ran.push_back(i); });
    loop.Post([&] { ran.push_back(-1); });
    loop.PostBatched([&] { loop.Stop(); });
    std::lock_guard lock(mu);
    posted = true;
    cv.notify_one();
  });
  loop.Run();
  poster.join();
  ASSERT_EQ(ran.size(), 52u);
  EXPECT_EQ(ran[0], 0);
  EXPECT_EQ(ran[1], -1);
  for (int i = 1; i <= 50; ++i) EXPECT_EQ(ran[i + 1], i);
}

TEST(RealEventLoopTest, ABatchedTaskWakesALoopAsleepUntilAFarTimer) {
  RealEventLoop loop;
  bool timer_fired = false, batched_ran = false;
  // The far timer also ends the test should the batched task never wake the loop.
  loop.RunAfter(std::chrono::minutes(1), [&] {
    timer_fired = true;
    loop.Stop();
  });
  // The batched task is posted once the loop sleeps until that timer: only its wake-up can run
  // it in time.
  std::promise<void> asleep;
  bool told = false;  // touched by the loop's thread only
  loop.SetSleepHook([&](SteadyTime) {
    if (!std::exchange(told, true)) asleep.set_value();
  });
  std::thread poster([&] {
    asleep.get_future().wait();
    loop.PostBatched([&] {
      batched_ran = true;
      loop.Stop();
    });
  });
  loop.Run();
  poster.join();
  EXPECT_TRUE(batched_ran);
  EXPECT_FALSE(timer_fired);
}

}  // namespace
}  // namespace spawn
