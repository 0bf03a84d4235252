// A back-off poller for services: calls a function repeatedly, waiting longer and longer while it
// finds nothing to do (exponential, from `initial`, multiplied by `multiplier`, capped at `max`),
// and at the `initial` pace again once it finds work. Reset() from any thread cuts the current
// wait short and restarts the back-off; Stop() ends Run(). Neither ever blocks (the original
// Spawnpoint's reset sent on a channel nobody read, and blocked forever).
//
// Waiting goes through the Waiter port: RealWaiter uses steady_clock and a condition variable;
// tests inject a fake that records the waits it was asked for and returns at once.
#pragma once

#include <functional>

#include "spawn/common/event_loop.h"
#include "spawn/common/mutex.h"

namespace spawn {

struct BackoffOptions {
  Duration initial{std::chrono::seconds(1)};
  Duration max{std::chrono::minutes(1)};
  double multiplier = 2.0;  // >= 1
};

// The delay sequence alone, no waiting: initial, initial*m, initial*m^2, ... capped at max.
// Not thread-safe (the poller guards it).
class Backoff {
 public:
  explicit Backoff(BackoffOptions options);
  // The delay to wait now; the next call gives the following one.
  Duration Next();
  // The next call to Next() gives `initial` again.
  void Reset() { current_ = options_.initial; }

 private:
  BackoffOptions options_;
  Duration current_;
};

// An interruptible wait. Thread-safe.
class Waiter {
 public:
  virtual ~Waiter() = default;
  // Blocks for `d`, or until Wake(); returns true if woken. A Wake() that came while nobody was
  // waiting is remembered: the next WaitFor returns true at once. Either way the wake is consumed.
  virtual bool WaitFor(Duration d) = 0;
  virtual void Wake() = 0;
};

class RealWaiter final : public Waiter {
 public:
  bool WaitFor(Duration d) override EXCLUDES(mu_);
  void Wake() override EXCLUDES(mu_);

 private:
  Mutex mu_;
  CondVar cv_;
  bool woken_ GUARDED_BY(mu_) = false;
};

class BackoffPoller {
 public:
  // Returns true when it found work (the back-off restarts at `initial`), false to back off.
  using PollFunction = std::function<bool()>;

  // `waiter` must outlive the poller; with the default, a RealWaiter is owned.
  BackoffPoller(BackoffOptions options, PollFunction poll, Waiter* waiter = nullptr);

  // Polls, waits, polls again, ... on the calling thread until Stop(). Returns at once if Stop()
  // came first. Call it from one thread at a time.
  void Run() EXCLUDES(mu_);
  // Thread-safe, non-blocking: ends the current wait (or the next one, if the poll is running) and
  // restarts the back-off at `initial`; the poll function runs again at once.
  void Reset() EXCLUDES(mu_);
  // Thread-safe, non-blocking: Run() returns after the poll in progress, without waiting. Final.
  void Stop() EXCLUDES(mu_);

 private:
  PollFunction poll_;
  RealWaiter own_waiter_;
  Waiter& waiter_;
  Mutex mu_;
  Backoff backoff_ GUARDED_BY(mu_);
  bool reset_ GUARDED_BY(mu_) = false;
  bool stopped_ GUARDED_BY(mu_) = false;
};

}  // namespace spawn
