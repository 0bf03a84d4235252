#include "spawn/client/client.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "spawn/bus/paho_bus.h"
#include "spawn/common/files.h"
#include "spawn/common/tar.h"
#include "spawn/common/units.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

// A value arriving on the bus thread, waited for on the caller's. The first Set() counts.
template <typename T>
class Waiter {
 public:
  void Set(T value) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    if (!value_) value_ = std::move(value);
    cv_.NotifyAll();
  }
  // The value, or nullopt if none came within `timeout`.
  std::optional<T> Wait(Duration timeout) EXCLUDES(mu_) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    MutexLock lock(mu_);
    while (!value_ && cv_.WaitUntil(lock, deadline)) {
    }
    return value_;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::optional<T> value_ GUARDED_BY(mu_);
};

// Values arriving on the bus thread, collected for the caller's.
template <typename T>
class Inbox {
 public:
  template <typename It>
  void Add(It first, It last) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    items_.insert(items_.end(), first, last);
  }
  void Add(T item) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    items_.push_back(std::move(item));
  }
  // Everything added so far, in order, for `spare` (empty, and keeping its capacity for the next
  // time: a scan takes thousands of messages in batches without allocating a list each).
  void Swap(std::vector<T>& spare) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    items_.swap(spare);
  }

 private:
  Mutex mu_;
  std::vector<T> items_ GUARDED_BY(mu_);
};

std::string BaseName(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return std::filesystem::path(path).filename().string();
}

std::string Seconds(Duration d) { return FormatDuration(d); }

// "<path>/s.spawnpoint/server/i.spawnpoint/<rest>" -> {path, rest}.
std::optional<std::pair<std::string, std::string>> SplitServerTopic(const std::string& topic) {
  static const std::string kMarker = "/s.spawnpoint/server/i.spawnpoint/";
  const size_t at = topic.rfind(kMarker);
  if (at == std::string::npos || at == 0) return std::nullopt;
  return std::make_pair(topic.substr(0, at), topic.substr(at + kMarker.size()));
}

bool HasWildcard(const std::string& s) { return s.find_first_of("+#") != std::string::npos; }

// How often a scan decodes what arrived so far while the broker is still sending.
constexpr Duration kScanTallyEvery = std::chrono::milliseconds(1);

// The spawnpoints a scan found, from its messages in the order they arrived. Only the heartbeat
// makes a spawnpoint; presence, service heartbeats and metadata complete it; an empty retained
// payload clears what it names.
class ScanTally {
 public:
  explicit ScanTally(proto::HeartbeatDetail detail) : detail_(detail) {}

  void Add(const BusMessage& m) {
    auto split = SplitServerTopic(m.topic);
    if (!split) return;
    const auto& [path, rest] = *split;
    Parts& parts = by_path_[path];
    if (rest == "signal/heartbeat") {
      if (m.payload.empty()) {
        parts.heartbeat.reset();
      } else if (auto hb = proto::DecodeSpawnpointHeartbeat(m.payload); hb.ok()) {
        parts.heartbeat = std::move(*hb);
      }
    } else if (rest == "signal/presence") {
      parts.info.online = m.payload != "offline";
    } else if (rest.starts_with(kServiceHeartbeat)) {
      const std::string name = rest.substr(kServiceHeartbeat.size());
      if (m.payload.empty()) {
        parts.info.services.erase(name);
      } else if (auto hb = proto::DecodeServiceHeartbeat(m.payload, detail_); hb.ok()) {
        parts.info.services[name] = std::move(*hb);
      }
    } else if (rest.starts_with(kMeta)) {
      const std::string key = rest.substr(kMeta.size());
      if (m.payload.empty()) {
        parts.info.metadata.erase(key);
      } else {
        parts.info.metadata[key] = m.payload;
      }
    }
  }

  std::vector<SpawnpointInfo> Found() {
    std::vector<SpawnpointInfo> out;
    for (auto& [path, parts] : by_path_) {
      if (!parts.heartbeat) continue;  // not a spawnpoint (or one whose heartbeat was cleared)
      parts.info.path = path;
      parts.info.heartbeat = std::move(*parts.heartbeat);
      parts.info.last_seen_unix_ns = parts.info.heartbeat.time_unix_ns;
      out.push_back(std::move(parts.info));
    }
    return out;
  }

 private:
  static constexpr std::string_view kServiceHeartbeat = "signal/heartbeat/";
  static constexpr std::string_view kMeta = "!meta/";
  struct Parts {
    std::optional<proto::SpawnpointHeartbeat> heartbeat;
    SpawnpointInfo info;
  };
  proto::HeartbeatDetail detail_;
  std::map<std::string, Parts> by_path_;
};

}  // namespace

Duration DownAfter(const SpawnpointInfo& info, Duration override) {
  if (override > Duration::zero()) return override;
  if (info.heartbeat.heartbeat_interval_ms > 0)
    return 3 * Duration(info.heartbeat.heartbeat_interval_ms);
  return kDefaultDownAfter;
}

bool IsDown(const SpawnpointInfo& info, int64_t now_unix_ns, Duration down_after_override) {
  if (!info.online) return true;
  return now_unix_ns - info.last_seen_unix_ns >
         std::chrono::duration_cast<std::chrono::nanoseconds>(DownAfter(info, down_after_override))
             .count();
}

int64_t ServiceLastSeen(const SpawnpointInfo& info, const proto::ServiceHeartbeat& service) {
  if (info.heartbeat.heartbeat_policy != proto::kReportByException) return service.time_unix_ns;
  return std::max(info.last_seen_unix_ns, service.time_unix_ns);
}

std::string NewRequestId() {
  static Mutex mu;
  static std::mt19937_64 gen GUARDED_BY(mu) = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }();
  uint64_t a, b;
  {
    MutexLock lock(mu);
    a = gen();
    b = gen();
  }
  char id[33];
  std::snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return id;
}

Result<proto::DeployRequest> PrepareDeploy(const std::string& yaml_path,
                                           const std::optional<std::string>& name_override,
                                           bool replace) {
  auto loaded = LoadServiceConfigFile(yaml_path, name_override);
  if (!loaded.ok()) return loaded.status();
  return PrepareDeployOf(*loaded, yaml_path, replace);
}

Result<proto::DeployRequest> PrepareDeployOf(const ServiceConfig& loaded,
                                             const std::string& yaml_path, bool replace) {
  const ServiceConfig* config = &loaded;
  const std::filesystem::path dir = std::filesystem::path(yaml_path).parent_path();
  const char* home_env = std::getenv("HOME");
  const std::string home = home_env ? home_env : "";
  // `~` and `~/...` are the user's home, as in the original Spawnpoint's examples; other relative
  // paths are relative to the YAML's folder.
  auto is_home = [](const std::string& p) { return p == "~" || p.rfind("~/", 0) == 0; };
  auto resolve = [&](const std::string& p) {
    if (is_home(p)) return home + p.substr(1);
    return std::filesystem::path(p).is_absolute() || dir.empty() ? p : (dir / p).string();
  };
  auto check_home = [&](const char* key, const std::string& p) {
    if (!is_home(p) || !home.empty()) return Status::Ok();
    return Status::BadRequest(yaml_path + ": " + key + ": \"" + p +
                              "\" starts with ~ (the home directory) but HOME is not set; expected "
                              "HOME set, or a path that is absolute or relative to the YAML");
  };
  for (const auto& file : config->included_files)
    SPAWN_RETURN_IF_ERROR(check_home("includedFiles", file));
  for (const auto& d : config->included_dirs) SPAWN_RETURN_IF_ERROR(check_home("includedDirs", d));
  SPAWN_RETURN_IF_ERROR(check_home("entity", config->entity));
  TarWriter archive;
  for (const auto& file : config->included_files) {
    if (!std::filesystem::is_regular_file(resolve(file))) {
      return Status::BadRequest(yaml_path + ": includedFiles: \"" + file +
                                "\" is not a file (looked at " + resolve(file) + ")");
    }
    Status added = archive.AddPathFromDisk(resolve(file), BaseName(file));
    if (!added.ok()) return added.WithContext(yaml_path + ": includedFiles: \"" + file + "\"");
  }
  for (const auto& d : config->included_dirs) {
    if (!std::filesystem::is_directory(resolve(d))) {
      return Status::BadRequest(yaml_path + ": includedDirs: \"" + d +
                                "\" is not a directory (looked at " + resolve(d) + ")");
    }
    Status added = archive.AddPathFromDisk(resolve(d), BaseName(d));
    if (!added.ok()) return added.WithContext(yaml_path + ": includedDirs: \"" + d + "\"");
  }
  proto::DeployRequest request;
  request.request_id = NewRequestId();
  request.config = *config;
  if (!config->included_files.empty() || !config->included_dirs.empty())
    request.archive = archive.Finish();
  request.replace = replace;
  if (!config->entity.empty()) {
    auto entity = ReadFile(resolve(config->entity));
    if (!entity.ok()) {
      return Status::BadRequest(yaml_path + ": entity: cannot read \"" + config->entity +
                                "\" (looked at " + resolve(config->entity) + ")");
    }
    request.entity = std::move(*entity);
  }
  if (request.archive.size() > proto::kMaxArchiveBytes) {
    return Status::BadRequest(yaml_path + ": the included files and dirs add up to " +
                              std::to_string(request.archive.size() / kMiB) +
                              " MiB; the limit is " +
                              std::to_string(proto::kMaxArchiveBytes / kMiB) + " MiB");
  }
  return request;
}

// ---- ServiceWatch ----

ServiceWatch::ServiceWatch(LogCallback on_log, HeartbeatCallback on_heartbeat)
    : on_log_(std::move(on_log)), on_heartbeat_(std::move(on_heartbeat)) {
  thread_ = std::thread([this] { Run(); });
}

ServiceWatch::~ServiceWatch() {
  Cancel();
  if (thread_.joinable()) thread_.join();
}

void ServiceWatch::Cancel() {
  std::function<void()> unsubscribe;
  {
    MutexLock lock(mu_);
    cancelled_ = true;
    unsubscribe = std::move(unsubscribe_);
    unsubscribe_ = nullptr;
  }
  cv_.NotifyAll();
  if (unsubscribe) unsubscribe();  // after this no more Push()
}

bool ServiceWatch::cancelled() const {
  MutexLock lock(mu_);
  return cancelled_;
}

std::optional<proto::ServiceHeartbeat> ServiceWatch::Latest() const {
  MutexLock lock(mu_);
  return latest_;
}

void ServiceWatch::Push(Event event) {
  {
    MutexLock lock(mu_);
    if (cancelled_) return;
    if (event.cleared) {
      cleared_ = true;
    } else if (event.heartbeat) {
      cleared_ = false;
      latest_ = *event.heartbeat;
    } else if (event.log && event.log->stream == "spawnd" &&
               event.log->contents.rfind("[ERROR", 0) == 0) {
      last_error_line_ = event.log->contents;
    }
    if (event.log || (event.heartbeat && on_heartbeat_)) queue_.push_back(std::move(event));
  }
  cv_.NotifyAll();
}

void ServiceWatch::Run() {
  MutexLock lock(mu_);
  while (true) {
    while (!cancelled_ && queue_.empty()) cv_.Wait(lock);
    if (cancelled_) return;
    Event event = std::move(queue_.front());
    queue_.pop_front();
    lock.Unlock();
    if (event.log && on_log_) on_log_(*event.log);
    if (event.heartbeat && on_heartbeat_) on_heartbeat_(*event.heartbeat);
    lock.Lock();
  }
}

bool ServiceWatch::Decided(proto::ServiceState state, Status* outcome) const {
  using proto::ServiceState;
  if (cancelled_) {
    *outcome = Status::Internal("interrupted");
    return true;
  }
  if (cleared_) {
    *outcome = Status::NotFound("the service is gone (its heartbeat was cleared)" +
                                (last_error_line_.empty() ? "" : ": " + last_error_line_));
    return true;
  }
  if (!latest_) return false;
  if (latest_->state == state) {
    *outcome = Status::Ok();
    return true;
  }
  if (state == ServiceState::kRunning && latest_->state == ServiceState::kZombie) {
    *outcome = Status::Unavailable("service " + latest_->name +
                                   " did not start: it is a zombie (exit code " +
                                   std::to_string(latest_->exit_code) + ")" +
                                   (last_error_line_.empty() ? "" : ": " + last_error_line_));
    return true;
  }
  return false;
}

Status ServiceWatch::WaitForState(proto::ServiceState state, Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  MutexLock lock(mu_);
  Status outcome;
  while (true) {
    if (Decided(state, &outcome)) return outcome;
    if (!cv_.WaitUntil(lock, deadline)) break;
  }
  if (Decided(state, &outcome)) return outcome;  // as it stood when the time was up
  return Status::Timeout(
      "the service is not " + std::string(proto::ToString(state)) + " after " + Seconds(timeout) +
      (latest_ ? std::string(" (it is ") + proto::ToString(latest_->state) + ")" : "") +
      (last_error_line_.empty() ? "" : "; last error: " + last_error_line_));
}

// ---- SpawnClient ----

SpawnClient::SpawnClient(Bus& bus) : bus_(bus) {
  bus_.SetMessageHandler([this](const BusMessage& m) {
    // Runs on the bus thread: handlers only queue or notify. dispatch_mu_ is held while they run
    // so RemoveRoute() can guarantee a handler is not running once it returns.
    MutexLock dispatch(dispatch_mu_);
    {
      MutexLock lock(mu_);
      for (const auto& [id, route] : routes_) {
        if (TopicMatches(route.filter, m.topic)) dispatching_.push_back(route.handler);
      }
    }
    for (const auto& h : dispatching_) (*h)(m);
    dispatching_.clear();
  });
}

SpawnClient::~SpawnClient() {
  bus_.SetMessageHandler(nullptr);
  Disconnect();
}

void SpawnClient::Disconnect() {
  if (owned_bus_) owned_bus_->Disconnect().IgnoreError();
}

Result<std::unique_ptr<SpawnClient>> SpawnClient::Connect(const BusOptions& options) {
  std::unique_ptr<Bus> bus = MakePahoBus(options);
  auto client = std::make_unique<SpawnClient>(*bus);
  client->owned_bus_ = std::move(bus);
  Status s = client->bus_.Connect();
  if (!s.ok()) return s.WithContext("cannot connect to the broker at " + options.uri);
  return client;
}

int SpawnClient::AddRoute(const std::string& filter, Handler handler) {
  MutexLock lock(mu_);
  routes_[next_route_] = Route{filter, std::make_shared<const Handler>(std::move(handler))};
  return next_route_++;
}

void SpawnClient::RemoveRoute(int id) {
  std::string filter;
  bool still_used = false;
  {
    MutexLock lock(mu_);
    auto it = routes_.find(id);
    if (it == routes_.end()) return;
    filter = it->second.filter;
    routes_.erase(it);
    for (const auto& [other, route] : routes_) still_used = still_used || route.filter == filter;
  }
  { MutexLock wait_for_dispatch(dispatch_mu_); }
  if (!still_used && bus_.IsConnected()) bus_.Unsubscribe(filter).IgnoreError();
}

Result<std::vector<SpawnpointInfo>> SpawnClient::Scan(const std::string& base, Duration timeout,
                                                      proto::HeartbeatDetail detail) {
  std::string prefix = base;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  const std::string filter = prefix.empty() ? "#" : prefix + "/#";
  // Under the base when we can (ACLs that let a user see the base likely let them publish there),
  // else a topic of our own.
  const std::string sentinel =
      (prefix.empty() || HasWildcard(prefix) ? std::string("spawnctl") : prefix + "/s.spawnctl") +
      "/sync/" + NewRequestId();
  Inbox<BusMessage> arrived;  // from the bus thread, not yet tallied
  Waiter<bool> done;
  const int data = AddRoute(filter, [&](const BusMessage& m) {
    if (m.topic != sentinel) arrived.Add(m);
  });
  const int end = AddRoute(sentinel, [&](const BusMessage&) { done.Set(true); });
  ScanTally tally(detail);
  std::vector<BusMessage> taken;
  auto tally_arrived = [&] {
    arrived.Swap(taken);
    for (const BusMessage& m : taken) tally.Add(m);
    taken.clear();
  };
  // The retained messages at QoS 0: a scan reads what is there now, over one connection, and QoS 1
  // would only add an acknowledgement per message (thousands on a big base). The sentinel stays
  // QoS 1: the broker holds it back, never ahead, of the retained messages sent before it.
  Status s = bus_.Subscribe(sentinel, 1);
  if (s.ok()) s = bus_.Subscribe(filter, 0);
  // A broker sends a subscription's retained messages before anything published after it.
  if (s.ok()) s = bus_.Publish({sentinel, "sync", 1, false});
  bool finished = false;
  if (s.ok()) {
    // What arrived is decoded every millisecond meanwhile, on this thread, while the bus thread
    // goes on receiving: the decoding overlaps the broker's sending instead of following it.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!finished && std::chrono::steady_clock::now() < deadline) {
      finished = done.Wait(kScanTallyEvery).has_value();
      tally_arrived();
    }
  }
  RemoveRoute(data);
  RemoveRoute(end);
  if (!s.ok()) return s.WithContext("scan of " + base);
  if (!finished) {
    return Status::Timeout("scan of " + base + ": the broker did not finish sending within " +
                           Seconds(timeout));
  }
  tally_arrived();  // what came between the sentinel and the route's removal
  return tally.Found();
}

Result<proto::Reply> SpawnClient::Command(const std::string& uri, const std::string& slot,
                                          const std::string& payload, const std::string& request_id,
                                          Duration timeout) {
  const std::string reply_topic = topics::Reply(uri, request_id);
  Waiter<proto::Reply> reply;
  const int route = AddRoute(reply_topic, [&](const BusMessage& m) {
    auto decoded = proto::DecodeReply(m.payload);
    if (decoded.ok()) reply.Set(*decoded);
  });
  constexpr Duration kRetryWhileAway = std::chrono::milliseconds(500);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Status failure;  // the last subscribe or publish that failed
  bool subscribed = false, delivered = false;
  std::optional<proto::Reply> got;
  while (!got) {
    if (!subscribed) {
      failure = bus_.Subscribe(reply_topic, 1);
      subscribed = failure.ok();
    }
    if (subscribed) {
      const Status sent = bus_.Publish({slot, payload, 1, false, command_expiry_.load()});
      delivered = delivered || sent.ok();
      failure = sent;
    }
    // A refusal is the broker's answer: sending again would only be refused again.
    if (failure.code() == Code::kForbidden) break;
    const auto left =
        std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
    if (left <= Duration::zero()) break;
    got = reply.Wait(std::min(left, failure.ok() ? resend_interval_.load() : kRetryWhileAway));
  }
  RemoveRoute(route);
  if (!got && failure.code() == Code::kForbidden) return failure;
  if (!got && !delivered && !failure.ok()) return failure;
  if (!got) {
    return Status::Timeout("no answer from the spawnpoint at " + uri + " within " +
                           Seconds(timeout) + "; is it up? (spawnctl scan " + uri + ")");
  }
  return *got;
}

Result<proto::Reply> SpawnClient::Deploy(const std::string& uri, proto::DeployRequest request,
                                         Duration timeout) {
  if (request.request_id.empty()) request.request_id = NewRequestId();
  const std::string id = request.request_id;
  return Command(uri, topics::ConfigSlot(uri), proto::Encode(request), id, timeout);
}

Result<proto::Reply> SpawnClient::Restart(const std::string& uri, const std::string& service,
                                          Duration timeout) {
  const std::string id = NewRequestId();
  return Command(uri, topics::RestartSlot(uri), proto::Encode(proto::ServiceCommand{id, service}),
                 id, timeout);
}

Result<proto::Reply> SpawnClient::Rollback(const std::string& uri, const std::string& service,
                                           Duration timeout) {
  const std::string id = NewRequestId();
  return Command(uri, topics::RollbackSlot(uri), proto::Encode(proto::ServiceCommand{id, service}),
                 id, timeout);
}

Result<proto::Reply> SpawnClient::Stop(const std::string& uri, const std::string& service,
                                       Duration timeout, bool now) {
  const std::string id = NewRequestId();
  return Command(uri, topics::StopSlot(uri), proto::Encode(proto::ServiceCommand{id, service, now}),
                 id, timeout);
}

Result<proto::Reply> SpawnClient::Meta(const std::string& uri, const std::string& key,
                                       const std::string& value, bool remove, Duration timeout) {
  const std::string id = NewRequestId();
  return Command(uri, topics::MetaSlot(uri),
                 proto::Encode(proto::MetaCommand{id, key, value, remove}), id, timeout);
}

Result<std::vector<proto::Job>> SpawnClient::Jobs(const std::string& uri,
                                                  const std::string& service, int64_t since_unix_ns,
                                                  Duration timeout) {
  const std::string id = NewRequestId();
  const std::string topic = topics::JobsReply(uri, id);
  const std::string refusal_topic = topics::Reply(uri, id);
  Inbox<proto::Job> jobs;
  Waiter<Status> done;
  const int route = AddRoute(topic, [&](const BusMessage& m) {
    auto reply = proto::DecodeJobsReply(m.payload);
    if (!reply.ok()) return;
    if (reply->jobs.empty()) {
      done.Set(Status::Ok());
      return;
    }
    jobs.Add(reply->jobs.begin(), reply->jobs.end());
  });
  // spawnd answers a request it cannot read with a Reply on the reply topic.
  const int refusals = AddRoute(refusal_topic, [&](const BusMessage& m) {
    if (auto refused = proto::DecodeReply(m.payload); refused.ok() && !refused->ok)
      done.Set(Status(static_cast<Code>(refused->code), refused->message));
  });
  Status s = bus_.Subscribe(topic, 1);
  if (s.ok()) s = bus_.Subscribe(refusal_topic, 1);
  if (s.ok()) {
    s = bus_.Publish({topics::JobsSlot(uri),
                      proto::Encode(proto::JobsRequest{id, service, since_unix_ns}), 1, false,
                      std::chrono::ceil<std::chrono::seconds>(timeout)});
  }
  std::optional<Status> finished = s.ok() ? done.Wait(timeout) : std::nullopt;
  RemoveRoute(route);
  RemoveRoute(refusals);
  if (!s.ok()) return s;
  if (!finished) {
    return Status::Timeout("no job list from the spawnpoint at " + uri + " within " +
                           Seconds(timeout) + "; is it up? (spawnctl scan " + uri + ")");
  }
  if (!finished->ok()) return *finished;
  std::vector<proto::Job> gathered;
  jobs.Swap(gathered);
  return gathered;
}

Result<proto::Job> SpawnClient::WaitForJob(const std::string& uri, const std::string& id,
                                           Duration timeout) {
  const std::string topic = topics::JobEnd(uri, id);
  Waiter<proto::Job> ended;
  const int route = AddRoute(topic, [&](const BusMessage& m) {
    auto job = proto::DecodeJob(m.payload);
    if (job.ok() && job->ended()) ended.Set(*job);
  });
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::max(Duration::zero(), std::chrono::duration_cast<Duration>(
                                          deadline - std::chrono::steady_clock::now()));
  };
  Status s = bus_.Subscribe(topic, 1);
  std::optional<proto::Job> got;
  if (s.ok()) {
    // Subscribed first, so an end published from now on is not missed; the list says whether the
    // job exists, and how it ended when its retained end has expired.
    auto listed = Jobs(uri, "", 0, left());
    if (!listed.ok()) {
      s = listed.status();
    } else {
      auto it = std::find_if(listed->begin(), listed->end(),
                             [&](const proto::Job& j) { return j.id == id; });
      if (it == listed->end()) {
        got = ended.Wait(Duration::zero());  // it may have ended and been dropped meanwhile
        if (!got)
          s = Status::NotFound("no job " + id + " at " + uri + " (spawnctl jobs -u " + uri +
                               " lists them)");
      } else if (it->ended()) {
        got = *it;
      } else {
        got = ended.Wait(left());
      }
    }
  }
  RemoveRoute(route);
  bus_.Unsubscribe(topic).IgnoreError();
  if (got) return *got;
  if (!s.ok()) return s;
  return Status::Timeout("job " + id + " at " + uri + " did not end within " + Seconds(timeout));
}

Result<std::vector<proto::LogMessage>> SpawnClient::Logs(const std::string& uri,
                                                         const std::string& service,
                                                         int64_t since_unix_ns, Duration timeout) {
  const std::string id = NewRequestId();
  const std::string topic = topics::LogsReply(uri, id);
  Inbox<proto::LogMessage> lines;
  Waiter<Status> done;
  const int route = AddRoute(topic, [&](const BusMessage& m) {
    auto reply = proto::DecodeLogsReply(m.payload);
    if (!reply.ok()) {
      // spawnd answers a request it cannot read with a plain Reply on the same id.
      if (auto refused = proto::DecodeReply(m.payload); refused.ok() && !refused->ok)
        done.Set(Status(static_cast<Code>(refused->code), refused->message));
      return;
    }
    if (reply->messages.empty()) {
      done.Set(Status::Ok());
      return;
    }
    lines.Add(reply->messages.begin(), reply->messages.end());
  });
  Status s = bus_.Subscribe(topic, 1);
  if (s.ok()) {
    s = bus_.Publish({topics::LogsSlot(uri),
                      proto::Encode(proto::LogsRequest{id, service, since_unix_ns}), 1, false,
                      std::chrono::ceil<std::chrono::seconds>(timeout)});
  }
  std::optional<Status> finished = s.ok() ? done.Wait(timeout) : std::nullopt;
  RemoveRoute(route);
  if (!s.ok()) return s;
  if (!finished) {
    return Status::Timeout("no log history from the spawnpoint at " + uri + " within " +
                           Seconds(timeout) + "; is it up? (spawnctl scan " + uri + ")");
  }
  if (!finished->ok()) return *finished;
  std::vector<proto::LogMessage> gathered;
  lines.Swap(gathered);
  return gathered;
}

Result<proto::ServiceHeartbeat> SpawnClient::Inspect(const std::string& uri,
                                                     const std::string& service, Duration timeout) {
  auto found = Scan(uri, timeout);
  if (!found.ok()) return found.status();
  for (const auto& sp : *found) {
    if (sp.path != uri) continue;
    auto it = sp.services.find(service);
    if (it != sp.services.end()) return it->second;
    return Status::NotFound("no service named " + service + " at " + uri + " (spawnctl scan " +
                            uri + " lists them)");
  }
  return Status::NotFound("no spawnpoint at " + uri + " (no heartbeat found; spawnctl scan " +
                          "lists the spawnpoints under a base path)");
}

Result<std::unique_ptr<ServiceWatch>> SpawnClient::Watch(
    const std::string& uri, const std::string& service, ServiceWatch::LogCallback on_log,
    ServiceWatch::HeartbeatCallback on_heartbeat) {
  std::unique_ptr<ServiceWatch> watch(new ServiceWatch(std::move(on_log), std::move(on_heartbeat)));
  ServiceWatch* w = watch.get();
  const std::string log_topic = topics::ServiceLog(uri, service);
  const std::string hb_topic = topics::ServiceHeartbeat(uri, service);
  const int logs = AddRoute(log_topic, [w](const BusMessage& m) {
    auto line = proto::DecodeLogMessage(m.payload);
    if (!line.ok()) return;
    ServiceWatch::Event e;
    e.log = std::move(*line);
    w->Push(std::move(e));
  });
  const int beats = AddRoute(hb_topic, [w](const BusMessage& m) {
    ServiceWatch::Event e;
    if (m.payload.empty()) {
      e.cleared = true;
    } else {
      auto hb = proto::DecodeServiceHeartbeat(m.payload);
      if (!hb.ok()) return;
      e.heartbeat = std::move(*hb);
    }
    w->Push(std::move(e));
  });
  {
    MutexLock lock(w->mu_);
    w->unsubscribe_ = [this, logs, beats] {
      RemoveRoute(logs);
      RemoveRoute(beats);
    };
  }
  Status s = bus_.Subscribe(log_topic, 1);
  if (s.ok()) s = bus_.Subscribe(hb_topic, 1);
  if (!s.ok()) return s;  // the watch's destructor removes the routes
  return watch;
}

Result<std::unique_ptr<ServiceWatch>> SpawnClient::Tail(const std::string& uri,
                                                        const std::string& service,
                                                        ServiceWatch::LogCallback on_log) {
  return Watch(uri, service, std::move(on_log));
}

Status SpawnClient::WaitForState(const std::string& uri, const std::string& service,
                                 proto::ServiceState state, Duration timeout) {
  auto watch = Watch(uri, service);
  if (!watch.ok()) return watch.status();
  return (*watch)->WaitForState(state, timeout);
}

}  // namespace spawn
