// Executor: where the supervisor runs engine calls that block (create, start, stop with its
// timeout, inspect, remove), so that they never run on the event loop's thread. The supervisor
// hands a task in with Run() and the task Posts its result back to the loop.
//
// Contract of every implementation: tasks with the same key run one after another, in submission
// order, so commands about one service apply in order; tasks with different keys do not wait for
// each other (a 10 s stop of one service does not delay the start of another). A task must not
// throw. Run() may be called from any thread.
//
// ThreadedExecutor (production) runs keys on a bounded set of threads, started when work comes
// and ended when idle for a while; with every thread busy, a further key waits for one (the one
// exception to "never wait"). Its destructor finishes every queued task and waits for every
// thread to end. InlineExecutor runs a task at once on the caller's thread.
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
  // At most `max_threads` tasks run at once, one per key; a key with work queued waits for a free
  // thread only when that many are busy, so a burst of a hundred deploys holds a bounded number of
  // stacks, engine connections and malloc arenas instead of one of each per service. A thread that
  // finds nothing to run for `idle_exit` ends: an idle host keeps none.
  explicit ThreadedExecutor(std::chrono::milliseconds idle_exit = std::chrono::seconds(5),
                            int max_threads = kDefaultMaxThreads);
  ThreadedExecutor(const ThreadedExecutor&) = delete;
  ThreadedExecutor& operator=(const ThreadedExecutor&) = delete;
  ~ThreadedExecutor() override;  // finishes queued tasks, then waits for the threads to end
  void Run(const std::string& key, Task task) override;

  // Enough that a few stops waiting out their timeouts leave the rest of the host served.
  static constexpr int kDefaultMaxThreads = 16;

 private:
  // What the threads share with the executor. Threads run detached, so that one which ends when
  // idle gives its stack back at once instead of keeping it until somebody joins it. Each holds a
  // reference, so the mutex outlives the last thread's final unlock.
  struct Shared {
    Shared(std::chrono::milliseconds idle_exit, int max_threads)
        : idle_exit(idle_exit), max_threads(max_threads) {}
    Mutex mu;
    // Queued tasks per key; a key is erased once its queue is empty and no thread runs it.
    std::map<std::string, std::deque<Task>> queues GUARDED_BY(mu);
    // Keys with tasks queued and no thread running them, in the order they became so.
    std::deque<std::string> ready GUARDED_BY(mu);
    CondVar work;       // signalled when a key becomes ready, or on stopping
    CondVar all_ended;  // signalled when threads drops to 0
    int threads GUARDED_BY(mu) = 0;
    int idle GUARDED_BY(mu) = 0;  // threads waiting for work
    bool stopping GUARDED_BY(mu) = false;
    const std::chrono::milliseconds idle_exit;
    const int max_threads;
  };
  static void Loop(Shared& shared) EXCLUDES(shared.mu);

  std::shared_ptr<Shared> shared_;
};

}  // namespace spawn
