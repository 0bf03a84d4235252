// FleetAgent: runs a Reconciler for one base on a bus. It reads the base's retained messages
// into a view (ViewBuilder), reconciles after each change (at most every `min_interval`) and
// every `period` (time alone moves some rules: rescheduleAfter, timeouts), publishes the
// reconciler's commands to the spawnpoints' slots (with `command_expiry`, so a spawnpoint that is
// away does not act on them long after) and its statuses retained, and feeds the replies back.
//
// spawnd runs one when its spawnd.yml has `fleet:`, on a connection of its own with an operator's
// identity for the base. Several agents may run for one base: the reconciler's decisions are
// deterministic, so they converge.
//
// Threading: the bus handler only Posts to `loop`; everything else runs on the loop's owner
// thread, which also publishes (so it must not be the bus's). Install() before bus.Connect();
// Start() after it, on the loop thread. `bus` and `loop` must outlive the agent, and the loop
// must not run its tasks after the agent is gone.
#pragma once

#include <memory>
#include <string>

#include "spawn/bus/bus.h"
#include "spawn/common/event_loop.h"
#include "spawn/fleet/reconciler.h"
#include "spawn/fleet/view.h"

namespace spawn::fleet {

struct AgentOptions {
  ReconcilerOptions reconciler;  // reconciler.base is the base
  Duration period = std::chrono::seconds(1);
  Duration min_interval = std::chrono::milliseconds(20);
  std::chrono::seconds command_expiry{60};
};

class FleetAgent {
 public:
  FleetAgent(AgentOptions options, Bus& bus, EventLoop& loop);
  ~FleetAgent();
  FleetAgent(const FleetAgent&) = delete;
  FleetAgent& operator=(const FleetAgent&) = delete;

  // Sets the bus's message handler.
  void Install();
  // Subscribes to the base's topics and the replies, and starts reconciling. Loop thread. The
  // subscription's error (kForbidden: the identity may not read the base).
  Status Start();
  // No pass after this. Loop thread; idempotent.
  void Stop();

  const FleetView& view() const { return builder_.view(); }
  size_t passes() const { return passes_; }

 private:
  void OnMessage(const BusMessage& m);  // loop thread
  void Schedule();                      // a pass soon, at most one pending
  void Pass();

  AgentOptions options_;
  Bus& bus_;
  EventLoop& loop_;
  ViewBuilder builder_;
  Reconciler reconciler_;
  EventLoop::TimerId soon_ = 0;
  EventLoop::TimerId periodic_ = 0;
  SteadyTime last_pass_{};
  bool started_ = false;
  bool stopped_ = false;
  size_t passes_ = 0;
  // Guards the bus handler against a destroyed agent: it posts only while this lives.
  std::shared_ptr<FleetAgent*> self_;
};

}  // namespace spawn::fleet
