// Daemon: spawnd's face on the bus. It turns slot messages into supervisor commands and answers
// each on its reply topic, publishes presence, metadata, heartbeats and service logs, and keeps the
// last lines of each service's log for the `logs` slot.
//
// Threading: bus handlers only Post to the EventLoop; everything else runs on the loop's thread.
// Publishing goes through an Outbox (outbox.h) drained by its own thread, so the loop never waits
// on the broker.
//
// Bad input never stops it: a payload that does not decode is answered with 400 when it carries a
// RequestId and logged otherwise. A repeated RequestId (QoS 1 may deliver twice) is answered with
// the first reply (a ReplyCache) and not acted on again. With a CommandJournal, commands and
// replies are on disk: a command that arrived but was not handled before a crash is handled after
// the restart, and the memory of replies survives it.
//
// Jobs: with a JobLog (SetJobLog), every command and every restart spawnd decides itself is a job
// (JobTracker's rules); `slot/jobs` lists them, and each job's end is published, retained for
// kJobEndExpiry (MQTT 5's message expiry), on signal/job/<id>.
//
// Metadata: with a RuntimeMetadata (SetRuntimeMetadata), `slot/meta` sets and removes keys at run
// time; each change is republished (retained) on !meta/<key>, an empty payload when a key is gone.
//
// Expiry: a command that came with an expiry (MQTT 5's message expiry, what was left of it when the
// broker delivered it) gets a deadline on arrival, on the loop's wall clock, journaled with it
// (wall time, so that it means the same after a restart or a reboot). A command whose deadline
// passed before the daemon could act on it (behind other work, or replayed from the journal after
// a restart) is not carried out: it is answered with 504 and logged.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "spawn/bus/bus.h"
#include "spawn/common/config.h"
#include "spawn/common/event_loop.h"
#include "spawn/core/supervisor.h"
#include "spawn/daemon/command_journal.h"
#include "spawn/daemon/heartbeat_policy.h"
#include "spawn/daemon/job_tracker.h"
#include "spawn/daemon/log_history.h"
#include "spawn/daemon/outbox.h"
#include "spawn/daemon/reply_cache.h"
#include "spawn/daemon/runtime_metadata.h"
#include "spawn/proto/messages.h"

namespace spawn {

// The MQTT client id of the spawnd serving `path`: stable (the broker keeps its persistent session
// across restarts), "spawnd-" + the path with every character but [A-Za-z0-9_-] made '_', cut to
// fit, plus a hash of the exact path so that "a/b" and "a_b" never share a session.
std::string SpawndClientId(const std::string& path);

// Daemon: owns no service; it drives a Supervisor (which it observes) from the bus.
//
// Lifetime: construct it, make the supervisor with it as observer, SetSupervisor, InstallHandlers,
// connect the bus, then Start() on the loop thread. `bus` and `loop` must outlive it; the
// supervisor must outlive every task it Posted (in spawnd they all die after the loop stops).
class Daemon final : public SupervisorObserver {
 public:
  // The logs slot answers with the service's container output as the engine keeps it (its last
  // kLogLinesKept lines since the request's time) merged with spawnd's own lines about it (status,
  // build output), of which spawnd keeps the last as many as fit both bounds (a line longer than
  // the byte bound is still kept, alone). Container output never stays in spawnd's memory.
  static constexpr size_t kLogLinesKept = 500;
  static constexpr size_t kLogBytesKept = 16 * 1024;  // of spawnd's lines' contents
  static constexpr size_t kLogLinesPerReply = 100;    // a long history goes in several replies
  static constexpr size_t kRepliesRemembered = 1024;  // least recently used forgotten first
  static constexpr size_t kOutboxCapacity = 10000;    // messages waiting for the broker
  static constexpr size_t kJobsPerReply = 100;        // a long job list goes in several replies
  // How long the broker keeps a job's retained end for a client that asks later (`job --wait`
  // after the job ended); the job log keeps it longer.
  static constexpr std::chrono::seconds kJobEndExpiry{3600};

  Daemon(SpawndConfig config, std::map<std::string, std::string> metadata, Bus& bus,
         EventLoop& loop);

  // The supervisor is made after the daemon (it reports to it); set it before Start(). Messages
  // that arrive while it is unset are ignored.
  void SetSupervisor(Supervisor* supervisor) { supervisor_ = supervisor; }
  // Optional; set before InstallHandlers, with what `journal->Load()` returned (loaded before any
  // command can arrive and be recorded). It must outlive the daemon.
  void SetJournal(CommandJournal* journal, JournalContents recovered) {
    journal_ = journal;
    replies_.SetJournal(journal);
    recovered_ = std::move(recovered);
  }

  // Optional; set before Start, with `jobs` loaded. It must outlive the daemon.
  void SetJobLog(JobLog* jobs);
  // Optional; set before Start, loaded, made with the same file metadata. It must outlive the
  // daemon; what it holds is published instead of the constructor's metadata.
  void SetRuntimeMetadata(RuntimeMetadata* metadata) { runtime_metadata_ = metadata; }

  // Installs the bus handlers (call before the bus connects, so nothing queued in the persistent
  // session is missed: messages are Posted and handled once the loop runs).
  void InstallHandlers();
  // Loop thread, once connected: takes what the journal recovered (the replies, then the commands
  // left pending by a crash, handled in order), subscribes to the slots at QoS 1 (jobs with a job
  // log, meta with run-time metadata; fails if the broker refuses), announces presence, publishes
  // metadata and heartbeats, starts the heartbeat timer.
  Status Start();
  // Loop thread: stops the heartbeat timer and command handling, publishes `offline` (if Start()
  // said `online`) and waits (at most 5 s) for the outbox to drain. The caller disconnects the bus
  // afterwards. Idempotent.
  void Shutdown();

  // SupervisorObserver (loop thread).
  void OnServiceChanged(const ServiceSnapshot& service) override;
  void OnServicePurged(const std::string& name) override;
  void OnServiceLog(const std::string& name, const std::string& stream,
                    const std::string& line) override;
  void OnServiceAction(const std::string& name, const std::string& action,
                       const std::string& reason) override;

  // Loop thread: handles one slot message as if it came from the bus (tests use it directly).
  void HandleMessage(const BusMessage& message);
  // Loop thread: the spawnpoint heartbeat and every service heartbeat, now (on start and after
  // every reconnection: the broker may have lost its retained messages with its session).
  void PublishHeartbeats();
  // Messages dropped because the outbox was full (the broker was away too long).
  size_t dropped() const { return outbox_.dropped(); }
  // For tests: waits until queued messages were handed to the bus.
  bool FlushForTest(std::chrono::milliseconds timeout) { return outbox_.Flush(timeout); }

 private:
  // HandleMessage (or, past `deadline_unix_ns`, Expire), then the journal entry `sequence` (0:
  // none) is done.
  void HandleJournaled(const BusMessage& message, uint64_t sequence, int64_t deadline_unix_ns);
  // Answers a command that expired before it could be acted on, without acting on it.
  void Expire(const BusMessage& message);
  bool IsCommandSlot(const std::string& topic) const;
  void HandleDeploy(const BusMessage& message);
  void HandleCommand(const BusMessage& message, bool restart);
  void HandleLogs(const BusMessage& message);
  // Publishes `lines` to the reply topic of `request_id` in parts, then the empty terminator.
  void AnswerLogs(const std::string& request_id, const std::vector<proto::LogMessage>& lines);
  void HandleJobs(const BusMessage& message);
  void HandleMeta(const BusMessage& message);
  // With a job log: the command's job, opened before the supervisor acts; "" without one.
  std::string OpenJob(const std::string& request_id, const std::string& kind,
                      const std::string& service);
  void JobAnswered(const std::string& job_id, const Status& answer);
  // An expired command's job (when it is a job's command): failed with `expired`.
  void ExpiredJob(const BusMessage& message, const Status& expired);
  void PublishJobEnd(const proto::Job& job);
  int64_t NowUnixNs() const { return ToUnixNanos(loop_.WallNow()); }
  void Answer(const std::string& request_id, const Status& status, const std::string& ok_message);
  bool AnsweredBefore(const std::string& request_id);
  void PublishPresenceAndMetadata();
  void PublishSpawnpointHeartbeat(const std::vector<ServiceSnapshot>& services);
  void PublishServiceHeartbeat(const ServiceSnapshot& service);
  // A daemon status line about a service; kept in its history only if the service has one.
  void LogRefusal(const std::string& name, const Status& status);
  void PublishLog(const std::string& name, const std::string& stream, const std::string& line,
                  bool keep);
  void ScheduleHeartbeat();
  // Every heartbeat interval: the spawnpoint heartbeat, and the service heartbeats that the
  // HeartbeatPolicy says changed (report by exception).
  void PublishPeriodicHeartbeats();
  void Publish(const std::string& topic, std::string payload, int qos, bool retained);

  const SpawndConfig config_;
  const std::map<std::string, std::string> metadata_;
  Bus& bus_;
  EventLoop& loop_;
  Supervisor* supervisor_ = nullptr;
  CommandJournal* journal_ = nullptr;
  JournalContents recovered_;  // until Start() handles it
  Outbox outbox_;
  ReplyCache replies_;
  std::map<std::string, LogHistory> history_;
  HeartbeatPolicy heartbeat_policy_;
  JobLog* jobs_ = nullptr;
  RuntimeMetadata* runtime_metadata_ = nullptr;
  std::unique_ptr<JobTracker> job_tracker_;  // with jobs_
  EventLoop::TimerId heartbeat_timer_ = 0;
  bool started_ = false;
  bool stopped_ = false;
  bool lost_connection_ = false;
};

}  // namespace spawn
