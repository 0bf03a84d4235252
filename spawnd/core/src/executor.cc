#include "spawn/core/executor.h"

#include <chrono>

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

namespace {
// A worker idle this long ends its thread: a host with a hundred services keeps a thread only for
// the few that have engine work queued, and purged services keep none.
constexpr auto kIdleExit = std::chrono::seconds(5);
}  // namespace

void ThreadedExecutor::Run(const std::string& key, Task task) {
  std::unique_ptr<Worker> finished;  // a worker that ended when idle: joined outside the lock
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      auto& worker = workers_[key];
      if (worker && worker->idle_exit) finished = std::move(worker);
      if (!worker) {
        worker = std::make_unique<Worker>();
        worker->thread = std::thread([this, w = worker.get()] { Loop(w); });
      }
      worker->tasks.push_back(std::move(task));
      task = nullptr;
      worker->wake.notify_one();  // under the lock: an idle worker may be replaced once it is out
    }
  }
  if (task) {
    // Only a task running during destruction gets here: run it at once rather than start a
    // thread the destructor might miss.
    task();
    return;
  }
  if (finished) finished->thread.join();
}

void ThreadedExecutor::Loop(Worker* worker) {
  std::unique_lock lock(mu_);
  for (;;) {
    const bool woken =
        worker->wake.wait_for(lock, kIdleExit, [&] { return stopping_ || !worker->tasks.empty(); });
    if (worker->tasks.empty()) {
      if (stopping_ || !woken) {
        worker->idle_exit = true;  // Run() or the destructor joins this thread
        return;
      }
      continue;
    }
    auto task = std::move(worker->tasks.front());
    worker->tasks.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

ThreadedExecutor::~ThreadedExecutor() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (auto& [key, worker] : workers_) worker->wake.notify_one();
  }
  // Workers only leave once their queue is empty. A task may still queue work (even for a new
  // key) meanwhile, so look again until every thread has been joined; joins happen unlocked.
  for (;;) {
    std::vector<std::thread*> threads;
    {
      std::lock_guard lock(mu_);
      for (auto& [key, worker] : workers_) {
        if (worker->thread.joinable()) threads.push_back(&worker->thread);
      }
    }
    if (threads.empty()) return;
    for (std::thread* thread : threads) thread->join();
  }
}

}  // namespace spawn
