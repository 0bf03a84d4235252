#include "thread_wakeup.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>

namespace spawn {
namespace {

// A thread named `name` that sleeps up to a minute and records whether the sleep was cut short.
class Sleeper {
 public:
  explicit Sleeper(const char* name)
      : thread_([this, name] {
          pthread_setname_np(pthread_self(), name);
          const int rc = usleep(60'000'000);
          interrupted_ = rc == -1 && errno == EINTR;
        }) {}
  ~Sleeper() {
    if (thread_.joinable()) thread_.join();
  }
  bool Join() {
    thread_.join();
    return interrupted_;
  }

 private:
  std::atomic<bool> interrupted_{false};
  std::thread thread_;
};

// Calls WakeSleepingThreads(name) until it signals a thread (the sleeper has to get to its sleep
// first), giving up after a minute; returns what the last call returned.
int WakeOnceAsleep(const char* name) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  int signalled = 0;
  while (signalled == 0 && std::chrono::steady_clock::now() < give_up) {
    signalled = WakeSleepingThreads(name);
    if (signalled == 0) std::this_thread::yield();
  }
  return signalled;
}

TEST(WakeSleepingThreadsTest, CutsTheSleepOfTheNamedThreadAndOfNoOther) {
  Sleeper target("wake-target"), other("wake-other");
  EXPECT_EQ(WakeOnceAsleep("wake-target"), 1);  // not the other sleeper
  EXPECT_TRUE(target.Join());
  EXPECT_EQ(WakeOnceAsleep("wake-other"), 1);  // it slept on until now
  EXPECT_TRUE(other.Join());
}

TEST(WakeSleepingThreadsTest, FindsNothingWhenNoThreadHasTheName) {
  EXPECT_EQ(WakeSleepingThreads("no-such-thread"), 0);
}

}  // namespace
}  // namespace spawn
