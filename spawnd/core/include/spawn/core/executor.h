// Executor: where the supervisor runs engine calls that block (create, start, stop with its
// timeout, remove). Tasks with the same key run one after another in submission order, so commands
// about one service apply in order; tasks with different keys never wait for each other.
//
// ThreadedExecutor gives each key its own worker thread (started on first use). InlineExecutor runs
// a task at once on the caller's thread, for deterministic unit tests.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace spawn {

class Executor {
 public:
  virtual ~Executor() = default;
  virtual void Run(const std::string& key, std::function<void()> task) = 0;
};

class InlineExecutor final : public Executor {
 public:
  void Run(const std::string&, std::function<void()> task) override { task(); }
};

class ThreadedExecutor final : public Executor {
 public:
  ~ThreadedExecutor() override;  // finishes queued tasks, then joins
  void Run(const std::string& key, std::function<void()> task) override;

 private:
  struct Worker {
    std::deque<std::function<void()>> tasks;  // guarded by mu_
    std::thread thread;
  };
  void Loop(Worker* worker);

  std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, std::unique_ptr<Worker>> workers_;  // guarded by mu_
  bool stopping_ = false;                                   // guarded by mu_
};

}  // namespace spawn
