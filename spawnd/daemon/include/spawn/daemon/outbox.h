// Outbox: a bounded queue of messages published in order by one thread of its own, so the thread
// that pushes (the daemon's loop) never waits on the broker: a slow or absent broker delays
// messages, it does not stall supervision.
//
// What queued up while the thread was busy goes out as one batch (Bus::PublishBatch, up to kBatch
// messages). A QoS 0 message with nothing ahead of it is handed to the bus at once by Push (there
// is no acknowledgement to wait for). While the bus is disconnected a message that could not be
// sent is kept and retried (every kRetryWhileAway) rather than lost; when the queue is full the
// oldest message is dropped and counted (fresh state matters more than stale). A publish that
// fails while connected (no PUBACK in time) is logged and not retried: Paho still owns it.
//
// Thread-safety: Push, Flush and dropped may be called from any thread. `bus` must outlive the
// Outbox.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <thread>

#include "spawn/bus/bus.h"
#include "spawn/common/mutex.h"

namespace spawn {

class Outbox {
 public:
  static constexpr size_t kBatch = 128;
  static constexpr std::chrono::milliseconds kRetryWhileAway{250};

  Outbox(Bus& bus, size_t capacity);
  // Tries to publish what is queued (for at most 2 s), then stops; what is left is lost.
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  void Push(BusMessage message) EXCLUDES(mu_);
  // Blocks until everything queued so far was handed to the bus (published, or given up on after a
  // failure while connected); false if `timeout` passed first.
  bool Flush(std::chrono::milliseconds timeout) EXCLUDES(mu_);
  // Messages dropped because the queue was full.
  size_t dropped() const EXCLUDES(mu_);

 private:
  void Loop() EXCLUDES(mu_);
  bool Drained() const REQUIRES(mu_) { return queue_.empty() && !busy_; }
  void DropOldestBeyondCapacity() REQUIRES(mu_);

  Bus& bus_;
  const size_t capacity_;
  mutable Mutex mu_;
  CondVar wake_;     // something was queued, or stopping_
  CondVar drained_;  // Drained() became true
  std::deque<BusMessage> queue_ GUARDED_BY(mu_);
  bool busy_ GUARDED_BY(mu_) = false;  // a batch is out of the queue, being published
  bool stopping_ GUARDED_BY(mu_) = false;
  size_t dropped_ GUARDED_BY(mu_) = 0;
  std::thread thread_;  // last: it starts once everything above is ready
};

}  // namespace spawn
