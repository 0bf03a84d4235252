// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable with clang's thread-safety
// annotations, so that "guarded by mu_" is a rule the compiler checks (-Wthread-safety) rather than
// a comment. libstdc++'s own types carry no annotations.
//
// Members a mutex guards are declared GUARDED_BY(mu_); functions that expect the caller to hold it
// REQUIRES(mu_), functions that take it themselves EXCLUDES(mu_). Under other compilers the
// annotations expand to nothing. Condition waits are written against a held MutexLock, whose
// predicate runs with the mutex held (the analysis cannot see into lambdas, so a predicate reads
// guarded members through a REQUIRES function or with a NO_THREAD_SAFETY_ANALYSIS lambda).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define SPAWN_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define SPAWN_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) SPAWN_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY SPAWN_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) SPAWN_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) SPAWN_THREAD_ANNOTATION(pt_guarded_by(x))
#define REQUIRES(...) SPAWN_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) SPAWN_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) SPAWN_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) SPAWN_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) SPAWN_THREAD_ANNOTATION(assert_capability(x))
#define NO_THREAD_SAFETY_ANALYSIS SPAWN_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace spawn {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // For code paths the analysis cannot follow (a callback known to run under the lock).
  void AssertHeld() const ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` for its scope; Unlock()/Lock() let a scope give it up for a while (to run a task
// without the lock, say).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_.Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() RELEASE() {
    held_ = false;
    mu_.Unlock();
  }
  void Lock() ACQUIRE() {
    mu_.Lock();
    held_ = true;
  }

 private:
  friend class CondVar;
  Mutex& mu_;
  bool held_ = true;
};

// A condition variable for Mutex. Every wait is given the MutexLock that holds the mutex; it
// releases it while blocked and holds it again when it returns, as std::condition_variable does.
class CondVar {
 public:
  void Wait(MutexLock& lock) {
    std::unique_lock native(lock.mu_.mu_, std::adopt_lock);
    cv_.wait(native);
    native.release();
  }
  template <typename Predicate>
  void Wait(MutexLock& lock, Predicate ready) {
    while (!ready()) Wait(lock);
  }
  // Returns false if `deadline` passed first.
  template <typename Clock, typename ClockDuration>
  bool WaitUntil(MutexLock& lock, std::chrono::time_point<Clock, ClockDuration> deadline) {
    std::unique_lock native(lock.mu_.mu_, std::adopt_lock);
    const bool woken = cv_.wait_until(native, deadline) == std::cv_status::no_timeout;
    native.release();
    return woken;
  }
  // Returns what `ready` says last: false if `deadline` passed while it was false.
  template <typename Clock, typename ClockDuration, typename Predicate>
  bool WaitUntil(MutexLock& lock, std::chrono::time_point<Clock, ClockDuration> deadline,
                 Predicate ready) {
    while (!ready()) {
      if (!WaitUntil(lock, deadline)) return ready();
    }
    return true;
  }
  template <typename Rep, typename Period, typename Predicate>
  bool WaitFor(MutexLock& lock, std::chrono::duration<Rep, Period> timeout, Predicate ready) {
    return WaitUntil(lock, std::chrono::steady_clock::now() + timeout, std::move(ready));
  }
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace spawn
