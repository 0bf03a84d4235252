#include "spawn/spawnable/poller.h"

#include <algorithm>

namespace spawn {

Backoff::Backoff(BackoffOptions options) : options_(options), current_(options.initial) {
  options_.multiplier = std::max(1.0, options_.multiplier);
  options_.max = std::max(options_.max, options_.initial);
}

Duration Backoff::Next() {
  const Duration now = current_;
  const double next = static_cast<double>(current_.count()) * options_.multiplier;
  current_ = next >= static_cast<double>(options_.max.count())
                 ? options_.max
                 : Duration(static_cast<Duration::rep>(next));
  return now;
}

bool RealWaiter::WaitFor(Duration d) {
  std::unique_lock lock(mu_);
  const bool woken = cv_.wait_for(lock, d, [this] { return woken_; });
  woken_ = false;
  return woken;
}

void RealWaiter::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

BackoffPoller::BackoffPoller(BackoffOptions options, PollFunction poll, Waiter* waiter)
    : poll_(std::move(poll)),
      waiter_(waiter != nullptr ? *waiter : own_waiter_),
      backoff_(options) {}

void BackoffPoller::Run() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      reset_ = false;
    }
    const bool found = poll_();
    Duration delay;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      if (found || reset_) backoff_.Reset();
      delay = backoff_.Next();
    }
    waiter_.WaitFor(delay);
    std::lock_guard lock(mu_);
    if (reset_) backoff_.Reset();
  }
}

void BackoffPoller::Reset() {
  {
    std::lock_guard lock(mu_);
    reset_ = true;
  }
  waiter_.Wake();
}

void BackoffPoller::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  waiter_.Wake();
}

}  // namespace spawn
