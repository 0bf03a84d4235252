// Inbox: collects what an engine's callbacks deliver on the engine's own threads, for a test to
// wait on. Every wait is for a condition on what arrived, with a generous deadline that only keeps
// a broken test from hanging (it says nothing about speed). Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "spawn/common/mutex.h"

namespace spawn {

template <typename T>
class Inbox {
 public:
  static constexpr std::chrono::seconds kDeadline{60};

  void Push(T value) EXCLUDES(mu_) {
    {
      MutexLock lock(mu_);
      items_.push_back(std::move(value));
    }
    arrived_.NotifyAll();
  }

  // Waits until `done` holds for what arrived so far; false if `deadline` passed first.
  bool WaitFor(std::function<bool(const std::vector<T>&)> done,
               std::chrono::seconds deadline = kDeadline) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!done(items_)) {
      if (!arrived_.WaitUntil(lock, until)) return done(items_);
    }
    return true;
  }

  // Waits until at least `n` items arrived; false if `deadline` passed first.
  bool WaitForCount(size_t n, std::chrono::seconds deadline = kDeadline) EXCLUDES(mu_) {
    return WaitFor([n](const std::vector<T>& items) { return items.size() >= n; }, deadline);
  }

  std::vector<T> Items() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return items_;
  }

 private:
  mutable Mutex mu_;
  CondVar arrived_;
  std::vector<T> items_ GUARDED_BY(mu_);
};

}  // namespace spawn
