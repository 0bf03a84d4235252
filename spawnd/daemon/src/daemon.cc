#include "spawn/daemon/daemon.h"

#include <spdlog/spdlog.h>

#include "spawn/common/units.h"
#include "spawn/proto/topics.h"

namespace spawn {

Outbox::Outbox(Bus& bus, size_t capacity)
    : bus_(bus), capacity_(capacity), thread_([this] { Loop(); }) {}

Outbox::~Outbox() {
  Flush(std::chrono::seconds(2));
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Outbox::Push(BusMessage message) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= capacity_) {
      queue_.pop_front();  // the oldest goes: fresh state matters more than stale
      ++dropped_;
    }
    queue_.push_back(std::move(message));
  }
  wake_.notify_one();
}

bool Outbox::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return drained_.wait_for(lock, timeout, [this] { return queue_.empty() && !busy_; });
}

size_t Outbox::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void Outbox::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;
    BusMessage message = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    Status status = bus_.Publish(message);
    if (!status.ok())
      spdlog::debug("bus: not published to {}: {}", message.topic, status.message());
    lock.lock();
    busy_ = false;
    if (queue_.empty()) drained_.notify_all();
  }
}

Daemon::Daemon(SpawndConfig config, std::map<std::string, std::string> metadata, Bus& bus,
               EventLoop& loop)
    : config_(std::move(config)),
      metadata_(std::move(metadata)),
      bus_(bus),
      loop_(loop),
      outbox_(bus, 100000) {}

void Daemon::InstallHandlers() {
  bus_.SetMessageHandler(
      [this](const BusMessage& m) { loop_.Post([this, m] { HandleMessage(m); }); });
  bus_.SetConnectionHandler([this](bool up) {
    loop_.Post([this, up] {
      if (!started_) return;
      if (!up) {
        lost_connection_ = true;
        spdlog::warn("bus: disconnected; reconnecting");
      } else if (lost_connection_) {
        lost_connection_ = false;
        spdlog::info("bus: connected again; republishing presence, metadata and heartbeats");
        PublishPresenceAndMetadata();
        PublishHeartbeats();
      }
    });
  });
}

Status Daemon::Start() {
  for (const auto& slot : {topics::ConfigSlot(config_.path), topics::RestartSlot(config_.path),
                           topics::StopSlot(config_.path), topics::LogsSlot(config_.path)}) {
    SPAWN_RETURN_IF_ERROR(bus_.Subscribe(slot, 1));
  }
  started_ = true;
  PublishPresenceAndMetadata();
  PublishHeartbeats();
  ScheduleHeartbeat();
  spdlog::info("spawnd {} serving {} ({})", SPAWN_VERSION, config_.path, config_.alias);
  return Status::Ok();
}

void Daemon::Shutdown() {
  if (heartbeat_timer_) loop_.Cancel(heartbeat_timer_);
  heartbeat_timer_ = 0;
  // The broker drops the will on a clean disconnect, so say it ourselves.
  Publish(topics::Presence(config_.path), "offline", 1, true);
  if (!outbox_.Flush(std::chrono::seconds(5)))
    spdlog::warn("bus: some messages were not sent before exit");
}

void Daemon::ScheduleHeartbeat() {
  heartbeat_timer_ = loop_.RunAfter(config_.heartbeat_interval, [this] {
    PublishHeartbeats();
    ScheduleHeartbeat();
  });
}

void Daemon::Publish(const std::string& topic, std::string payload, int qos, bool retained) {
  outbox_.Push(BusMessage{topic, std::move(payload), qos, retained});
}

void Daemon::PublishPresenceAndMetadata() {
  Publish(topics::Presence(config_.path), "online", 1, true);
  for (const auto& [key, value] : metadata_)
    Publish(topics::Meta(config_.path, key), value, 1, true);
}

void Daemon::PublishHeartbeats() {
  if (!supervisor_) return;
  const PoolSnapshot pool = supervisor_->Pool();
  proto::SpawnpointHeartbeat hb;
  hb.alias = config_.alias;
  hb.time_unix_ns = ToUnixNanos(loop_.WallNow());
  hb.version = SPAWN_VERSION;
  hb.total_mem_mib = pool.total_mem_bytes / kMiB;
  hb.total_cpu_shares = pool.total_cpu_shares;
  hb.available_mem_mib = pool.free_mem_bytes / kMiB;
  hb.available_cpu_shares = pool.free_cpu_shares;
  const auto services = supervisor_->Services();
  for (const auto& s : services) hb.services.push_back(s.name);
  Publish(topics::Heartbeat(config_.path), proto::Encode(hb), 1, true);
  for (const auto& s : services) PublishServiceHeartbeat(s);
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
  Publish(topics::ServiceHeartbeat(config_.path, s.name), proto::Encode(hb), 1, true);
}

void Daemon::OnServiceChanged(const ServiceSnapshot& service) {
  if (!started_) return;  // Start() publishes everything at once
  PublishServiceHeartbeat(service);
  PublishHeartbeats();  // the pool and the list of services changed with it
}

void Daemon::OnServicePurged(const std::string& name) {
  Publish(topics::ServiceHeartbeat(config_.path, name), "", 1,
          true);  // clears the retained heartbeat
  history_.erase(name);
  if (started_) PublishHeartbeats();
}

void Daemon::OnServiceLog(const std::string& name, const std::string& stream,
                          const std::string& line) {
  proto::LogMessage m{ToUnixNanos(loop_.WallNow()), config_.alias, name, stream, line};
  Publish(topics::ServiceLog(config_.path, name), proto::Encode(m), 1, false);
  auto& kept = history_[name];
  kept.push_back(std::move(m));
  if (kept.size() > kLogLinesKept) kept.pop_front();
}

void Daemon::HandleMessage(const BusMessage& message) {
  if (!supervisor_) return;
  if (message.topic == topics::ConfigSlot(config_.path))
    HandleDeploy(message);
  else if (message.topic == topics::RestartSlot(config_.path))
    HandleCommand(message, true);
  else if (message.topic == topics::StopSlot(config_.path))
    HandleCommand(message, false);
  else if (message.topic == topics::LogsSlot(config_.path))
    HandleLogs(message);
}

bool Daemon::AnsweredBefore(const std::string& request_id) {
  if (request_id.empty()) return false;
  auto it = replies_.find(request_id);
  if (it == replies_.end()) return false;
  spdlog::info("request {} was delivered again; repeating its reply", request_id);
  Publish(topics::Reply(config_.path, request_id), it->second, 1, false);
  return true;
}

void Daemon::Answer(const std::string& request_id, const Status& status,
                    const std::string& ok_message) {
  if (request_id.empty()) {
    if (!status.ok()) spdlog::warn("command without RequestId failed: {}", status.ToString());
    return;
  }
  std::string reply = proto::Encode(proto::Reply::FromStatus(request_id, status, ok_message));
  replies_[request_id] = reply;
  reply_order_.push_back(request_id);
  if (reply_order_.size() > kRepliesRemembered) {
    replies_.erase(reply_order_.front());
    reply_order_.pop_front();
  }
  Publish(topics::Reply(config_.path, request_id), std::move(reply), 1, false);
}

void Daemon::HandleDeploy(const BusMessage& message) {
  auto request = proto::DecodeDeployRequest(message.payload);
  if (!request.ok()) {
    const std::string id = proto::PeekRequestId(message.payload);
    if (AnsweredBefore(id)) return;
    spdlog::warn("config slot: refused a malformed deploy: {}", request.status().message());
    if (id.empty()) return;
    Answer(id, request.status(), "");
    return;
  }
  if (AnsweredBefore(request->request_id)) return;
  const std::string name = request->config.name;
  Status status = supervisor_->Deploy(*request);
  if (!status.ok()) {
    spdlog::warn("deploy of {} refused: {}", name, status.ToString());
    OnServiceLog(name, "spawnd", status.ToString());
  }
  Answer(request->request_id, status, "service " + name + " accepted by " + config_.alias);
}

void Daemon::HandleCommand(const BusMessage& message, bool restart) {
  const char* verb = restart ? "restart" : "stop";
  auto command = proto::DecodeServiceCommand(message.payload);
  if (!command.ok()) {
    const std::string id = proto::PeekRequestId(message.payload);
    if (AnsweredBefore(id)) return;
    spdlog::warn("{} slot: refused a malformed command: {}", verb, command.status().message());
    Answer(id, command.status(), "");
    return;
  }
  if (AnsweredBefore(command->request_id)) return;
  Status status =
      restart ? supervisor_->Restart(command->service) : supervisor_->Stop(command->service);
  if (!status.ok()) OnServiceLog(command->service, "spawnd", status.ToString());
  Answer(command->request_id, status,
         std::string(restart ? "restarting " : "stopping ") + "service " + command->service);
}

void Daemon::HandleLogs(const BusMessage& message) {
  auto request = proto::DecodeLogsRequest(message.payload);
  if (!request.ok()) {
    const std::string id = proto::PeekRequestId(message.payload);
    spdlog::warn("logs slot: refused a malformed request: {}", request.status().message());
    Answer(id, request.status(), "");
    return;
  }
  if (request->request_id.empty()) return;  // nowhere to send the history
  const std::string topic = topics::LogsReply(config_.path, request->request_id);
  proto::LogsReply reply{request->request_id, {}};
  auto it = history_.find(request->service);
  if (it != history_.end()) {
    for (const auto& m : it->second) {
      if (m.time_unix_ns >= request->since_unix_ns) reply.messages.push_back(m);
    }
  }
  if (!reply.messages.empty()) Publish(topic, proto::Encode(reply), 1, false);
  reply.messages.clear();
  Publish(topic, proto::Encode(reply), 1, false);  // an empty list ends the history
}

}  // namespace spawn
