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
    : shared_(std::make_shared<Shared>()) {
  shared_->idle_exit = idle_exit;
}

void ThreadedExecutor::Run(const std::string& key, Task task) {
  {
    std::lock_guard lock(shared_->mu);
    auto it = shared_->workers.find(key);
    // A worker only leaves the map once its queue is empty, so one that is there will run this
    // task in turn, even during destruction. None is started once the destructor has begun: it
    // might be missed, so such a task runs at once on the caller's thread.
    if (it == shared_->workers.end() && !shared_->stopping) {
      it = shared_->workers.emplace(key, std::make_unique<Worker>()).first;
      std::thread([shared = shared_, key, w = it->second.get()] { Loop(shared, key, w); }).detach();
    }
    if (it != shared_->workers.end()) {
      it->second->tasks.push_back(std::move(task));
      it->second->wake.notify_one();
      return;
    }
  }
  task();
}

void ThreadedExecutor::Loop(const std::shared_ptr<Shared>& shared, const std::string& key,
                            Worker* worker) {
  std::unique_lock lock(shared->mu);
  for (;;) {
    if (worker->tasks.empty()) {
      const bool woken = worker->wake.wait_for(
          lock, shared->idle_exit, [&] { return shared->stopping || !worker->tasks.empty(); });
      if (worker->tasks.empty()) {
        if (!shared->stopping && woken) continue;
        shared->workers.erase(key);  // destroys *worker: nothing below may touch it
        if (shared->workers.empty()) shared->all_ended.notify_all();
        return;
      }
    }
    Task task = std::move(worker->tasks.front());
    worker->tasks.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // what it captured is released outside the lock
    lock.lock();
  }
}

ThreadedExecutor::~ThreadedExecutor() {
  std::unique_lock lock(shared_->mu);
  shared_->stopping = true;
  for (auto& [key, worker] : shared_->workers) worker->wake.notify_one();
  // Workers only leave once their queue is empty; a task may still queue work for its own key
  // meanwhile, which that worker then runs before it ends.
  shared_->all_ended.wait(lock, [&] { return shared_->workers.empty(); });
}

}  // namespace spawn
