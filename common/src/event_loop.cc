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
    std::lock_guard lock(mu_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void RealEventLoop::PostBatched(Task task) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    batched_.push_back(std::move(task));
    if (!batch_due_) {
      batch_due_ = Now() + kBatchWindow;
      wake = *batch_due_ < sleeping_until_;
    }
  }
  if (wake) wake_.notify_one();
}

EventLoop::TimerId RealEventLoop::RunAt(SteadyTime when, Task task) {
  std::lock_guard lock(mu_);
  TimerId id = next_id_++;
  timers_.emplace(when, std::make_pair(id, std::move(task)));
  wake_.notify_one();
  return id;
}

void RealEventLoop::Cancel(TimerId id) {
  std::lock_guard lock(mu_);
  EraseTimer(timers_, id);
}

void RealEventLoop::Run() {
  std::unique_lock lock(mu_);
  while (!stopped_) {
    if (batch_due_ && *batch_due_ <= Now()) {
      std::move(batched_.begin(), batched_.end(), std::back_inserter(tasks_));
      batched_.clear();
      batch_due_.reset();
    }
    if (!tasks_.empty()) {
      Task task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    if (!timers_.empty() && timers_.begin()->first <= Now()) {
      Task task = std::move(timers_.begin()->second.second);
      timers_.erase(timers_.begin());
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    sleeping_until_ = timers_.empty() ? SteadyTime::max() : timers_.begin()->first;
    if (batch_due_) sleeping_until_ = std::min(sleeping_until_, *batch_due_);
    if (sleeping_until_ == SteadyTime::max()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, sleeping_until_);
    }
    sleeping_until_ = SteadyTime::min();
  }
}

void RealEventLoop::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  wake_.notify_all();
}

ManualEventLoop::ManualEventLoop()
    : start_(std::chrono::steady_clock::time_point() + std::chrono::hours(1000)),
      now_(start_),
      wall_start_(std::chrono::system_clock::time_point() + std::chrono::seconds(1767225600)) {}

void ManualEventLoop::Post(Task task) {
  std::lock_guard lock(mu_);
  tasks_.push_back(std::move(task));
}

EventLoop::TimerId ManualEventLoop::RunAt(SteadyTime when, Task task) {
  std::lock_guard lock(mu_);
  TimerId id = next_id_++;
  timers_.emplace(when, std::make_pair(id, std::move(task)));
  return id;
}

void ManualEventLoop::Cancel(TimerId id) {
  std::lock_guard lock(mu_);
  EraseTimer(timers_, id);
}

void ManualEventLoop::RunPending() {
  for (;;) {
    Task task;
    {
      std::lock_guard lock(mu_);
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
  const SteadyTime end = now_ + d;
  RunPending();
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (timers_.empty() || timers_.begin()->first > end) break;
      now_ = std::max(now_, timers_.begin()->first);
    }
    RunPending();
  }
  now_ = end;
  RunPending();
}

size_t ManualEventLoop::PendingTimers() const {
  std::lock_guard lock(mu_);
  return timers_.size();
}

}  // namespace spawn
