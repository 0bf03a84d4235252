// Executor: where the supervisor runs engine calls that block (create, start, stop with its
// timeout, inspect, remove), so that they never run on the event loop's thread. The supervisor
// hands a task in with Run() and the task Posts its result back to the loop.
//
// Contract of every implementation: tasks with the same key run one after another, in submission
// order, so commands about one service apply in order; tasks with different keys never wait for
// each other (a 10 s stop of one service does not delay the start of another). A task must not
// throw. Run() may be called from any thread.
//
// ThreadedExecutor (production) gives each key its own worker thread, started on first use and
// ended when its queue has been empty for a while; its destructor finishes every queued task and
// waits for every worker to end. InlineExecutor runs a task at once on the caller's thread.
// ManualExecutor (tests) only queues; the test decides when, and in which interleaving of keys,
// tasks run.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "spawn/common/mutex.h"

namespace spawn {

class Executor {
 public:
  using Task = std::function<void()>;
  virtual ~Executor() = default;
  virtual void Run(const std::string& key, Task task) = 0;
};

// Runs each task at once, on the calling thread (which, for the supervisor, is the loop's).
class InlineExecutor final : public Executor {
 public:
  void Run(const std::string&, Task task) override { task(); }
};

// Queues tasks per key until the test runs them. Not thread-safe: for single-threaded tests.
class ManualExecutor final : public Executor {
 public:
  void Run(const std::string& key, Task task) override;
  // Runs the oldest queued task of `key`; false if it has none.
  bool RunNext(const std::string& key);
  // Runs queued tasks (and those they queue) until none is left; returns how many ran.
  size_t RunAll();
  size_t Pending() const;
  // Keys with queued tasks, in key order.
  std::vector<std::string> PendingKeys() const;

 private:
  std::map<std::string, std::deque<Task>> queues_;
};

class ThreadedExecutor final : public Executor {
 public:
  // A worker whose queue stays empty for `idle_exit` ends its thread: a host with a hundred
  // services keeps threads only for the few that have engine work queued.
  explicit ThreadedExecutor(std::chrono::milliseconds idle_exit = std::chrono::seconds(5));
  ThreadedExecutor(const ThreadedExecutor&) = delete;
  ThreadedExecutor& operator=(const ThreadedExecutor&) = delete;
  ~ThreadedExecutor() override;  // finishes queued tasks, then waits for the workers to end
  void Run(const std::string& key, Task task) override;

 private:
  // One key's queue and thread. It is an element of Shared::workers, reached only through it,
  // so with Shared::mu held.
  struct Worker {
    std::deque<Task> tasks;
    CondVar wake;  // its own: a task for one key wakes only that key's thread
  };
  // What the workers share with the executor. Workers run detached, so that a thread which ends
  // when idle gives its stack back at once instead of keeping it until somebody joins it (a
  // hundred services deployed together would otherwise leave a hundred stacks resident). Each
  // worker holds a reference, so the mutex outlives the last worker's final unlock.
  struct Shared {
    explicit Shared(std::chrono::milliseconds idle_exit) : idle_exit(idle_exit) {}
    Mutex mu;
    std::map<std::string, Worker> workers GUARDED_BY(mu);  // erased as they end
    CondVar all_ended;                                     // signalled when workers drops to 0
    bool stopping GUARDED_BY(mu) = false;
    const std::chrono::milliseconds idle_exit;
  };
  static void Loop(Shared& shared, const std::string& key) EXCLUDES(shared.mu);

  std::shared_ptr<Shared> shared_;
};

}  // namespace spawn
