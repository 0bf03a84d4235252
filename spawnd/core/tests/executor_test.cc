#include "spawn/core/executor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <vector>

namespace spawn {
namespace {

// A guard against a hang, not a timing threshold: the waits below finish at once when correct.
constexpr auto kHang = std::chrono::seconds(30);

TEST(ThreadedExecutorTest, SameKeyRunsInOrderDifferentKeysDoNotWait) {
  std::mutex mu;
  std::vector<int> order;
  std::promise<void> b_ran;
  std::future<void> b_done = b_ran.get_future();
  std::promise<bool> a_saw_b;
  std::future<bool> result = a_saw_b.get_future();
  {
    ThreadedExecutor executor;
    // Key "a" blocks until key "b" has run: if keys waited for each other this would hang.
    executor.Run("a",
                 [&] { a_saw_b.set_value(b_done.wait_for(kHang) == std::future_status::ready); });
    for (int i = 0; i < 100; ++i) {
      executor.Run("a", [&, i] {
        std::lock_guard lock(mu);
        order.push_back(i);
      });
    }
    executor.Run("b", [&] { b_ran.set_value(); });
    ASSERT_EQ(result.wait_for(kHang), std::future_status::ready);
    EXPECT_TRUE(result.get());
  }  // the destructor finishes queued tasks
  std::vector<int> want(100);
  for (int i = 0; i < 100; ++i) want[i] = i;
  EXPECT_EQ(order, want);
}

TEST(ManualExecutorTest, RunsOnlyWhenToldPerKeyInOrder) {
  ManualExecutor executor;
  std::vector<std::string> ran;
  executor.Run("x", [&] { ran.push_back("x1"); });
  executor.Run("y", [&] { ran.push_back("y1"); });
  executor.Run("x", [&] { ran.push_back("x2"); });
  EXPECT_TRUE(ran.empty());
  EXPECT_EQ(executor.Pending(), 3u);
  EXPECT_EQ(executor.PendingKeys(), (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(executor.RunNext("y"));
  EXPECT_FALSE(executor.RunNext("y"));
  EXPECT_EQ(executor.RunAll(), 2u);
  EXPECT_EQ(ran, (std::vector<std::string>{"y1", "x1", "x2"}));
}

}  // namespace
}  // namespace spawn
