// BrokerConnector: makes spawnd's first connection to the broker, which may come up after spawnd:
// it keeps trying, with back-off, until the broker answers or it is stopped. (Once connected, the
// bus reconnects by itself.)
//
// The attempts run on the EventLoop's owner thread, and the waits between them are the loop's
// timers, so the loop stays free while it waits: a shutdown Posted meanwhile runs at once, and its
// Stop() cancels the next attempt. An attempt itself blocks the loop for at most the bus's connect
// timeout. Time is the loop's, so the back-off is tested with ManualEventLoop.
//
// Threading: every method runs on the loop's owner thread (or before the loop runs). `bus` and
// `loop` must outlive it, and the loop must not run tasks after it is gone (as in spawnd, where
// the loop has stopped by then).
#pragma once

#include <functional>

#include "spawn/bus/bus.h"
#include "spawn/common/event_loop.h"

namespace spawn {

class BrokerConnector {
 public:
  // The wait after the first failure; it doubles after each further one, up to kMaxRetryDelay.
  static constexpr Duration kFirstRetryDelay{500};
  static constexpr Duration kMaxRetryDelay{30000};

  BrokerConnector(Bus& bus, EventLoop& loop);
  ~BrokerConnector() { Stop(); }
  BrokerConnector(const BrokerConnector&) = delete;
  BrokerConnector& operator=(const BrokerConnector&) = delete;

  // Posts the first attempt; `connected` runs on the loop thread, in the task of the attempt that
  // succeeded (before anything the bus Posted meanwhile), unless Stop() came first. Call once.
  void Start(std::function<void()> connected);
  // No attempt is made after this (one under way finishes, but `connected` is not called).
  // Idempotent.
  void Stop();

  bool connected() const { return connected_; }
  // Failed attempts so far.
  int failures() const { return failures_; }

 private:
  void Attempt();

  Bus& bus_;
  EventLoop& loop_;
  std::function<void()> on_connected_;
  Duration delay_ = kFirstRetryDelay;
  EventLoop::TimerId retry_timer_ = 0;
  int failures_ = 0;
  bool connected_ = false;
  bool stopped_ = false;
};

}  // namespace spawn
