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
  const auto deadline = std::chrono::steady_clock::now() + d;
  MutexLock lock(mu_);
  while (!woken_ && cv_.WaitUntil(lock, deadline)) {
  }
  const bool woken = woken_;
  woken_ = false;
  return woken;
}

void RealWaiter::Wake() {
  {
    MutexLock lock(mu_);
    woken_ = true;
  }
  cv_.NotifyAll();
}

BackoffPoller::BackoffPoller(BackoffOptions options, PollFunction poll, Waiter* waiter)
    : poll_(std::move(poll)),
      waiter_(waiter != nullptr ? *waiter : own_waiter_),
      backoff_(options) {}

void BackoffPoller::Run() {
  while (true) {
    {
      MutexLock lock(mu_);
      if (stopped_) return;
      reset_ = false;
    }
    const bool found = poll_();
    Duration delay;
    {
      MutexLock lock(mu_);
      if (stopped_) return;
      if (found || reset_) backoff_.Reset();
      delay = backoff_.Next();
    }
    waiter_.WaitFor(delay);
    MutexLock lock(mu_);
    if (reset_) backoff_.Reset();
  }
}

void BackoffPoller::Reset() {
  {
    MutexLock lock(mu_);
    reset_ = true;
  }
  waiter_.Wake();
}

void BackoffPoller::Stop() {
  {
    MutexLock lock(mu_);
    stopped_ = true;
  }
  waiter_.Wake();
}

}  // namespace spawn
