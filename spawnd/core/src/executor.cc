#include "spawn/core/executor.h"

#include <chrono>
#include <thread>

namespace spawn {

// ---- ManualExecutor ----

void ManualExecutor::Run(const std::string& key, Task task) {
  queues_[key].push_back(std::move(task));
}

bool ManualExecutor::RunNext(const std::string& key) {
  auto it = queues_.find(key);
  if (it == queues_.end() || it->second.empty()) return false;
  Task task = std::move(it->second.front());
  it->second.pop_front();
  if (it->second.empty()) queues_.erase(it);
  task();
  return true;
}

size_t ManualExecutor::RunAll() {
  size_t ran = 0;
  while (!queues_.empty()) {
    const std::string key = queues_.begin()->first;
    if (RunNext(key)) ++ran;
  }
  return ran;
}

size_t ManualExecutor::Pending() const {
  size_t n = 0;
  for (const auto& [key, queue] : queues_) n += queue.size();
  return n;
}

std::vector<std::string> ManualExecutor::PendingKeys() const {
  std::vector<std::string> keys;
  for (const auto& [key, queue] : queues_) keys.push_back(key);
  return keys;
}

// ---- ThreadedExecutor ----

ThreadedExecutor::ThreadedExecutor(std::chrono::milliseconds idle_exit)
    : shared_(std::make_shared<Shared>(idle_exit)) {}

void ThreadedExecutor::Run(const std::string& key, Task task) {
  {
    Shared& shared = *shared_;
    MutexLock lock(shared.mu);
    auto it = shared.workers.find(key);
    // A worker only leaves the map once its queue is empty, so one that is there will run this
    // task in turn, even during destruction. None is started once the destructor has begun: it
    // might be missed, so such a task runs at once on the caller's thread.
    if (it == shared.workers.end() && !shared.stopping) {
      it = shared.workers.try_emplace(key).first;
      std::thread([shared = shared_, key] { Loop(*shared, key); }).detach();
    }
    if (it != shared.workers.end()) {
      it->second.tasks.push_back(std::move(task));
      it->second.wake.NotifyOne();
      return;
    }
  }
  task();
}

void ThreadedExecutor::Loop(Shared& shared, const std::string& key) {
  MutexLock lock(shared.mu);
  // Only this thread erases its entry, so the reference stays valid until then.
  Worker& worker = shared.workers.at(key);
  for (;;) {
    if (worker.tasks.empty()) {
      const auto idle_until = std::chrono::steady_clock::now() + shared.idle_exit;
      while (!shared.stopping && worker.tasks.empty() && worker.wake.WaitUntil(lock, idle_until)) {
      }
      // Still nothing after idle_exit, or stopping: the worker ends.
      if (worker.tasks.empty()) {
        shared.workers.erase(key);  // destroys `worker`: nothing below may touch it
        if (shared.workers.empty()) shared.all_ended.NotifyAll();
        return;
      }
    }
    Task task = std::move(worker.tasks.front());
    worker.tasks.pop_front();
    lock.Unlock();
    task();
    task = nullptr;  // what it captured is released outside the lock
    lock.Lock();
  }
}

ThreadedExecutor::~ThreadedExecutor() {
  Shared& shared = *shared_;
  MutexLock lock(shared.mu);
  shared.stopping = true;
  for (auto& [key, worker] : shared.workers) worker.wake.NotifyOne();
  // Workers only leave once their queue is empty; a task may still queue work for its own key
  // meanwhile, which that worker then runs before it ends.
  while (!shared.workers.empty()) shared.all_ended.Wait(lock);
}

}  // namespace spawn
