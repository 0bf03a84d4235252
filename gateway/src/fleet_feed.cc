#include "spawn/gateway/fleet_feed.h"

namespace spawn::gateway {

FleetFeed::FleetFeed(Bus& bus, FleetState& state, WallClock now, Duration tick)
    : bus_(bus), state_(state), now_(std::move(now)), tick_(tick) {
  bus_.SetMessageHandler([this](const BusMessage& m) {
    {
      MutexLock lock(mu_);
      inbox_.push_back(m);
    }
    cv_.NotifyOne();
  });
}

FleetFeed::~FleetFeed() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

Status FleetFeed::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  Status s = bus_.Subscribe(state_.Filter(), 1);
  if (!s.ok()) return s.WithContext("subscribing to " + state_.Filter());
  return Status::Ok();
}

void FleetFeed::Run() {
  auto next_tick = std::chrono::steady_clock::now() + tick_;
  std::deque<BusMessage> taken;
  while (true) {
    {
      MutexLock lock(mu_);
      cv_.WaitUntil(lock, next_tick,
                    [this]() NO_THREAD_SAFETY_ANALYSIS { return stopping_ || !inbox_.empty(); });
      if (stopping_) return;
      taken.swap(inbox_);
    }
    for (const BusMessage& m : taken) state_.Apply(m, now_());
    taken.clear();
    if (std::chrono::steady_clock::now() >= next_tick) {
      state_.Tick(now_());
      next_tick = std::chrono::steady_clock::now() + tick_;
    }
  }
}

}  // namespace spawn::gateway
