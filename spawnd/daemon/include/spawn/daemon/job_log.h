// JobLog: the last jobs of a spawnpoint (mistify's job log): one per command, and one per run of
// restarts spawnd decided itself. It keeps the records and their rules (ids, folding a crash loop
// into one job, the bound, which are listed); when a job starts and ends is JobTracker's business
// (job_tracker.h).
//
// Bound: at most `capacity` jobs, the one changed least recently dropped first. A crash loop is one
// job whose Count grows, so it cannot push the operators' jobs out.
//
// Persistence: every change is saved through a JobStore (the whole log, atomically), so the log
// survives a restart of spawnd. A save that fails is logged and the log goes on in memory: a job
// record is worth less than the command it describes.
//
// Time is given (unix ns of the daemon's wall clock), never read. Not thread-safe: the daemon's
// loop thread owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "spawn/common/status.h"
#include "spawn/proto/messages.h"

namespace spawn {

// Job kinds; a new command (rollback) is one more constant.
namespace job_kind {
inline constexpr const char* kDeploy = "deploy";
inline constexpr const char* kRestart = "restart";
inline constexpr const char* kStop = "stop";
inline constexpr const char* kRollback = "rollback";
inline constexpr const char* kAutoRestart = "auto-restart";  // spawnd's own decision
}  // namespace job_kind

// Where the job log lives between runs. Abstract so the log's rules are tested with a store in
// memory; the real one is a file under stateDir.
class JobStore {
 public:
  virtual ~JobStore() = default;
  // What was saved last, oldest first; empty when nothing was. A file that does not decode is an
  // error naming it.
  virtual Result<std::vector<proto::Job>> Load() = 0;
  // Replaces what was saved; on failure the previous save stays whole.
  virtual Status Save(const std::vector<proto::Job>& jobs) = 0;
};

// The log as one msgpack file (a JobsReply) at `path`, rewritten atomically on every save.
std::unique_ptr<JobStore> MakeFileJobStore(const std::string& path);

class JobLog {
 public:
  static constexpr size_t kCapacity = 1000;
  static constexpr size_t kMaxMessageBytes = 2048;  // of a job's Message; longer ones are cut

  explicit JobLog(JobStore& store, size_t capacity = kCapacity);

  // Reads what the store holds (call once, before anything else). On error the log starts empty
  // and the error is returned for the caller to report.
  Status Load();

  // Opens a queued job, or returns the one that already has `id` (a command delivered again).
  // An empty `id` (a command without RequestId) gets a new one, "job-<now>". `reason`: why spawnd
  // opened it itself (an automatic rollback), empty for a command.
  const proto::Job& Open(const std::string& id, const std::string& kind, const std::string& service,
                         int64_t now_unix_ns, const std::string& reason = "");
  // A restart spawnd decided for `reason`: folded into the service's most recently changed job
  // when that is an auto-restart too (Count + 1, running again), else a new job
  // "auto-<service>-<now>".
  const proto::Job& AutoRestart(const std::string& service, const std::string& reason,
                                int64_t now_unix_ns);
  // queued -> running. Null when there is no such job; an ended job is left as it is.
  const proto::Job* Start(const std::string& id, int64_t now_unix_ns);
  // -> done (outcome ok, code 200, `message`) or failed (the outcome's code and message). Null
  // when there is no such job or it had ended already.
  const proto::Job* Finish(const std::string& id, const Status& outcome, const std::string& message,
                           int64_t now_unix_ns);

  const proto::Job* Find(const std::string& id) const;
  // The service's jobs that have not ended, oldest first.
  std::vector<proto::Job> Unended(const std::string& service) const;
  // The jobs of `service` (every service when empty) changed at or after `since_unix_ns`,
  // least recently changed first.
  std::vector<proto::Job> List(const std::string& service, int64_t since_unix_ns) const;
  size_t size() const { return jobs_.size(); }

 private:
  size_t IndexOf(const std::string& id) const;  // size() when there is none
  // Moves the job at `index` to the back (most recently changed) and returns it.
  proto::Job& Touch(size_t index);
  proto::Job& Append(proto::Job job);
  std::string NewId(const std::string& prefix, int64_t now_unix_ns) const;
  void Save();

  JobStore& store_;
  const size_t capacity_;
  std::deque<proto::Job> jobs_;  // least recently changed first
};

}  // namespace spawn
