// MemoryJobStore: a JobStore that keeps what was saved in memory, for the job tests.
#pragma once

#include <vector>

#include "spawn/daemon/job_log.h"

namespace spawn {

class MemoryJobStore final : public JobStore {
 public:
  Result<std::vector<proto::Job>> Load() override { return saved; }
  Status Save(const std::vector<proto::Job>& jobs) override {
    saved = jobs;
    return Status::Ok();
  }
  std::vector<proto::Job> saved;
};

}  // namespace spawn
