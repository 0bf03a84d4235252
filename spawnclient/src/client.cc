#include "spawn/client/client.h"

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "spawn/common/tar.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

// Values arriving on the bus thread, waited for on the caller's.
template <typename T>
class Waiter {
 public:
  void Set(T value) {
    std::lock_guard lock(mu_);
    if (!value_) value_ = std::move(value);
    cv_.notify_all();
  }
  std::optional<T> Wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return value_.has_value(); });
    return value_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<T> value_;
};

std::string BaseName(std::string path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  return std::filesystem::path(path).filename().string();
}

}  // namespace

std::string NewRequestId() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  char id[33];
  std::snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(gen()),
                static_cast<unsigned long long>(gen()));
  return id;
}

Result<proto::DeployRequest> PrepareDeploy(const std::string& yaml_path,
                                           const std::optional<std::string>& name_override,
                                           bool replace) {
  auto config = LoadServiceConfigFile(yaml_path, name_override);
  if (!config.ok()) return config.status();
  const std::filesystem::path dir = std::filesystem::path(yaml_path).parent_path();
  auto resolve = [&](const std::string& p) {
    return std::filesystem::path(p).is_absolute() ? p : (dir / p).string();
  };
  TarWriter archive;
  for (const auto& file : config->included_files) {
    if (!std::filesystem::is_regular_file(resolve(file))) {
      return Status::BadRequest(yaml_path + ": includedFiles: \"" + file +
                                "\" is not a file (looked at " + resolve(file) + ")");
    }
    SPAWN_RETURN_IF_ERROR(archive.AddPathFromDisk(resolve(file), BaseName(file)));
  }
  for (const auto& d : config->included_dirs) {
    if (!std::filesystem::is_directory(resolve(d))) {
      return Status::BadRequest(yaml_path + ": includedDirs: \"" + d +
                                "\" is not a directory (looked at " + resolve(d) + ")");
    }
    SPAWN_RETURN_IF_ERROR(archive.AddPathFromDisk(resolve(d), BaseName(d)));
  }
  proto::DeployRequest request;
  request.request_id = NewRequestId();
  request.config = *config;
  request.archive = archive.Finish();
  request.replace = replace;
  if (!config->entity.empty()) {
    std::ifstream in(resolve(config->entity), std::ios::binary);
    if (!in)
      return Status::BadRequest(yaml_path + ": entity: cannot read \"" + config->entity + "\"");
    std::stringstream ss;
    ss << in.rdbuf();
    request.entity = ss.str();
  }
  if (request.archive.size() > proto::kMaxArchiveBytes) {
    return Status::BadRequest(yaml_path + ": the included files and dirs add up to " +
                              std::to_string(request.archive.size() / (1024 * 1024)) +
                              " MiB; the limit is " +
                              std::to_string(proto::kMaxArchiveBytes / (1024 * 1024)) + " MiB");
  }
  return request;
}

SpawnClient::SpawnClient(Bus& bus) : bus_(bus) {
  bus_.SetMessageHandler([this](const BusMessage& m) {
    std::vector<std::function<void(const BusMessage&)>> handlers;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, route] : routes_) {
        if (TopicMatches(route.filter, m.topic)) handlers.push_back(route.handler);
      }
    }
    for (const auto& h : handlers) h(m);
  });
}

SpawnClient::~SpawnClient() { bus_.SetMessageHandler(nullptr); }

int SpawnClient::AddRoute(const std::string& filter,
                          std::function<void(const BusMessage&)> handler) {
  std::lock_guard lock(mu_);
  routes_[next_route_] = Route{filter, std::move(handler)};
  return next_route_++;
}

void SpawnClient::RemoveRoute(int id) {
  std::string filter;
  bool still_used = false;
  {
    std::lock_guard lock(mu_);
    filter = routes_[id].filter;
    routes_.erase(id);
    for (const auto& [other, route] : routes_) still_used = still_used || route.filter == filter;
  }
  if (!still_used) bus_.Unsubscribe(filter).IgnoreError();
}

Result<std::vector<SpawnpointInfo>> SpawnClient::Scan(const std::string& base,
                                                      std::chrono::milliseconds timeout) {
  std::string prefix = base;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  const std::string filter = prefix.empty() ? "#" : prefix + "/#";
  const std::string sentinel = "spawnpoint/scan/" + NewRequestId();
  std::mutex mu;
  std::vector<BusMessage> retained;
  Waiter<bool> done;
  const int data = AddRoute(filter, [&](const BusMessage& m) {
    std::lock_guard lock(mu);
    retained.push_back(m);
  });
  const int end = AddRoute(sentinel, [&](const BusMessage&) { done.Set(true); });
  Status s = bus_.Subscribe(sentinel, 1);
  if (s.ok()) s = bus_.Subscribe(filter, 1);
  // The broker sends a subscription's retained messages before anything published after it.
  if (s.ok()) s = bus_.Publish({sentinel, "end", 1, false});
  const bool finished = s.ok() && done.Wait(timeout).has_value();
  RemoveRoute(data);
  RemoveRoute(end);
  if (!s.ok()) return s;
  if (!finished)
    return Status::Timeout("the broker did not finish sending retained heartbeats in time");

  std::map<std::string, SpawnpointInfo> found;
  std::lock_guard lock(mu);
  for (const auto& m : retained) {
    if (auto path = topics::PathOfHeartbeat(m.topic)) {
      auto hb = proto::DecodeSpawnpointHeartbeat(m.payload);
      if (!hb.ok()) continue;
      found[*path].path = *path;
      found[*path].heartbeat = *hb;
    }
  }
  for (auto& [path, info] : found) {
    const std::string service_prefix = topics::ServiceHeartbeat(path, "");
    const std::string meta_prefix = topics::Meta(path, "");
    for (const auto& m : retained) {
      if (m.topic == topics::Presence(path)) info.presence_online = m.payload != "offline";
      if (m.topic.rfind(service_prefix, 0) == 0 && !m.payload.empty()) {
        auto hb = proto::DecodeServiceHeartbeat(m.payload);
        if (hb.ok()) info.services[hb->name] = *hb;
      }
      if (m.topic.rfind(meta_prefix, 0) == 0)
        info.metadata[m.topic.substr(meta_prefix.size())] = m.payload;
    }
  }
  std::vector<SpawnpointInfo> out;
  for (auto& [path, info] : found) out.push_back(std::move(info));
  return out;
}

Result<proto::Reply> SpawnClient::Command(const std::string& uri, const std::string& slot,
                                          const std::string& payload, const std::string& request_id,
                                          std::chrono::milliseconds timeout) {
  const std::string reply_topic = topics::Reply(uri, request_id);
  Waiter<proto::Reply> reply;
  const int route = AddRoute(reply_topic, [&](const BusMessage& m) {
    auto decoded = proto::DecodeReply(m.payload);
    if (decoded.ok()) reply.Set(*decoded);
  });
  Status s = bus_.Subscribe(reply_topic, 1);
  if (s.ok()) s = bus_.Publish({slot, payload, 1, false});
  std::optional<proto::Reply> got = s.ok() ? reply.Wait(timeout) : std::nullopt;
  RemoveRoute(route);
  if (!s.ok()) return s;
  if (!got) {
    return Status::Timeout("no answer from the spawnpoint at " + uri + " within " +
                           std::to_string(timeout.count() / 1000) +
                           "s; is it running? (spawnctl scan " + uri + ")");
  }
  return *got;
}

Result<proto::Reply> SpawnClient::Deploy(const std::string& uri, proto::DeployRequest request,
                                         std::chrono::milliseconds timeout) {
  if (request.request_id.empty()) request.request_id = NewRequestId();
  return Command(uri, topics::ConfigSlot(uri), proto::Encode(request), request.request_id, timeout);
}

Result<proto::Reply> SpawnClient::Restart(const std::string& uri, const std::string& service,
                                          std::chrono::milliseconds timeout) {
  const std::string id = NewRequestId();
  return Command(uri, topics::RestartSlot(uri), proto::Encode(proto::ServiceCommand{id, service}),
                 id, timeout);
}

Result<proto::Reply> SpawnClient::Stop(const std::string& uri, const std::string& service,
                                       std::chrono::milliseconds timeout) {
  const std::string id = NewRequestId();
  return Command(uri, topics::StopSlot(uri), proto::Encode(proto::ServiceCommand{id, service}), id,
                 timeout);
}

Result<std::vector<proto::LogMessage>> SpawnClient::Logs(const std::string& uri,
                                                         const std::string& service,
                                                         int64_t since_unix_ns,
                                                         std::chrono::milliseconds timeout) {
  const std::string id = NewRequestId();
  const std::string topic = topics::LogsReply(uri, id);
  std::mutex mu;
  std::vector<proto::LogMessage> lines;
  Waiter<bool> done;
  const int route = AddRoute(topic, [&](const BusMessage& m) {
    auto reply = proto::DecodeLogsReply(m.payload);
    if (!reply.ok()) return;
    if (reply->messages.empty()) {
      done.Set(true);
      return;
    }
    std::lock_guard lock(mu);
    lines.insert(lines.end(), reply->messages.begin(), reply->messages.end());
  });
  Status s = bus_.Subscribe(topic, 1);
  if (s.ok())
    s = bus_.Publish({topics::LogsSlot(uri),
                      proto::Encode(proto::LogsRequest{id, service, since_unix_ns}), 1, false});
  const bool finished = s.ok() && done.Wait(timeout).has_value();
  RemoveRoute(route);
  if (!s.ok()) return s;
  if (!finished)
    return Status::Timeout("no log history from the spawnpoint at " + uri + " in time");
  std::lock_guard lock(mu);
  return lines;
}

Result<proto::ServiceHeartbeat> SpawnClient::Inspect(const std::string& uri,
                                                     const std::string& service,
                                                     std::chrono::milliseconds timeout) {
  auto found = Scan(uri, timeout);
  if (!found.ok()) return found.status();
  for (const auto& sp : *found) {
    if (sp.path != uri) continue;
    auto it = sp.services.find(service);
    if (it != sp.services.end()) return it->second;
  }
  return Status::NotFound("no service named " + service + " at " + uri + " (spawnctl scan " + uri +
                          " lists them)");
}

namespace {
class RouteWatch final : public SpawnClient::Watch {
 public:
  explicit RouteWatch(std::function<void()> undo) : undo_(std::move(undo)) {}
  ~RouteWatch() override { undo_(); }

 private:
  std::function<void()> undo_;
};
}  // namespace

Result<std::unique_ptr<SpawnClient::Watch>> SpawnClient::Follow(const std::string& uri,
                                                                const std::string& service,
                                                                LogHandler on_log,
                                                                HeartbeatHandler on_heartbeat) {
  const std::string log_topic = topics::ServiceLog(uri, service);
  const std::string hb_topic = topics::ServiceHeartbeat(uri, service);
  const int logs = AddRoute(log_topic, [on_log](const BusMessage& m) {
    auto line = proto::DecodeLogMessage(m.payload);
    if (line.ok() && on_log) on_log(*line);
  });
  const int beats = AddRoute(hb_topic, [on_heartbeat](const BusMessage& m) {
    if (m.payload.empty()) return;
    auto hb = proto::DecodeServiceHeartbeat(m.payload);
    if (hb.ok() && on_heartbeat) on_heartbeat(*hb);
  });
  auto undo = [this, logs, beats] {
    RemoveRoute(logs);
    RemoveRoute(beats);
  };
  Status s = bus_.Subscribe(log_topic, 1);
  if (s.ok()) s = bus_.Subscribe(hb_topic, 1);
  if (!s.ok()) {
    undo();
    return s;
  }
  return std::unique_ptr<Watch>(std::make_unique<RouteWatch>(undo));
}

}  // namespace spawn
