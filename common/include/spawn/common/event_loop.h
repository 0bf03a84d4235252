// EventLoop: the clock-and-timers port, and the one owner thread of the daemon's state.
//
// Logic that needs time (restart delays, zombie expiry, heartbeats) is given an EventLoop and never
// reads a clock or sleeps by itself. Post() hands work to the owner thread from any thread (bus and
// engine callbacks only ever Post). RunAt/RunAfter/Cancel and Now() are for the owner thread.
//
// RealEventLoop runs on std::chrono::steady_clock; ManualEventLoop (for tests) only moves when told
// to: AdvanceBy() moves time and fires, in order, the timers that came due. ManualEventLoop runs a
// batched task as it does a posted one.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>

#include "spawn/common/mutex.h"

namespace spawn {

using Duration = std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

// Nanoseconds since the unix epoch: the `Time` field of every message on the bus.
inline int64_t ToUnixNanos(WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

class EventLoop {
 public:
  using TimerId = uint64_t;
  using Task = std::function<void()>;

  virtual ~EventLoop() = default;

  // Monotonic time, for intervals and deadlines.
  virtual SteadyTime Now() const = 0;
  // Wall-clock time, for display and for `Time` fields only.
  virtual WallTime WallNow() const = 0;

  // Thread-safe: runs `task` on the owner thread, after the tasks posted before it.
  virtual void Post(Task task) = 0;
  // Thread-safe: like Post, for a stream of small tasks that may wait a moment (container output
  // on its way to the bus). They run in the order they came, in batches, each batch at most a few
  // milliseconds after its first task, so a hundred streams' lines cost the owner thread a few
  // wake-ups a second instead of one each. Relative to Post, a batched task may run later than
  // one posted after it.
  virtual void PostBatched(Task task) { Post(std::move(task)); }
  // Owner thread: runs `task` once at `when` (at once, on the loop, if `when` has passed).
  virtual TimerId RunAt(SteadyTime when, Task task) = 0;
  TimerId RunAfter(Duration delay, Task task) { return RunAt(Now() + delay, std::move(task)); }
  // Owner thread: a timer that has not fired will not fire. Unknown or fired ids are ignored.
  virtual void Cancel(TimerId id) = 0;
};

// Runs posted tasks and timers on the thread that calls Run(), until Stop().
class RealEventLoop final : public EventLoop {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  void Post(Task task) override EXCLUDES(mu_);
  void PostBatched(Task task) override EXCLUDES(mu_);
  TimerId RunAt(SteadyTime when, Task task) override EXCLUDES(mu_);
  void Cancel(TimerId id) override EXCLUDES(mu_);

  // Blocks running tasks until Stop() is called; tasks still queued then are dropped.
  void Run() EXCLUDES(mu_);
  // Thread-safe (not async-signal-safe: signal handlers wake a thread that calls this).
  void Stop() EXCLUDES(mu_);

  // For a test that must act on a loop that is asleep: Run() calls `hook` on its thread each
  // time it is about to wait, with the time it waits until (SteadyTime::max(): until woken). The
  // hook runs with the loop's lock held, so it must not call the loop; a thread it signals that
  // then calls the loop gets the lock only once the loop waits. Set it before Run().
  void SetSleepHook(std::function<void(SteadyTime until)> hook) { sleep_hook_ = std::move(hook); }

  // How long the first task of a batch may wait for the rest.
  static constexpr Duration kBatchWindow{5};

 private:
  Mutex mu_;
  CondVar wake_;
  std::deque<Task> tasks_ GUARDED_BY(mu_);
  std::multimap<SteadyTime, std::pair<TimerId, Task>> timers_ GUARDED_BY(mu_);
  TimerId next_id_ GUARDED_BY(mu_) = 1;
  bool stopped_ GUARDED_BY(mu_) = false;
  std::deque<Task> batched_ GUARDED_BY(mu_);
  std::optional<SteadyTime> batch_due_ GUARDED_BY(mu_);  // when batched_ joins tasks_
  // Until when Run() sleeps (SteadyTime::max(): until woken; min(): it is not asleep), so that
  // PostBatched wakes it only when the batch is due sooner.
  SteadyTime sleeping_until_ GUARDED_BY(mu_) = SteadyTime::min();
  std::function<void(SteadyTime)> sleep_hook_;
};

// Deterministic loop for tests: time starts at an arbitrary fixed point and moves only by
// AdvanceBy.
class ManualEventLoop final : public EventLoop {
 public:
  ManualEventLoop();
  SteadyTime Now() const override EXCLUDES(mu_);
  WallTime WallNow() const override EXCLUDES(mu_) { return wall_start_ + (Now() - start_); }
  void Post(Task task) override EXCLUDES(mu_);
  TimerId RunAt(SteadyTime when, Task task) override EXCLUDES(mu_);
  void Cancel(TimerId id) override EXCLUDES(mu_);

  // Runs posted tasks and due timers until nothing is runnable at the current time.
  void RunPending() EXCLUDES(mu_);
  // Moves time forward in steps to each due timer, running everything that comes due, up to now+d.
  void AdvanceBy(Duration d) EXCLUDES(mu_);
  size_t PendingTimers() const EXCLUDES(mu_);

 private:
  mutable Mutex mu_;  // Post may come from other threads (e.g. a fake engine's stream).
  const SteadyTime start_;
  const WallTime wall_start_;
  SteadyTime now_ GUARDED_BY(mu_);
  std::deque<Task> tasks_ GUARDED_BY(mu_);
  std::multimap<SteadyTime, std::pair<TimerId, Task>> timers_ GUARDED_BY(mu_);
  TimerId next_id_ GUARDED_BY(mu_) = 1;
};

}  // namespace spawn
