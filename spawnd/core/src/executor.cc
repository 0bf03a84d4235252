#include "spawn/core/executor.h"

#include <algorithm>
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

ThreadedExecutor::ThreadedExecutor(std::chrono::milliseconds idle_exit, int max_threads)
    : shared_(std::make_shared<Shared>(idle_exit, std::max(1, max_threads))) {}

void ThreadedExecutor::Run(const std::string& key, Task task) {
  {
    Shared& shared = *shared_;
    MutexLock lock(shared.mu);
    // A thread only ends once nothing is ready, so while one is left it runs this task in turn,
    // even during destruction. With none left once the destructor has begun, nobody would: such
    // a task runs at once on the caller's thread.
    if (!shared.stopping || shared.threads > 0) {
      auto [it, fresh] = shared.queues.try_emplace(key);
      it->second.push_back(std::move(task));
      // A key already queued is in `ready` or being run; its runner picks the task up in turn.
      if (!fresh) return;
      shared.ready.push_back(key);
      if (shared.idle > 0) {
        shared.work.NotifyOne();
      } else if (shared.threads < shared.max_threads) {
        ++shared.threads;
        std::thread([shared = shared_] { Loop(*shared); }).detach();
      }
      return;
    }
  }
  task();
}

void ThreadedExecutor::Loop(Shared& shared) {
  MutexLock lock(shared.mu);
  for (;;) {
    if (shared.ready.empty()) {
      const auto idle_until = std::chrono::steady_clock::now() + shared.idle_exit;
      ++shared.idle;
      while (!shared.stopping && shared.ready.empty() && shared.work.WaitUntil(lock, idle_until)) {
      }
      --shared.idle;
      // Still nothing after idle_exit, or stopping: the thread ends.
      if (shared.ready.empty()) {
        if (--shared.threads == 0) shared.all_ended.NotifyAll();
        return;
      }
    }
    const std::string key = std::move(shared.ready.front());
    shared.ready.pop_front();
    auto queue = shared.queues.find(key);
    Task task = std::move(queue->second.front());
    queue->second.pop_front();
    lock.Unlock();
    task();
    task = nullptr;  // what it captured is released outside the lock
    lock.Lock();
    // `queue` is still valid: a key being run is erased by its runner only. Its next task goes to
    // the back of the line, so one busy key does not starve the others.
    if (queue->second.empty())
      shared.queues.erase(queue);
    else
      shared.ready.push_back(key);
  }
}

ThreadedExecutor::~ThreadedExecutor() {
  Shared& shared = *shared_;
  MutexLock lock(shared.mu);
  shared.stopping = true;
  shared.work.NotifyAll();
  // Threads only end once nothing is ready; a task may still queue work meanwhile, which the
  // threads left then run before they end.
  while (shared.threads > 0) shared.all_ended.Wait(lock);
}

}  // namespace spawn
