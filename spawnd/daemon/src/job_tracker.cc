#include "spawn/daemon/job_tracker.h"

#include <cstdlib>
#include <utility>
#include <vector>

namespace spawn {
namespace {

using proto::JobState;
using proto::ServiceState;

bool EndsWhenRunning(const proto::Job& job) { return job.kind != job_kind::kStop; }

bool IsCommandToRun(const proto::Job& job) {
  return job.kind == job_kind::kDeploy || job.kind == job_kind::kRestart ||
         job.kind == job_kind::kRollback;
}

// "[ERROR 500] build failed: ..." -> Status(500, "build failed: ..."); a code spawnd does not use
// is reported as 500.
Status ParseErrorLine(const std::string& line) {
  const std::string prefix = "[ERROR ";
  const size_t close = line.find("] ");
  if (line.rfind(prefix, 0) != 0 || close == std::string::npos) return Status::Internal(line);
  const int code = std::atoi(line.substr(prefix.size(), close - prefix.size()).c_str());
  const std::string message = line.substr(close + 2);
  for (Code known : {Code::kBadRequest, Code::kForbidden, Code::kNotFound, Code::kConflict,
                     Code::kUnavailable, Code::kTimeout, Code::kInsufficientStorage}) {
    if (code == static_cast<int>(known)) return Status(known, message);
  }
  return Status::Internal(message);
}

}  // namespace

JobTracker::JobTracker(JobLog& log, EndFn on_end) : log_(log), on_end_(std::move(on_end)) {}

std::string JobTracker::Opened(const std::string& request_id, const std::string& kind,
                               const std::string& service, int64_t now_unix_ns) {
  auto state = last_state_.find(service);
  if (state != last_state_.end() && state->second == ServiceState::kRunning)
    awaiting_change_.insert(service);
  return log_.Open(request_id, kind, service, now_unix_ns).id;
}

void JobTracker::Answered(const std::string& id, const Status& answer, int64_t now_unix_ns) {
  const proto::Job* job = log_.Find(id);
  if (!job || job->state != JobState::kQueued) return;
  if (!answer.ok()) {
    Finish(*job, answer, "", now_unix_ns);
    return;
  }
  auto state = last_state_.find(job->service);
  const bool waits_for_build = job->kind != job_kind::kDeploy && state != last_state_.end() &&
                               state->second == ServiceState::kBuilding;
  if (!waits_for_build) log_.Start(id, now_unix_ns);
}

void JobTracker::AutoRestarted(const std::string& service, const std::string& reason,
                               int64_t now_unix_ns) {
  auto state = last_state_.find(service);
  if (state != last_state_.end() && state->second == ServiceState::kRunning)
    awaiting_change_.insert(service);
  reported_restart_.insert(service);
  log_.AutoRestart(service, reason, now_unix_ns);
}

void JobTracker::AutoReverted(const std::string& service, const std::string& reason,
                              int64_t now_unix_ns) {
  auto state = last_state_.find(service);
  if (state != last_state_.end() && state->second == ServiceState::kRunning)
    awaiting_change_.insert(service);
  const std::string id = log_.Open("", job_kind::kRollback, service, now_unix_ns, reason).id;
  log_.Start(id, now_unix_ns);
}

void JobTracker::OnServiceChanged(const ServiceSnapshot& s, int64_t now_unix_ns) {
  auto found = last_state_.find(s.name);
  const bool known = found != last_state_.end();
  const ServiceState previous = known ? found->second : s.state;
  last_state_[s.name] = s.state;
  if (s.state != ServiceState::kRunning) awaiting_change_.erase(s.name);

  std::vector<proto::Job> open = log_.Unended(s.name);
  if (known && previous == ServiceState::kBuilding && s.state != ServiceState::kBuilding) {
    for (const auto& job : open) log_.Start(job.id, now_unix_ns);
  }
  switch (s.state) {
    case ServiceState::kRestarting: {
      if (known && previous == ServiceState::kRestarting) break;
      if (reported_restart_.erase(s.name)) break;  // AutoRestarted said why already
      bool commanded = false;
      for (const auto& job : open) commanded = commanded || IsCommandToRun(job);
      if (!commanded)
        log_.AutoRestart(s.name, s.backoff.count() > 0 ? "back-off" : "died", now_unix_ns);
      break;
    }
    case ServiceState::kRunning:
      if (awaiting_change_.count(s.name)) break;
      reported_restart_.erase(s.name);
      for (const auto& job : open) {
        if (EndsWhenRunning(job))
          Finish(job, Status::Ok(), "service " + s.name + " is running", now_unix_ns);
      }
      break;
    case ServiceState::kZombie: {
      std::string stop_id;
      for (const auto& job : open) {
        if (job.kind == job_kind::kStop) stop_id = job.id;
      }
      for (const auto& job : open) {
        if (job.kind == job_kind::kStop) {
          Finish(job, Status::Ok(), "service " + s.name + " stopped", now_unix_ns);
        } else {
          Finish(job, ZombieOutcome(s.name, stop_id), "", now_unix_ns);
        }
      }
      last_error_.erase(s.name);
      break;
    }
    default:
      break;
  }
}

Status JobTracker::ZombieOutcome(const std::string& service, const std::string& stop_id) const {
  if (!stop_id.empty())
    return Status::Conflict("stopped by job " + stop_id + " before service " + service + " ran");
  auto error = last_error_.find(service);
  if (error != last_error_.end()) return ParseErrorLine(error->second);
  return Status::Internal("service " + service + " ended before it ran");
}

void JobTracker::OnServiceLog(const std::string& name, const std::string& stream,
                              const std::string& line) {
  if (stream == "spawnd" && line.rfind("[ERROR", 0) == 0) last_error_[name] = line;
}

void JobTracker::OnServicePurged(const std::string& name, int64_t now_unix_ns) {
  for (const auto& job : log_.Unended(name)) {
    Finish(job, Status::NotFound("service " + name + " was removed before the job ended"), "",
           now_unix_ns);
  }
  last_state_.erase(name);
  awaiting_change_.erase(name);
  reported_restart_.erase(name);
  last_error_.erase(name);
}

void JobTracker::Finish(const proto::Job& job, const Status& outcome, const std::string& message,
                        int64_t now_unix_ns) {
  const proto::Job* ended = log_.Finish(job.id, outcome, message, now_unix_ns);
  if (ended && on_end_) on_end_(*ended);
}

}  // namespace spawn
