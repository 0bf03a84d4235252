// FleetFeed: keeps a FleetState current from a Bus. It subscribes to everything under the state's
// base (the retained heartbeats come first, then every change and log line), hands each message
// from the bus thread to its own thread, which applies it with the time `now` gives, and ticks
// the state every `tick` so that a spawnpoint falling silent is announced as down.
//
// The Bus renews the subscription after a reconnection (Bus::SetConnectionHandler), and the
// broker then sends the retained messages again, which bring the state up to date.
//
// Threading: construct before bus.Connect() (it installs the bus's message handler); Start()
// subscribes; the destructor stops the thread. The bus must outlive the feed.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <thread>

#include "spawn/bus/bus.h"
#include "spawn/common/mutex.h"
#include "spawn/gateway/fleet_state.h"

namespace spawn::gateway {

class FleetFeed {
 public:
  using WallClock = std::function<int64_t()>;  // unix nanoseconds
  FleetFeed(Bus& bus, FleetState& state, WallClock now, Duration tick = std::chrono::seconds(1));
  ~FleetFeed();
  FleetFeed(const FleetFeed&) = delete;
  FleetFeed& operator=(const FleetFeed&) = delete;

  // Subscribes to FleetState::Filter() and starts applying. kForbidden when the broker refuses the
  // filter (the credentials may not read under the base), else the bus's error.
  Status Start() EXCLUDES(mu_);

 private:
  void Run() EXCLUDES(mu_);

  Bus& bus_;
  FleetState& state_;
  const WallClock now_;
  const Duration tick_;
  Mutex mu_;
  CondVar cv_;
  std::deque<BusMessage> inbox_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace spawn::gateway
