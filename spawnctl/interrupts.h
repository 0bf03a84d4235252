// Ctrl-C for spawnctl. SIGINT/SIGTERM are blocked in every thread and taken by one thread with
// sigwait(), so the interruption is ordinary code: it wakes whatever main() waits on. A second
// signal, or one while nothing is interruptible, ends the process with 130 (see exit_codes.h).
// Construct it first in main(), before any other thread exists.
#pragma once

#include <signal.h>

#include <cstdlib>
#include <functional>
#include <thread>

#include "spawn/client/exit_codes.h"
#include "spawn/common/mutex.h"

namespace spawn {

class Interrupts {
 public:
  Interrupts() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);  // before any other thread exists
    std::thread([this] { Watch(); }).detach();
  }
  // What to do on Ctrl-C while the current wait lasts; cleared by passing nullptr.
  void OnInterrupt(std::function<void()> fn) EXCLUDES(mu_) {
    bool already;
    {
      MutexLock lock(mu_);
      on_interrupt_ = fn;
      already = fired_;
    }
    if (already && fn) fn();
  }
  void WaitForInterrupt() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    waiting_ = true;
    while (!fired_) cv_.Wait(lock);
  }
  bool fired() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return fired_;
  }

 private:
  void Watch() EXCLUDES(mu_) {
    while (true) {
      int sig = 0;
      if (sigwait(&set_, &sig) != 0) continue;
      std::function<void()> fn;
      {
        MutexLock lock(mu_);
        if (fired_ || (!on_interrupt_ && !waiting_))
          std::_Exit(static_cast<int>(ExitCode::kInterrupted));
        fired_ = true;
        fn = on_interrupt_;
      }
      cv_.NotifyAll();
      if (fn) fn();
    }
  }

  sigset_t set_;
  mutable Mutex mu_;
  CondVar cv_;
  bool fired_ GUARDED_BY(mu_) = false;
  bool waiting_ GUARDED_BY(mu_) = false;
  std::function<void()> on_interrupt_ GUARDED_BY(mu_);
};

}  // namespace spawn
