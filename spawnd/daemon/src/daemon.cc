#include "spawn/daemon/daemon.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iterator>
#include <optional>
#include <utility>

#include "spawn/common/units.h"
#include "spawn/proto/topics.h"

namespace spawn {

std::string SpawndClientId(const std::string& path) {
  uint32_t hash = 2166136261u;  // FNV-1a: stable across builds and hosts, unlike std::hash
  for (unsigned char c : path) hash = (hash ^ c) * 16777619u;
  std::string id = "spawnd-";
  for (unsigned char c : path.substr(0, 80))
    id.push_back(std::isalnum(c) || c == '-' || c == '_' ? static_cast<char>(c) : '_');
  char suffix[10];
  std::snprintf(suffix, sizeof suffix, "-%08x", hash);
  return id + suffix;
}

Daemon::Daemon(SpawndConfig config, std::map<std::string, std::string> metadata, Bus& bus,
               EventLoop& loop)
    : config_(std::move(config)),
      metadata_(std::move(metadata)),
      bus_(bus),
      loop_(loop),
      outbox_(bus, kOutboxCapacity),
      replies_(kRepliesRemembered),
      heartbeat_policy_(HeartbeatPolicy::Deadband{config_.heartbeat_mem_deadband_bytes,
                                                  config_.heartbeat_mem_deadband_percent,
                                                  config_.heartbeat_cpu_deadband_points, 2}) {}

void Daemon::SetJobLog(JobLog* jobs) {
  jobs_ = jobs;
  job_tracker_ = jobs ? std::make_unique<JobTracker>(
                            *jobs, [this](const proto::Job& job) { PublishJobEnd(job); })
                      : nullptr;
}

void Daemon::InstallHandlers() {
  bus_.SetMessageHandler([this](const BusMessage& m) {
    // On the bus thread, before returning: Paho has acknowledged the message already, so the
    // journal's copy is the only one a crash would leave.
    uint64_t sequence = 0;
    // The wall clock, read off the loop thread: both loops' WallNow() are safe to call from any
    // thread. Wall time, unlike the steady clock, still means the same after a reboot.
    const int64_t deadline = m.expiry.count() > 0 && IsCommandSlot(m.topic)
                                 ? ToUnixNanos(loop_.WallNow() + m.expiry)
                                 : 0;
    if (journal_ && IsCommandSlot(m.topic)) {
      auto recorded = journal_->Record(m, deadline);
      if (recorded.ok()) {
        sequence = *recorded;
      } else {
        spdlog::error("journal: {}; handling the command without it", recorded.status().message());
      }
    }
    loop_.Post([this, m, sequence, deadline] { HandleJournaled(m, sequence, deadline); });
  });
  bus_.SetConnectionHandler([this](bool up) {
    loop_.Post([this, up] {
      if (!started_ || stopped_) return;
      if (!up) {
        lost_connection_ = true;
        spdlog::warn("bus: lost the broker at {}; reconnecting", config_.broker);
      } else if (lost_connection_) {
        lost_connection_ = false;
        spdlog::info("bus: connected again; republishing presence, metadata and heartbeats");
        PublishPresenceAndMetadata();
        PublishHeartbeats();
      }
    });
  });
}

bool Daemon::IsCommandSlot(const std::string& topic) const {
  return topic == topics::ConfigSlot(config_.path) || topic == topics::RestartSlot(config_.path) ||
         topic == topics::StopSlot(config_.path) || topic == topics::MetaSlot(config_.path) ||
         topic == topics::RollbackSlot(config_.path);
}

void Daemon::HandleJournaled(const BusMessage& message, uint64_t sequence,
                             int64_t deadline_unix_ns) {
  if (!supervisor_ || stopped_) return;  // left pending: the next start handles it
  if (deadline_unix_ns != 0 && ToUnixNanos(loop_.WallNow()) >= deadline_unix_ns) {
    Expire(message);
  } else {
    HandleMessage(message);
  }
  if (journal_ && sequence != 0) {
    const Status done = journal_->Done(sequence);
    if (!done.ok()) spdlog::warn("journal: {}", done.message());
  }
}

Status Daemon::Start() {
  JournalContents recovered = std::exchange(recovered_, {});
  replies_.Restore(recovered.replies);
  if (!recovered.pending.empty()) {
    spdlog::info("journal: handling {} command(s) that arrived before the last stop",
                 recovered.pending.size());
  }
  for (const auto& command : recovered.pending)
    HandleJournaled(command.message, command.sequence, command.deadline_unix_ns);
  for (const auto& slot : {topics::ConfigSlot(config_.path), topics::RestartSlot(config_.path),
                           topics::StopSlot(config_.path), topics::LogsSlot(config_.path),
                           topics::RollbackSlot(config_.path)}) {
    SPAWN_RETURN_IF_ERROR(bus_.Subscribe(slot, 1).WithContext("subscribing to " + slot));
  }
  if (jobs_) {
    const std::string slot = topics::JobsSlot(config_.path);
    SPAWN_RETURN_IF_ERROR(bus_.Subscribe(slot, 1).WithContext("subscribing to " + slot));
  }
  if (runtime_metadata_) {
    const std::string slot = topics::MetaSlot(config_.path);
    SPAWN_RETURN_IF_ERROR(bus_.Subscribe(slot, 1).WithContext("subscribing to " + slot));
  }
  started_ = true;
  PublishPresenceAndMetadata();
  PublishHeartbeats();
  ScheduleHeartbeat();
  spdlog::info("spawnd {} serving {} ({}) on {}", SPAWN_VERSION, config_.path, config_.alias,
               config_.broker);
  return Status::Ok();
}

void Daemon::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  if (!started_) return;  // never said `online`: nothing to take back
  if (heartbeat_timer_) loop_.Cancel(heartbeat_timer_);
  heartbeat_timer_ = 0;
  // The broker drops the will on a clean disconnect, so say it ourselves.
  Publish(topics::Presence(config_.path), "offline", 1, true);
  if (!outbox_.Flush(std::chrono::seconds(5)))
    spdlog::warn("bus: some messages were not sent before exit");
}

void Daemon::ScheduleHeartbeat() {
  heartbeat_timer_ = loop_.RunAfter(config_.heartbeat_interval, [this] {
    PublishPeriodicHeartbeats();
    ScheduleHeartbeat();
  });
}

void Daemon::Publish(const std::string& topic, std::string payload, int qos, bool retained) {
  outbox_.Push(BusMessage{topic, std::move(payload), qos, retained});
}

void Daemon::PublishPresenceAndMetadata() {
  Publish(topics::Presence(config_.path), "online", 1, true);
  for (const auto& [key, value] : runtime_metadata_ ? runtime_metadata_->Effective() : metadata_)
    Publish(topics::Meta(config_.path, key), value, 1, true);
}

void Daemon::PublishHeartbeats() {
  if (!supervisor_) return;
  const auto services = supervisor_->Services();
  PublishSpawnpointHeartbeat(services);
  for (const auto& s : services) PublishServiceHeartbeat(s);
}

void Daemon::PublishPeriodicHeartbeats() {
  if (!supervisor_) return;
  const auto services = supervisor_->Services();
  PublishSpawnpointHeartbeat(services);
  for (const auto& s : services) {
    if (heartbeat_policy_.Sampled(s)) PublishServiceHeartbeat(s);
  }
}

void Daemon::PublishSpawnpointHeartbeat(const std::vector<ServiceSnapshot>& services) {
  const PoolSnapshot pool = supervisor_->Pool();
  proto::SpawnpointHeartbeat hb;
  hb.alias = config_.alias;
  hb.time_unix_ns = ToUnixNanos(loop_.WallNow());
  hb.version = SPAWN_VERSION;
  hb.total_mem_mib = pool.total_mem_bytes / kMiB;
  hb.total_cpu_shares = pool.total_cpu_shares;
  hb.available_mem_mib = pool.free_mem_bytes / kMiB;
  hb.available_cpu_shares = pool.free_cpu_shares;
  hb.total_disk_mib = pool.total_disk_bytes / kMiB;
  hb.available_disk_mib = pool.free_disk_bytes / kMiB;
  hb.heartbeat_interval_ms = config_.heartbeat_interval.count();
  for (const auto& s : services) hb.services.push_back(s.name);
  hb.warnings = supervisor_->Warnings();
  hb.heartbeat_policy = proto::kReportByException;
  Publish(topics::Heartbeat(config_.path), proto::Encode(hb), 1, true);
}

void Daemon::PublishServiceHeartbeat(const ServiceSnapshot& s) {
  constexpr double kMB = 1e6;
  proto::ServiceHeartbeat hb;
  hb.spawnpoint_uri = config_.path;
  hb.name = s.name;
  hb.time_unix_ns = ToUnixNanos(loop_.WallNow());
  hb.state = s.state;
  hb.container_id = s.container_id;
  hb.mem_alloc_mib = s.config.mem_alloc_bytes / kMiB;
  hb.cpu_shares = s.config.cpu_shares;
  hb.mem_usage_mib = static_cast<double>(s.usage.memory_usage_bytes) / kMiB;
  hb.cpu_percent = s.usage.cpu_percent;
  hb.network_rx_mb = static_cast<double>(s.usage.network_rx_bytes) / kMB;
  hb.network_tx_mb = static_cast<double>(s.usage.network_tx_bytes) / kMB;
  hb.mb_read = static_cast<double>(s.usage.block_read_bytes) / kMB;
  hb.mb_written = static_cast<double>(s.usage.block_written_bytes) / kMB;
  hb.restarts = s.restarts;
  hb.exit_code = s.exit_code;
  hb.original_config = s.config;
  if (s.backoff.count()) hb.backoff = FormatDuration(s.backoff);
  hb.health = s.health;
  hb.health_output = s.health_output;
  Publish(topics::ServiceHeartbeat(config_.path, s.name), proto::Encode(hb), 1, true);
  heartbeat_policy_.Published(s);
}

void Daemon::OnServiceChanged(const ServiceSnapshot& service) {
  // Jobs follow every report, also those of the adoption before Start().
  if (job_tracker_) job_tracker_->OnServiceChanged(service, NowUnixNs());
  if (!started_ || stopped_ || !supervisor_) return;  // Start() publishes everything at once
  PublishServiceHeartbeat(service);
  PublishSpawnpointHeartbeat(supervisor_->Services());  // the pool and the list changed with it
}

void Daemon::OnServicePurged(const std::string& name) {
  if (job_tracker_) job_tracker_->OnServicePurged(name, NowUnixNs());
  // An empty retained payload makes the broker forget the service's heartbeat.
  Publish(topics::ServiceHeartbeat(config_.path, name), "", 1, true);
  history_.erase(name);
  heartbeat_policy_.Forget(name);
  if (started_ && !stopped_ && supervisor_) PublishSpawnpointHeartbeat(supervisor_->Services());
}

void Daemon::OnServiceLog(const std::string& name, const std::string& stream,
                          const std::string& line) {
  if (job_tracker_) job_tracker_->OnServiceLog(name, stream, line);
  PublishLog(name, stream, line, true);
}

void Daemon::OnServiceAction(const std::string& name, const std::string& action,
                             const std::string& reason) {
  if (!job_tracker_) return;
  if (action == "revert") {
    job_tracker_->AutoReverted(name, reason, NowUnixNs());
    return;
  }
  if (action != "restart") return;
  // A restart for a death is seen in the service's states; this one has another reason.
  job_tracker_->AutoRestarted(
      name, reason.find("health") != std::string::npos ? "unhealthy" : reason, NowUnixNs());
}

void Daemon::PublishLog(const std::string& name, const std::string& stream, const std::string& line,
                        bool keep) {
  proto::LogMessage m{ToUnixNanos(loop_.WallNow()), config_.alias, name, stream, line};
  // Container output may be plentiful: QoS 0 keeps it from queueing behind acknowledgements.
  // Daemon status lines ([INFO], [SUCCESS], [ERROR]) are what clients wait for: QoS 1.
  const int qos = stream == "spawnd" ? 1 : 0;
  Publish(topics::ServiceLog(config_.path, name), proto::Encode(m), qos, false);
  // The engine keeps the container's output (ReadLogs); spawnd keeps only its own lines.
  if (!keep || stream != "spawnd") return;
  history_.try_emplace(name, kLogLinesKept, kLogBytesKept)
      .first->second.Add(m.time_unix_ns, m.stream, m.contents);
}

void Daemon::LogRefusal(const std::string& name, const Status& status) {
  if (name.empty()) return;
  // Only a service that exists gets a history: refused names must not grow memory.
  PublishLog(name, "spawnd", status.ToString(), history_.count(name) > 0);
}

void Daemon::HandleMessage(const BusMessage& message) {
  if (!supervisor_ || stopped_) return;
  if (message.topic == topics::ConfigSlot(config_.path))
    HandleDeploy(message);
  else if (message.topic == topics::RestartSlot(config_.path))
    HandleCommand(message, true);
  else if (message.topic == topics::StopSlot(config_.path) ||
           message.topic == topics::RollbackSlot(config_.path))
    HandleCommand(message, false);
  else if (message.topic == topics::LogsSlot(config_.path))
    HandleLogs(message);
  else if (jobs_ && message.topic == topics::JobsSlot(config_.path))
    HandleJobs(message);
  else if (runtime_metadata_ && message.topic == topics::MetaSlot(config_.path))
    HandleMeta(message);
}

bool Daemon::AnsweredBefore(const std::string& request_id) {
  std::optional<std::string> reply = replies_.Find(request_id);
  if (!reply) return false;
  spdlog::info("request {} was delivered again; repeating its first reply", request_id);
  Publish(topics::Reply(config_.path, request_id), std::move(*reply), 1, false);
  return true;
}

void Daemon::Answer(const std::string& request_id, const Status& status,
                    const std::string& ok_message) {
  if (request_id.empty()) {
    // A bare-name command has no reply topic: the log is all there is.
    if (!status.ok()) spdlog::warn("command without RequestId failed: {}", status.ToString());
    return;
  }
  std::string reply = proto::Encode(proto::Reply::FromStatus(request_id, status, ok_message));
  replies_.Remember(request_id, reply);
  Publish(topics::Reply(config_.path, request_id), std::move(reply), 1, false);
}

void Daemon::Expire(const BusMessage& message) {
  const std::string id = proto::PeekRequestId(message.payload);
  // A repeat of a command answered in time keeps its first answer.
  if (AnsweredBefore(id)) return;
  spdlog::warn("command{}{} on {} expired before spawnd could act on it; not carried out",
               id.empty() ? "" : " ", id, message.topic);
  const Status expired = Status::Timeout("the command expired before spawnd could act on it");
  ExpiredJob(message, expired);
  Answer(id, expired, "");
}

void Daemon::ExpiredJob(const BusMessage& message, const Status& expired) {
  if (!job_tracker_) return;
  const std::string& t = message.topic;
  std::string kind, service;
  if (t == topics::ConfigSlot(config_.path)) {
    kind = job_kind::kDeploy;
    if (auto request = proto::DecodeDeployRequest(message.payload); request.ok())
      service = request->config.name;
  } else {
    kind = t == topics::RestartSlot(config_.path)    ? job_kind::kRestart
           : t == topics::StopSlot(config_.path)     ? job_kind::kStop
           : t == topics::RollbackSlot(config_.path) ? job_kind::kRollback
                                                     : "";
    if (auto command = proto::DecodeServiceCommand(message.payload); command.ok())
      service = command->service;
  }
  if (kind.empty()) return;  // not a job (slot/meta)
  JobAnswered(OpenJob(proto::PeekRequestId(message.payload), kind, service), expired);
}

void Daemon::HandleDeploy(const BusMessage& message) {
  auto request = proto::DecodeDeployRequest(message.payload);
  if (!request.ok()) {
    const std::string id = proto::PeekRequestId(message.payload);
    if (AnsweredBefore(id)) return;
    spdlog::warn("config slot: refused a malformed deploy{}{}: {}", id.empty() ? "" : " ", id,
                 request.status().message());
    Answer(id, request.status(), "");
    return;
  }
  if (AnsweredBefore(request->request_id)) return;
  const std::string name = request->config.name;
  spdlog::info("deploy of {} requested{}{}", name, request->request_id.empty() ? "" : " by ",
               request->request_id);
  const std::string job = OpenJob(request->request_id, job_kind::kDeploy, name);
  const Status status = supervisor_->Deploy(*request);
  JobAnswered(job, status);
  if (!status.ok()) {
    spdlog::warn("deploy of {} refused: {}", name, status.ToString());
    LogRefusal(name, status);
  }
  Answer(request->request_id, status,
         "service " + name + " accepted by " + config_.alias + "; it is being built and started");
}

void Daemon::HandleCommand(const BusMessage& message, bool restart) {
  // The rollback slot takes the same {RequestId, Service} as stop.
  const bool rollback = message.topic == topics::RollbackSlot(config_.path);
  const char* verb = restart ? "restart" : rollback ? "rollback" : "stop";
  auto command = proto::DecodeServiceCommand(message.payload);
  if (!command.ok()) {
    const std::string id = proto::PeekRequestId(message.payload);
    if (AnsweredBefore(id)) return;
    spdlog::warn("{} slot: refused a malformed command{}{}: {}", verb, id.empty() ? "" : " ", id,
                 command.status().message());
    Answer(id, command.status(), "");
    return;
  }
  if (AnsweredBefore(command->request_id)) return;
  spdlog::info("{} of {} requested{}{}", verb, command->service,
               command->request_id.empty() ? "" : " by ", command->request_id);
  const std::string job = OpenJob(command->request_id,
                                  restart    ? job_kind::kRestart
                                  : rollback ? job_kind::kRollback
                                             : job_kind::kStop,
                                  command->service);
  const Status status = restart        ? supervisor_->Restart(command->service)
                        : rollback     ? supervisor_->Rollback(command->service)
                        : command->now ? supervisor_->StopNow(command->service)
                                       : supervisor_->Stop(command->service);
  JobAnswered(job, status);
  if (!status.ok()) {
    spdlog::warn("{} of {} refused: {}", verb, command->service, status.ToString());
    LogRefusal(command->service, status);
  }
  Answer(command->request_id, status,
         std::string(restart    ? "restarting "
                     : rollback ? "rolling back "
                                : "stopping ") +
             "service " + command->service + " on " + config_.alias);
}

void Daemon::HandleLogs(const BusMessage& message) {
  auto request = proto::DecodeLogsRequest(message.payload);
  if (!request.ok()) {
    const std::string id = proto::PeekRequestId(message.payload);
    spdlog::warn("logs slot: refused a malformed request{}{}: {}", id.empty() ? "" : " ", id,
                 request.status().message());
    Answer(id, request.status(), "");
    return;
  }
  if (request->request_id.empty()) {
    spdlog::warn("logs slot: a request without RequestId has nowhere to be answered");
    return;
  }
  std::vector<proto::LogMessage> own;  // spawnd's lines about the service
  auto it = history_.find(request->service);
  if (it != history_.end()) {
    it->second.ForEachSince(request->since_unix_ns, [&](const LogHistory::Line& line) {
      own.push_back({line.time_unix_ns, config_.alias, request->service, std::string(line.stream),
                     std::string(line.contents)});
    });
  }
  supervisor_->ReadOutput(
      request->service, request->since_unix_ns, kLogLinesKept,
      [this, id = request->request_id, service = request->service,
       own = std::move(own)](Result<std::vector<LogLine>> output) mutable {
        std::vector<proto::LogMessage> lines;
        if (output.ok()) {
          lines.reserve(output->size() + own.size());
          for (LogLine& l : *output)
            lines.push_back(
                {l.time_unix_ns, config_.alias, service, std::move(l.stream), std::move(l.text)});
        } else {
          own.push_back({NowUnixNs(), config_.alias, service, "spawnd",
                         "[ERROR] The engine did not give the container's output: " +
                             output.status().message()});
        }
        // Both are in time order: one merge puts spawnd's lines among the container's.
        const auto middle = lines.insert(lines.end(), std::make_move_iterator(own.begin()),
                                         std::make_move_iterator(own.end()));
        std::inplace_merge(lines.begin(), middle, lines.end(),
                           [](const proto::LogMessage& a, const proto::LogMessage& b) {
                             return a.time_unix_ns < b.time_unix_ns;
                           });
        AnswerLogs(id, lines);
      });
}

void Daemon::AnswerLogs(const std::string& request_id,
                        const std::vector<proto::LogMessage>& lines) {
  const std::string topic = topics::LogsReply(config_.path, request_id);
  proto::LogsReply reply{request_id, {}};
  for (size_t at = 0; at < lines.size(); at += kLogLinesPerReply) {
    const size_t end = std::min(lines.size(), at + kLogLinesPerReply);
    reply.messages.assign(lines.begin() + at, lines.begin() + end);
    Publish(topic, proto::Encode(reply), 1, false);
  }
  reply.messages.clear();
  Publish(topic, proto::Encode(reply), 1, false);  // an empty list ends the history
}

std::string Daemon::OpenJob(const std::string& request_id, const std::string& kind,
                            const std::string& service) {
  return job_tracker_ ? job_tracker_->Opened(request_id, kind, service, NowUnixNs()) : "";
}

void Daemon::JobAnswered(const std::string& job_id, const Status& answer) {
  if (job_tracker_ && !job_id.empty()) job_tracker_->Answered(job_id, answer, NowUnixNs());
}

void Daemon::PublishJobEnd(const proto::Job& job) {
  spdlog::info("job {} ({} of {}) {}: {}", job.id, job.kind, job.service,
               proto::ToString(job.state), job.message);
  BusMessage end{topics::JobEnd(config_.path, job.id), proto::Encode(job), 1, true};
  end.expiry = kJobEndExpiry;
  outbox_.Push(std::move(end));
}

void Daemon::HandleJobs(const BusMessage& message) {
  auto request = proto::DecodeJobsRequest(message.payload);
  if (!request.ok()) {
    const std::string id = proto::PeekRequestId(message.payload);
    spdlog::warn("jobs slot: refused a malformed request{}{}: {}", id.empty() ? "" : " ", id,
                 request.status().message());
    Answer(id, request.status(), "");
    return;
  }
  if (request->request_id.empty()) {
    spdlog::warn("jobs slot: a request without RequestId has nowhere to be answered");
    return;
  }
  const std::string topic = topics::JobsReply(config_.path, request->request_id);
  proto::JobsReply reply{request->request_id, {}};
  for (auto& job : jobs_->List(request->service, request->since_unix_ns)) {
    reply.jobs.push_back(std::move(job));
    if (reply.jobs.size() == kJobsPerReply) {
      Publish(topic, proto::Encode(reply), 1, false);
      reply.jobs.clear();
    }
  }
  if (!reply.jobs.empty()) Publish(topic, proto::Encode(reply), 1, false);
  reply.jobs.clear();
  Publish(topic, proto::Encode(reply), 1, false);  // an empty list ends the listing
}

void Daemon::HandleMeta(const BusMessage& message) {
  auto command = proto::DecodeMetaCommand(message.payload);
  if (!command.ok()) {
    const std::string id = proto::PeekRequestId(message.payload);
    if (AnsweredBefore(id)) return;
    spdlog::warn("meta slot: refused a malformed command{}{}: {}", id.empty() ? "" : " ", id,
                 command.status().message());
    Answer(id, command.status(), "");
    return;
  }
  if (AnsweredBefore(command->request_id)) return;
  const std::string topic = topics::Meta(config_.path, command->key);
  Status status;
  std::string done;
  if (command->remove) {
    auto now = runtime_metadata_->Remove(command->key);
    status = now.status();
    if (now.ok()) {
      // The file's value comes back; a key that is gone is cleared (empty retained payload).
      Publish(topic, now->value_or(""), 1, true);
      done = "metadata " + command->key + " removed on " + config_.alias +
             (now->has_value() ? " (the -m file's value is back)" : "");
    }
  } else {
    status = runtime_metadata_->Set(command->key, command->value);
    if (status.ok()) {
      Publish(topic, command->value, 1, true);
      done = "metadata " + command->key + " set on " + config_.alias;
    }
  }
  spdlog::info("meta {} of {}{}{}: {}", command->remove ? "removal" : "change", command->key,
               command->request_id.empty() ? "" : " by ", command->request_id,
               status.ok() ? done : status.ToString());
  Answer(command->request_id, status, done);
}

}  // namespace spawn
