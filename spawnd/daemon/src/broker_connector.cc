#include "spawn/daemon/broker_connector.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace spawn {

BrokerConnector::BrokerConnector(Bus& bus, EventLoop& loop) : bus_(bus), loop_(loop) {}

void BrokerConnector::Start(std::function<void()> connected) {
  on_connected_ = std::move(connected);
  loop_.Post([this] { Attempt(); });
}

void BrokerConnector::Stop() {
  stopped_ = true;
  if (retry_timer_) loop_.Cancel(retry_timer_);
  retry_timer_ = 0;
}

void BrokerConnector::Attempt() {
  retry_timer_ = 0;
  if (stopped_) return;
  const Status status = bus_.Connect();
  if (status.ok()) {
    connected_ = true;
    if (on_connected_) on_connected_();
    return;
  }
  ++failures_;
  spdlog::warn("{}; retrying in {} ms", status.message(), delay_.count());
  retry_timer_ = loop_.RunAfter(delay_, [this] { Attempt(); });
  delay_ = std::min(delay_ * 2, kMaxRetryDelay);
}

}  // namespace spawn
