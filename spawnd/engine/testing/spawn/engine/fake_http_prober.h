// FakeHttpProber: an HttpProber for unit tests. It records every probe (Probes()) and keeps its
// `done` until the test answers: Answer(result) answers every probe waiting, on the test's thread
// (a ManualEventLoop then sees the caller's Post). Thread-safe.
#pragma once

#include <utility>
#include <vector>

#include "spawn/common/mutex.h"
#include "spawn/engine/http_prober.h"

namespace spawn {

class FakeHttpProber final : public HttpProber {
 public:
  void Probe(const HttpProbe& probe, ProbeDone done) override EXCLUDES(mu_) {
    MutexLock lock(mu_);
    probes_.push_back(probe);
    waiting_.push_back(std::move(done));
  }

  // Answers every waiting probe with `result`; returns how many there were.
  size_t Answer(const HttpProbeResult& result) EXCLUDES(mu_) {
    std::vector<ProbeDone> waiting;
    {
      MutexLock lock(mu_);
      waiting.swap(waiting_);
    }
    for (auto& done : waiting) done(result);
    return waiting.size();
  }

  size_t Waiting() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return waiting_.size();
  }

  std::vector<HttpProbe> Probes() const EXCLUDES(mu_) {
    MutexLock lock(mu_);
    return probes_;
  }

 private:
  mutable Mutex mu_;
  std::vector<HttpProbe> probes_ GUARDED_BY(mu_);
  std::vector<ProbeDone> waiting_ GUARDED_BY(mu_);
};

}  // namespace spawn
