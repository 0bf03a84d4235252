#include "spawn/gateway/fleet_state.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "spawn/client/format.h"
#include "spawn/proto/messages.h"

namespace spawn::gateway {
namespace {

using json = nlohmann::json;

constexpr std::string_view kServerMarker = "/s.spawnpoint/server/i.spawnpoint/";
constexpr std::string_view kServiceMarker = "/s.spawnpoint/";
constexpr std::string_view kServiceHeartbeat = "signal/heartbeat/";
constexpr std::string_view kMeta = "!meta/";
constexpr std::string_view kLogSuffix = "/i.spawnable/signal/log";

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json HistoryJson(const std::deque<UsagePoint>& points) {
  json out = json::array();
  for (const auto& p : points)
    out.push_back(json::array({p.time_unix_ns / 1000000, p.cpu_percent, p.mem_usage_mib}));
  return out;
}

}  // namespace

// ---- Subscription ----

std::vector<FleetEvent> Subscription::Wait(Duration timeout) {
  MutexLock lock(mu_);
  cv_.WaitFor(lock, timeout,
              [this]() NO_THREAD_SAFETY_ANALYSIS { return closed_ || !queue_.empty(); });
  if (closed_) return {};
  std::vector<FleetEvent> out(std::make_move_iterator(queue_.begin()),
                              std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
}

void Subscription::Close() {
  MutexLock lock(mu_);
  closed_ = true;
  queue_.clear();
  cv_.NotifyAll();
}

bool Subscription::closed() const {
  MutexLock lock(mu_);
  return closed_;
}

void Subscription::Push(FleetEvent event) {
  MutexLock lock(mu_);
  if (closed_) return;
  if (queue_.size() >= max_queued_) {  // too far behind: cut off, it reconnects for a snapshot
    closed_ = true;
    queue_.clear();
  } else {
    queue_.push_back(std::move(event));
  }
  cv_.NotifyAll();
}

// ---- FleetState ----

FleetState::FleetState(std::string base, FleetStateOptions options)
    : base_(std::move(base)), options_(options) {}

std::string FleetState::Filter() const {
  std::string prefix = base_;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix.empty() ? "#" : prefix + "/#";
}

void FleetState::Apply(const BusMessage& m, int64_t now) {
  if (m.topic.ends_with(kLogSuffix)) {  // <path>/s.spawnpoint/<service>/i.spawnable/signal/log
    const std::string service_topic = m.topic.substr(0, m.topic.size() - kLogSuffix.size());
    const size_t at = service_topic.rfind(kServiceMarker);
    if (at == std::string::npos || at == 0) return;
    auto line = proto::DecodeLogMessage(m.payload);
    if (!line.ok()) return;
    MutexLock lock(mu_);
    now_ = std::max(now_, now);
    json j = json::parse(ToJson(*line));
    j["Spawnpoint"] = service_topic.substr(0, at);
    if (j["Service"].get<std::string>().empty())
      j["Service"] = service_topic.substr(at + kServiceMarker.size());
    Emit("log", Dump(j));
    return;
  }
  const size_t at = m.topic.rfind(kServerMarker);  // <path>/s.spawnpoint/server/i.spawnpoint/...
  if (at == std::string::npos || at == 0) return;
  const std::string path = m.topic.substr(0, at);
  const std::string rest = m.topic.substr(at + kServerMarker.size());
  MutexLock lock(mu_);
  now_ = std::max(now_, now);
  auto it = by_path_.find(path);
  if (rest == "signal/heartbeat") {
    if (m.payload.empty()) {
      if (it == by_path_.end()) return;
      const bool was_known = it->second.heartbeat.has_value();
      by_path_.erase(it);
      if (was_known) Emit("spawnpoint-removed", Dump(json{{"Path", path}}));
      return;
    }
    auto hb = proto::DecodeSpawnpointHeartbeat(m.payload);
    if (!hb.ok()) return;
    Known& k = by_path_[path];
    const bool first = !k.heartbeat.has_value();
    k.heartbeat = std::move(*hb);
    k.down = IsDown(InfoOf(path, k), now_, options_.down_after);
    // A new spawnpoint arrives whole (with the services heard before its heartbeat).
    Emit("spawnpoint", SpawnpointJson(path, k, first));
    return;
  }
  if (it == by_path_.end()) {
    if (m.payload.empty()) return;
    it = by_path_.emplace(path, Known{}).first;
  }
  Known& k = it->second;
  const bool announced = k.heartbeat.has_value();
  if (rest == "signal/presence") {
    k.info.online = m.payload != "offline";
    if (!announced) return;
    k.down = IsDown(InfoOf(path, k), now_, options_.down_after);
    Emit("spawnpoint", SpawnpointJson(path, k, false));
  } else if (rest.starts_with(kServiceHeartbeat)) {
    const std::string name = rest.substr(kServiceHeartbeat.size());
    if (m.payload.empty()) {
      const bool existed = k.info.services.erase(name) > 0;
      k.history.erase(name);
      if (existed && announced)
        Emit("service-removed", Dump(json{{"Spawnpoint", path}, {"Name", name}}));
      return;
    }
    auto hb = proto::DecodeServiceHeartbeat(m.payload);
    if (!hb.ok()) return;
    Record(k, *hb, now_);
    k.info.services[name] = std::move(*hb);
    if (!announced) return;
    json j = json::parse(ToJson(k.info.services[name]));
    j["History"] = HistoryJson(k.history[name]);
    Emit("service", Dump(json{{"Spawnpoint", path}, {"Service", j}}));
  } else if (rest.starts_with(kMeta)) {
    const std::string key = rest.substr(kMeta.size());
    if (m.payload.empty()) {
      k.info.metadata.erase(key);
    } else {
      k.info.metadata[key] = m.payload;
    }
    if (announced) Emit("spawnpoint", SpawnpointJson(path, k, false));
  }
}

void FleetState::Record(Known& k, const proto::ServiceHeartbeat& hb, int64_t now) {
  auto& points = k.history[hb.name];
  const int64_t t = hb.time_unix_ns > 0 ? hb.time_unix_ns : now;
  if (!points.empty() && points.back().time_unix_ns >= t) points.pop_back();  // a repeat
  points.push_back({t, hb.cpu_percent, hb.mem_usage_mib});
  const int64_t oldest =
      t - std::chrono::duration_cast<std::chrono::nanoseconds>(options_.history_span).count();
  while (points.size() > options_.history_points ||
         (!points.empty() && points.front().time_unix_ns < oldest)) {
    points.pop_front();
  }
}

void FleetState::Tick(int64_t now) {
  MutexLock lock(mu_);
  now_ = std::max(now_, now);
  for (auto& [path, k] : by_path_) {
    if (!k.heartbeat) continue;
    const bool down = IsDown(InfoOf(path, k), now_, options_.down_after);
    if (down == k.down) continue;
    k.down = down;
    Emit("spawnpoint", SpawnpointJson(path, k, false));
  }
}

SpawnpointInfo FleetState::InfoOf(const std::string& path, const Known& k) const {
  SpawnpointInfo info = k.info;
  info.path = path;
  if (k.heartbeat) {
    info.heartbeat = *k.heartbeat;
    info.last_seen_unix_ns = k.heartbeat->time_unix_ns;
  }
  return info;
}

std::string FleetState::SpawnpointJson(const std::string& path, const Known& k,
                                       bool with_services) const {
  json j = json::parse(ToJson({InfoOf(path, k)}, now_, options_.down_after))[0];
  if (with_services) {
    for (auto& [name, svc] : j["Services"].items()) {
      auto h = k.history.find(name);
      svc["History"] = h == k.history.end() ? json::array() : HistoryJson(h->second);
    }
  } else {
    j.erase("Services");
    j["ServiceNames"] = k.heartbeat ? k.heartbeat->services : std::vector<std::string>{};
  }
  return Dump(j);
}

std::vector<SpawnpointInfo> FleetState::Spawnpoints() const {
  MutexLock lock(mu_);
  std::vector<SpawnpointInfo> out;
  for (const auto& [path, k] : by_path_)
    if (k.heartbeat) out.push_back(InfoOf(path, k));
  return out;
}

std::optional<SpawnpointInfo> FleetState::Spawnpoint(const std::string& path) const {
  MutexLock lock(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end() || !it->second.heartbeat) return std::nullopt;
  return InfoOf(path, it->second);
}

std::vector<UsagePoint> FleetState::History(const std::string& path,
                                            const std::string& service) const {
  MutexLock lock(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return {};
  auto h = it->second.history.find(service);
  if (h == it->second.history.end()) return {};
  return {h->second.begin(), h->second.end()};
}

int64_t FleetState::now_unix_ns() const {
  MutexLock lock(mu_);
  return now_;
}

std::string FleetState::SnapshotJsonLocked() const {
  json sps = json::array();
  for (const auto& [path, k] : by_path_)
    if (k.heartbeat) sps.push_back(json::parse(SpawnpointJson(path, k, true)));
  return Dump(json{{"Base", base_}, {"Now", now_}, {"Spawnpoints", sps}});
}

std::string FleetState::SnapshotJson() const {
  MutexLock lock(mu_);
  return SnapshotJsonLocked();
}

std::shared_ptr<Subscription> FleetState::Subscribe() {
  MutexLock lock(mu_);
  std::shared_ptr<Subscription> sub(new Subscription(options_.max_queued));
  sub->Push({"snapshot", SnapshotJsonLocked()});
  subscribers_.push_back(sub);
  return sub;
}

void FleetState::CloseAll() {
  MutexLock lock(mu_);
  for (auto& weak : subscribers_)
    if (auto sub = weak.lock()) sub->Close();
  subscribers_.clear();
}

size_t FleetState::subscribers() const {
  MutexLock lock(mu_);
  size_t n = 0;
  for (const auto& weak : subscribers_)
    if (auto sub = weak.lock(); sub && !sub->closed()) ++n;
  return n;
}

void FleetState::Emit(std::string name, std::string data) {
  FleetEvent event{std::move(name), std::move(data)};
  std::erase_if(subscribers_, [&](const std::weak_ptr<Subscription>& weak) {
    auto sub = weak.lock();
    if (!sub || sub->closed()) return true;
    sub->Push(event);
    return false;
  });
}

}  // namespace spawn::gateway
