#include "spawn/daemon/outbox.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <utility>
#include <vector>

namespace spawn {

Outbox::Outbox(Bus& bus, size_t capacity)
    : bus_(bus), capacity_(capacity), thread_([this] { Loop(); }) {}

Outbox::~Outbox() {
  Flush(std::chrono::seconds(2));
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  wake_.NotifyAll();
  thread_.join();
}

void Outbox::Push(BusMessage message) {
  {
    MutexLock lock(mu_);
    // QoS 0 waits for no acknowledgement: handing it to the bus here costs the pusher no wait on
    // the broker and spares the outbox thread a wake-up per log line. Only with nothing queued or
    // in flight ahead of it, so that the order stays the order of Push. Under the lock, so that
    // a concurrent Push cannot overtake it. A failure (the bus away, say: not asked first, as
    // that takes Paho's lock) leaves it to the queue and its retries.
    if (message.qos == 0 && Drained() && !stopping_ && bus_.Publish(message).ok()) return;
    queue_.push_back(std::move(message));
    DropOldestBeyondCapacity();
  }
  wake_.NotifyOne();
}

bool Outbox::Flush(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(mu_);
  while (!Drained()) {
    if (!drained_.WaitUntil(lock, deadline)) return Drained();
  }
  return true;
}

void Outbox::DropOldestBeyondCapacity() {
  for (; queue_.size() > capacity_; ++dropped_) queue_.pop_front();
}

size_t Outbox::dropped() const {
  MutexLock lock(mu_);
  return dropped_;
}

void Outbox::Loop() {
  MutexLock lock(mu_);
  while (true) {
    while (!stopping_ && queue_.empty()) wake_.Wait(lock);
    if (stopping_) return;
    // What queued up meanwhile (a heartbeat for every service, say) goes out as one batch: one
    // round trip to the broker for all of it, not one each.
    const auto end = queue_.begin() + static_cast<std::ptrdiff_t>(std::min(queue_.size(), kBatch));
    std::vector<BusMessage> batch(std::make_move_iterator(queue_.begin()),
                                  std::make_move_iterator(end));
    queue_.erase(queue_.begin(), end);
    busy_ = true;
    lock.Unlock();
    const std::vector<Status> statuses = bus_.PublishBatch(batch);
    const bool away = !bus_.IsConnected();
    lock.Lock();
    busy_ = false;
    std::vector<BusMessage> kept;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (statuses[i].ok()) continue;
      if (away) {
        kept.push_back(std::move(batch[i]));
      } else {
        spdlog::warn("bus: not published to {}: {}", batch[i].topic, statuses[i].message());
      }
    }
    if (!kept.empty()) {
      // Kept for when the bus is back (Paho reconnects by itself), ahead of what was queued
      // meanwhile; if that overfills the queue, the oldest go.
      queue_.insert(queue_.begin(), std::make_move_iterator(kept.begin()),
                    std::make_move_iterator(kept.end()));
      DropOldestBeyondCapacity();
      const auto retry = std::chrono::steady_clock::now() + kRetryWhileAway;
      while (!stopping_ && wake_.WaitUntil(lock, retry)) {
      }
      continue;
    }
    if (queue_.empty()) drained_.NotifyAll();
  }
}

}  // namespace spawn
