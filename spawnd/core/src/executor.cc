#include "spawn/core/executor.h"

namespace spawn {

void ThreadedExecutor::Run(const std::string& key, std::function<void()> task) {
  std::lock_guard lock(mu_);
  auto& worker = workers_[key];
  if (!worker) {
    worker = std::make_unique<Worker>();
    worker->thread = std::thread([this, w = worker.get()] { Loop(w); });
  }
  worker->tasks.push_back(std::move(task));
  wake_.notify_all();
}

void ThreadedExecutor::Loop(Worker* worker) {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !worker->tasks.empty(); });
    if (worker->tasks.empty()) return;  // stopping, nothing left
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
  }
  wake_.notify_all();
  for (auto& [key, worker] : workers_) worker->thread.join();
}

}  // namespace spawn
