#include "spawn/core/executor.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "spawn/common/mutex.h"

namespace spawn {
namespace {

// A guard against a hang, not a timing threshold: the waits below finish at once when correct.
constexpr auto kHang = std::chrono::seconds(30);

int ThreadsOfThisProcess() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

// Mappings that are a thread stack of the default size (glibc maps its guard page beside it),
// whether a thread uses it or glibc keeps it after the thread ended.
int ThreadStacksMapped() {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  size_t stack = 0;
  pthread_attr_getstacksize(&attr, &stack);
  pthread_attr_destroy(&attr);
  std::ifstream maps("/proc/self/maps");
  int count = 0;
  for (std::string line; std::getline(maps, line);) {
    unsigned long start = 0, end = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &start, &end, perms) == 3 &&
        std::string(perms) == "rw-p" && end - start == stack) {
      ++count;
    }
  }
  return count;
}

// Tells the test when threads end: each thread that calls Watch() counts once, as it exits (its
// thread_local objects are destroyed on its way out, after the executor's code has returned).
class ThreadEnds {
 public:
  // On the thread to watch.
  void Watch() {
    thread_local Notice notice;
    notice.on_exit = [state = state_] {
      MutexLock lock(state->mu);
      ++state->ended;
      state->cv.NotifyAll();
    };
  }
  // Blocks until `n` watched threads have ended; false if they had not after kHang.
  bool WaitFor(int n) {
    const auto give_up = std::chrono::steady_clock::now() + kHang;
    State& s = *state_;
    MutexLock lock(s.mu);
    while (s.ended < n && s.cv.WaitUntil(lock, give_up)) {
    }
    return s.ended >= n;
  }

 private:
  struct Notice {
    ~Notice() {
      if (on_exit) on_exit();
    }
    std::function<void()> on_exit;
  };
  // Shared with the threads, which may end after the watcher is gone (when a test failed).
  struct State {
    Mutex mu;
    CondVar cv;
    int ended GUARDED_BY(mu) = 0;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// Whether this process is back to at most `count` threads. Called once the threads said they are
// ending: what remains is the kernel's bookkeeping of their exit, which nothing signals, so this
// reads /proc again (yielding in between) until it agrees, giving up after kHang.
bool ThreadsReturnTo(int count) {
  const auto give_up = std::chrono::steady_clock::now() + kHang;
  while (ThreadsOfThisProcess() > count) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::yield();
  }
  return true;
}

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

TEST(ThreadedExecutorTest, IdleWorkersEndTheirThreadsAndAKeyGetsANewOneLater) {
  const int before = ThreadsOfThisProcess();
  ThreadedExecutor executor(std::chrono::milliseconds(20), /*max_threads=*/20);
  ThreadEnds ends;
  // Twenty keys each hold a thread of their own until all twenty are running at once.
  std::atomic<int> running = 0;
  std::promise<void> all_running;
  std::shared_future<void> release = all_running.get_future().share();
  for (int i = 0; i < 20; ++i) {
    executor.Run("k" + std::to_string(i), [&] {
      ends.Watch();
      if (++running == 20) all_running.set_value();
      release.wait();
    });
  }
  ASSERT_EQ(release.wait_for(kHang), std::future_status::ready);
  const int stacks_running = ThreadStacksMapped();
  EXPECT_GE(stacks_running, 20);
  // Idle, each ends its thread without anybody joining it (the executor is still alive), and
  // gives its stack back: glibc keeps a few stacks for reuse, not twenty.
  ASSERT_TRUE(ends.WaitFor(20));
  ASSERT_TRUE(ThreadsReturnTo(before));
  EXPECT_LE(ThreadStacksMapped(), stacks_running - 10);
  std::promise<void> ran_again;
  executor.Run("k0", [&] { ran_again.set_value(); });
  EXPECT_EQ(ran_again.get_future().wait_for(kHang), std::future_status::ready);
}

TEST(ThreadedExecutorTest, AtMostMaxThreadsRunAtOnceAndAWaitingKeyRunsWhenOneIsFree) {
  std::atomic<int> running = 0, most = 0, done = 0;
  std::promise<void> release_promise;
  std::shared_future<void> release = release_promise.get_future().share();
  {
    ThreadedExecutor executor(kHang, /*max_threads=*/2);
    for (int i = 0; i < 5; ++i) {
      executor.Run("k" + std::to_string(i), [&] {
        const int now = ++running;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        release.wait();
        --running;
        ++done;
      });
    }
    // Two keys hold both threads; the other three wait in line rather than get threads.
    const auto give_up = std::chrono::steady_clock::now() + kHang;
    while (running < 2 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(running.load(), 2);
    EXPECT_EQ(done.load(), 0);
    release_promise.set_value();
  }  // the destructor finishes queued tasks
  EXPECT_EQ(done.load(), 5);
  EXPECT_EQ(most.load(), 2);
}

TEST(ThreadedExecutorTest, OneBusyKeyDoesNotStarveAnother) {
  ThreadedExecutor executor(kHang, /*max_threads=*/1);
  std::promise<void> b_ran;
  std::future<void> b_done = b_ran.get_future();
  std::atomic<int> a_ran_after_b = -1, a_count = 0;
  // Key "a" keeps queueing more of its own work; "b", queued once, still gets the one thread.
  std::function<void()> a_task = [&] {
    const int n = ++a_count;
    if (b_done.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      a_ran_after_b = n;
      return;
    }
    if (n < 1000) executor.Run("a", a_task);
  };
  executor.Run("a", a_task);
  executor.Run("b", [&] { b_ran.set_value(); });
  ASSERT_EQ(b_done.wait_for(kHang), std::future_status::ready);
  const auto give_up = std::chrono::steady_clock::now() + kHang;
  while (a_ran_after_b < 0 && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  EXPECT_LE(a_ran_after_b.load(), 3);  // "b" ran within a turn or two of "a"'s
}

TEST(ThreadedExecutorTest, WorkATaskQueuesDuringDestructionStillRunsInOrder) {
  std::vector<std::string> ran;  // only touched by key "a"'s thread, then read after destruction
  ThreadEnds ends;
  std::promise<void> a_started;
  std::shared_future<void> a_running = a_started.get_future().share();
  {
    // No thread ends for being idle here. Key "b" holds its thread until "a" runs on another;
    // that thread, idle then, ends once the destructor has begun, which then waits for "a"'s.
    ThreadedExecutor executor(kHang);
    executor.Run("b", [&] {
      ends.Watch();
      a_running.wait();
    });
    executor.Run("a", [&] {
      a_started.set_value();
      EXPECT_TRUE(ends.WaitFor(1));
      executor.Run("a", [&] { ran.push_back("queued during destruction"); });
      ran.push_back("first");
    });
  }
  EXPECT_EQ(ran, (std::vector<std::string>{"first", "queued during destruction"}));
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
