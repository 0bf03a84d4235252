#include "spawn/common/event_loop.h"

#include <algorithm>
#include <iterator>

namespace spawn {
namespace {

template <typename Timers>
void EraseTimer(Timers& timers, EventLoop::TimerId id) {
  auto it = std::find_if(timers.begin(), timers.end(),
                         [id](const auto& entry) { return entry.second.first == id; });
  if (it != timers.end()) timers.erase(it);
}

}  // namespace

void RealEventLoop::Post(Task task) {
  {
    MutexLock lock(mu_);
    tasks_.push_back(std::move(task));
  }
  wake_.NotifyOne();
}

void RealEventLoop::PostBatched(Task task) {
  bool wake = false;
  {
    MutexLock lock(mu_);
    batched_.push_back(std::move(task));
    if (!batch_due_) {
      batch_due_ = Now() + kBatchWindow;
      wake = *batch_due_ < sleeping_until_;
    }
  }
  if (wake) wake_.NotifyOne();
}

EventLoop::TimerId RealEventLoop::RunAt(SteadyTime when, Task task) {
  MutexLock lock(mu_);
  TimerId id = next_id_++;
  timers_.emplace(when, std::make_pair(id, std::move(task)));
  wake_.NotifyOne();
  return id;
}

void RealEventLoop::Cancel(TimerId id) {
  MutexLock lock(mu_);
  EraseTimer(timers_, id);
}

void RealEventLoop::Run() {
  MutexLock lock(mu_);
  while (!stopped_) {
    if (batch_due_ && *batch_due_ <= Now()) {
      std::move(batched_.begin(), batched_.end(), std::back_inserter(tasks_));
      batched_.clear();
      batch_due_.reset();
    }
    if (!tasks_.empty()) {
      Task task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.Unlock();
      task();
      lock.Lock();
      continue;
    }
    if (!timers_.empty() && timers_.begin()->first <= Now()) {
      Task task = std::move(timers_.begin()->second.second);
      timers_.erase(timers_.begin());
      lock.Unlock();
      task();
      lock.Lock();
      continue;
    }
    sleeping_until_ = timers_.empty() ? SteadyTime::max() : timers_.begin()->first;
    if (batch_due_) sleeping_until_ = std::min(sleeping_until_, *batch_due_);
    if (sleep_hook_) sleep_hook_(sleeping_until_);
    if (sleeping_until_ == SteadyTime::max()) {
      wake_.Wait(lock);
    } else {
      wake_.WaitUntil(lock, sleeping_until_);
    }
    sleeping_until_ = SteadyTime::min();
  }
}

void RealEventLoop::Stop() {
  {
    MutexLock lock(mu_);
    stopped_ = true;
  }
  wake_.NotifyAll();
}

ManualEventLoop::ManualEventLoop()
    : start_(std::chrono::steady_clock::time_point() + std::chrono::hours(1000)),
      wall_start_(std::chrono::system_clock::time_point() + std::chrono::seconds(1767225600)),
      now_(start_) {}

SteadyTime ManualEventLoop::Now() const {
  MutexLock lock(mu_);
  return now_;
}

void ManualEventLoop::Post(Task task) {
  MutexLock lock(mu_);
  tasks_.push_back(std::move(task));
}

EventLoop::TimerId ManualEventLoop::RunAt(SteadyTime when, Task task) {
  MutexLock lock(mu_);
  TimerId id = next_id_++;
  timers_.emplace(when, std::make_pair(id, std::move(task)));
  return id;
}

void ManualEventLoop::Cancel(TimerId id) {
  MutexLock lock(mu_);
  EraseTimer(timers_, id);
}

void ManualEventLoop::RunPending() {
  for (;;) {
    Task task;
    {
      MutexLock lock(mu_);
      if (!tasks_.empty()) {
        task = std::move(tasks_.front());
        tasks_.pop_front();
      } else if (!timers_.empty() && timers_.begin()->first <= now_) {
        task = std::move(timers_.begin()->second.second);
        timers_.erase(timers_.begin());
      } else {
        return;
      }
    }
    task();
  }
}

void ManualEventLoop::AdvanceBy(Duration d) {
  const SteadyTime end = Now() + d;
  RunPending();
  for (;;) {
    {
      MutexLock lock(mu_);
      if (timers_.empty() || timers_.begin()->first > end) break;
      now_ = std::max(now_, timers_.begin()->first);
    }
    RunPending();
  }
  {
    MutexLock lock(mu_);
    now_ = end;
  }
  RunPending();
}

size_t ManualEventLoop::PendingTimers() const {
  MutexLock lock(mu_);
  return timers_.size();
}

}  // namespace spawn
