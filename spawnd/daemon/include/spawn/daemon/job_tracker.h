// JobTracker: when jobs start and end. The daemon tells it of each command (before the supervisor
// acts, and its answer) and of what the supervisor reports (service states, its status lines,
// purges); it moves the jobs in a JobLog and hands every job that ended to `on_end` (the daemon
// publishes it on signal/job/<id>).
//
// The rules, per service:
// - A command's job is queued when it arrives, running once the supervisor accepted it, failed at
//   once (with the refusal's code and message) when it did not. A restart asked for while the
//   service builds stays queued until the build ends.
// - deploy, restart, rollback and auto-restart jobs are done when the service runs (a service
//   that was running when the command came must first be seen not running), and failed when it
//   becomes a zombie first: with the last "[ERROR <code>] ..." line the supervisor logged for it
//   (a build's error), or 409 when a stop came between.
// - stop jobs are done when the service is a zombie.
// - Every job still open when its service is purged fails with 404.
// - Entering `restarting` with no deploy/restart/rollback job open is a restart spawnd decided:
//   reason "back-off" when the service is backing off, else "died" (JobLog folds a crash loop into
//   one job). A restart the supervisor reported with its reason (AutoRestarted: "unhealthy") is
//   not counted again when the service then enters `restarting`.
//
// Time is given; not thread-safe (the daemon's loop thread).
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>

#include "spawn/core/supervisor.h"
#include "spawn/daemon/job_log.h"

namespace spawn {

class JobTracker {
 public:
  using EndFn = std::function<void(const proto::Job&)>;

  // `log` must outlive the tracker.
  JobTracker(JobLog& log, EndFn on_end);

  // Before the supervisor acts: opens the command's job and returns its id (`request_id`, or a
  // new one when it is empty). A repeated id returns the existing job's.
  std::string Opened(const std::string& request_id, const std::string& kind,
                     const std::string& service, int64_t now_unix_ns);
  // The supervisor's answer to the command of job `id`.
  void Answered(const std::string& id, const Status& answer, int64_t now_unix_ns);
  // A restart spawnd decided for another reason than a death (a failed health check: "unhealthy").
  void AutoRestarted(const std::string& service, const std::string& reason, int64_t now_unix_ns);
  // A `--replace` spawnd reverted by itself for `reason` (not healthy in time, died): a running
  // rollback job, done when the previous generation runs.
  void AutoReverted(const std::string& service, const std::string& reason, int64_t now_unix_ns);

  void OnServiceChanged(const ServiceSnapshot& service, int64_t now_unix_ns);
  void OnServiceLog(const std::string& name, const std::string& stream, const std::string& line);
  void OnServicePurged(const std::string& name, int64_t now_unix_ns);

 private:
  void Finish(const proto::Job& job, const Status& outcome, const std::string& message,
              int64_t now_unix_ns);
  // The failure of a job whose service became a zombie before it ran.
  Status ZombieOutcome(const std::string& service, const std::string& stop_id) const;

  JobLog& log_;
  EndFn on_end_;
  std::map<std::string, proto::ServiceState> last_state_;
  // Services that were running when a command came: a `running` report ends nothing until they
  // were seen otherwise.
  std::set<std::string> awaiting_change_;
  std::map<std::string, std::string> last_error_;  // the last "[ERROR ...]" status line
  // Services whose restart AutoRestarted reported: their next `restarting` is that restart, not
  // another one (until they run again).
  std::set<std::string> reported_restart_;
};

}  // namespace spawn
