#include "plan.h"

#include <algorithm>
#include <optional>

namespace spawn::fleet {
namespace {

using proto::ServiceState;

constexpr int64_t kMsToNs = 1000000;

struct Host {
  const ObservedSpawnpoint* sp = nullptr;
  bool fresh = false;    // heartbeat within three intervals, presence online
  bool lost = false;     // silent for rescheduleAfter: its replicas count for nothing
  bool drained = false;  // keeps no replica and gets none
  int64_t free_mem = 0;  // MiB, less what is on its way there
  int64_t free_cpu = 0;
};

// One replica's service on one spawnpoint, or a deploy on its way there (svc null).
struct Copy {
  std::string path;
  int64_t replica = 0;
  int64_t generation = 0;
  int64_t attempt = 0;
  const ObservedService* svc = nullptr;
  bool live = false;     // not a zombie
  bool counted = false;  // holds the replica's place: live, its host neither lost nor drained
  bool ready = false;    // running, and healthy when it has a health check
  std::string state;
};

int64_t MiB(int64_t bytes) { return (bytes + (int64_t{1} << 20) - 1) >> 20; }

bool Ready(const ObservedService& s) {
  return s.state == ServiceState::kRunning && (!s.has_health_check || s.health == "healthy");
}

// The copy that keeps the replica's place: the highest attempt, ties to the lower path.
const Copy* Keeper(const std::vector<Copy>& copies) {
  const Copy* best = nullptr;
  for (const Copy& c : copies) {
    if (!c.counted) continue;
    if (!best || c.attempt > best->attempt || (c.attempt == best->attempt && c.path < best->path)) {
      best = &c;
    }
  }
  return best;
}

std::string Describe(const std::map<std::string, std::string>& pairs) {
  std::string out;
  for (const auto& [k, v] : pairs) out += (out.empty() ? "" : ", ") + k + ": " + v;
  return "{" + out + "}";
}

class Planner {
 public:
  explicit Planner(const SetContext& c)
      : c_(c), spec_(c.spec), name_(c.spec.name), n_(c.spec.removed ? 0 : c.spec.replicas) {}

  SetResult Run();

 private:
  void Observe();
  void DetectFailure();
  std::optional<std::string> Choose(int64_t replica, std::string* reason);
  void Deploy(int64_t replica, const std::string& path, int64_t attempt, bool in_place);
  void Act(ActionKind kind, const Copy& copy);
  bool Answered(const std::string& id) const { return c_.answered.count(id) > 0; }
  int64_t NextAttempt(int64_t replica, int64_t at_least) const;

  const SetContext& c_;
  const FleetSpec& spec_;
  const std::string& name_;
  const int64_t n_;
  SetResult out_;
  std::map<std::string, Host> hosts_;
  std::map<int64_t, std::vector<Copy>> copies_;
  std::map<int64_t, std::set<std::string>> conflicts_;  // replica -> paths
  std::set<int64_t> busy_;                              // replicas with an action in flight
  std::set<std::string> occupied_;                      // paths holding a counted copy
  const Revision* effective_ = nullptr;
  bool frozen_ = false;  // a failed first generation: nothing to go back to
  RolloutState rollout_ = RolloutState::kRolling;
  std::string message_;
};

void Planner::Observe() {
  const Placement& placement = spec_.placement;
  for (const auto& [path, sp] : c_.view.spawnpoints) {
    const int64_t interval = sp.heartbeat_interval_ms > 0 ? sp.heartbeat_interval_ms : 5000;
    const int64_t age = c_.now - sp.last_seen_unix_ns;
    Host h;
    h.sp = &sp;
    h.fresh = sp.has_heartbeat && sp.online && age <= 3 * interval * kMsToNs;
    h.lost = !sp.has_heartbeat || age >= placement.reschedule_after.count() * kMsToNs;
    h.drained = c_.view.drained.count(path) > 0;
    h.free_mem = sp.available_mem_mib;
    h.free_cpu = sp.available_cpu_shares;
    hosts_[path] = h;
  }
  for (const auto& [path, h] : hosts_) {
    for (const auto& [service, svc] : h.sp->services) {
      const auto k = ReplicaIndex(name_, service);
      if (!k) continue;
      if (!svc.labels || svc.labels->set != name_) {
        out_.status.conflicts.push_back(service + " on " + path +
                                        " is not labelled as the set's; left alone");
        conflicts_[*k].insert(path);
        continue;
      }
      Copy c;
      c.path = path;
      c.replica = *k;
      c.generation = svc.labels->generation;
      c.attempt = svc.labels->attempt;
      c.svc = &svc;
      c.live = svc.state != ServiceState::kZombie;
      c.counted = c.live && !h.lost && !h.drained;
      c.ready = Ready(svc);
      c.state = proto::ToString(svc.state);
      if (!svc.health.empty() && svc.state == ServiceState::kRunning) c.state += " " + svc.health;
      copies_[*k].push_back(std::move(c));
    }
  }
  for (const auto& [id, f] : c_.in_flight) {
    const Action& a = f.action;
    if (a.set != name_) continue;
    busy_.insert(a.replica);
    if (a.kind != ActionKind::kDeploy) continue;
    auto& list = copies_[a.replica];
    if (std::any_of(list.begin(), list.end(), [&](const Copy& c) { return c.path == a.path; }))
      continue;  // in place: the copy it replaces holds the place meanwhile
    auto host = hosts_.find(a.path);
    Copy v;
    v.path = a.path;
    v.replica = a.replica;
    v.generation = a.generation;
    v.attempt = a.attempt;
    v.live = true;
    v.counted = host != hosts_.end() && !host->second.lost;
    v.state = "deploying";
    list.push_back(v);
    if (host != hosts_.end()) {
      host->second.free_mem -= MiB(a.request.config.mem_alloc_bytes);
      host->second.free_cpu -= a.request.config.cpu_shares;
    }
  }
  for (const auto& [k, list] : copies_) {
    for (const Copy& c : list) {
      if (c.counted) occupied_.insert(c.path);
    }
  }
}

void Planner::DetectFailure() {
  const int64_t generation = spec_.current.generation;
  std::string why;
  for (int64_t k = 0; k < n_ && why.empty(); ++k) {
    const auto& list = copies_[k];
    const bool held =
        std::any_of(list.begin(), list.end(), [](const Copy& c) { return c.counted; });
    for (const Copy& c : list) {
      if (c.generation != generation || !c.svc || hosts_[c.path].lost) continue;
      const ObservedService& s = *c.svc;
      const std::string key = s.name + "@" + c.path;
      const bool died =
          c.counted && (s.state == ServiceState::kExited || s.state == ServiceState::kRestarting ||
                        s.health == "unhealthy");
      const bool stopped_alone = !held && s.state == ServiceState::kZombie;
      if (died || stopped_alone) {
        why = "replica " + std::to_string(k) + " on " + c.path + " is " + c.state +
              (s.health == "unhealthy" ? " (unhealthy)" : "");
        break;
      }
      if (c.counted && !c.ready) {
        auto since = c_.not_ready_since.emplace(key, c_.now).first;
        if (c_.now - since->second > c_.options.rollout_timeout.count() * kMsToNs) {
          why = "replica " + std::to_string(k) + " on " + c.path + " is not ready after " +
                std::to_string(c_.options.rollout_timeout.count() / 1000) + "s";
          break;
        }
      } else {
        c_.not_ready_since.erase(key);
      }
    }
  }
  if (why.empty()) return;
  rollout_ = RolloutState::kFailed;
  message_ = "rollout of generation " + std::to_string(generation) + " failed: " + why;
}

int64_t Planner::NextAttempt(int64_t replica, int64_t at_least) const {
  int64_t next = at_least;
  if (auto it = copies_.find(replica); it != copies_.end()) {
    for (const Copy& c : it->second) next = std::max(next, c.attempt + 1);
  }
  if (auto it = c_.max_attempt.find(ReplicaName(name_, replica)); it != c_.max_attempt.end())
    next = std::max(next, it->second + 1);
  return next;
}

std::optional<std::string> Planner::Choose(int64_t replica, std::string* reason) {
  const ServiceConfig& config = effective_->config;
  const int64_t mem = MiB(config.mem_alloc_bytes);
  std::vector<const std::pair<const std::string, Host>*> order;
  for (const auto& entry : hosts_) order.push_back(&entry);
  const std::string under = "no spawnpoint under " + c_.options.base;
  const auto refused = c_.refused.find({name_, replica});
  const auto conflicts = conflicts_.find(replica);
  // Each filter in turn; the reason is the first one that leaves nothing.
  const std::vector<std::pair<std::string, std::function<bool(const std::string&, const Host&)>>>
      filters = {
          {under + " is online", [](auto&, const Host& h) { return h.fresh; }},
          {"every spawnpoint under " + c_.options.base + " that is online is drained",
           [](auto&, const Host& h) { return !h.drained; }},
          {under + " has the metadata " + Describe(spec_.placement.require),
           [this](auto&, const Host& h) {
             for (const auto& [k, v] : spec_.placement.require) {
               auto it = h.sp->metadata.find(k);
               if (it == h.sp->metadata.end() || it->second != v) return false;
             }
             return true;
           }},
          {"every spawnpoint under " + c_.options.base + " that may take one runs a replica of " +
               name_ + " already (spread)",
           [this](const std::string& path, auto&) {
             return !spec_.placement.spread || !occupied_.count(path);
           }},
          {under + " has " + std::to_string(mem) + " MiB free",
           [mem](auto&, const Host& h) { return h.free_mem >= mem; }},
          {under + " has " + std::to_string(config.cpu_shares) + " CPU shares free",
           [&config](auto&, const Host& h) { return h.free_cpu >= config.cpu_shares; }},
          {"every spawnpoint with room refused " + ReplicaName(name_, replica) +
               " or has another service of that name; trying again on their next heartbeats",
           [&](const std::string& path, auto&) {
             if (conflicts != conflicts_.end() && conflicts->second.count(path)) return false;
             return refused == c_.refused.end() || !refused->second.count(path);
           }},
      };
  for (const auto& filter : filters) {
    const auto& keep = filter.second;  // (clang 14 captures no structured binding)
    order.erase(std::remove_if(order.begin(), order.end(),
                               [&keep](const auto* e) { return !keep(e->first, e->second); }),
                order.end());
    if (order.empty()) {
      *reason = filter.first;
      return std::nullopt;
    }
  }
  // The one with the most memory free, then the most CPU, then the first path: a total order, so
  // the choice is deterministic. Only the best is wanted, and it is chosen for every replica, so
  // the hosts left are searched rather than sorted.
  return (*std::min_element(order.begin(), order.end(),
                            [](const auto* a, const auto* b) {
                              if (a->second.free_mem != b->second.free_mem)
                                return a->second.free_mem > b->second.free_mem;
                              if (a->second.free_cpu != b->second.free_cpu)
                                return a->second.free_cpu > b->second.free_cpu;
                              return a->first < b->first;
                            }))
      ->first;
}

void Planner::Deploy(int64_t replica, const std::string& path, int64_t attempt, bool in_place) {
  const Revision& rev = *effective_;
  Action a;
  a.kind = ActionKind::kDeploy;
  a.set = name_;
  a.replica = replica;
  a.generation = rev.generation;
  a.path = path;
  a.attempt = attempt;
  a.service = ReplicaName(name_, replica);
  a.request_id = FleetRequestId(a.kind, name_, a.generation, replica, path, attempt);
  a.request.request_id = a.request_id;
  a.request.config = ReplicaConfig(rev.config, name_, replica, rev.generation, attempt);
  if (auto files = c_.view.files.find(name_);
      files != c_.view.files.end() && files->second.generation == spec_.current.generation) {
    const bool current = &rev == &spec_.current;
    a.request.archive = current ? files->second.archive : files->second.previous_archive;
    a.request.entity = current ? files->second.entity : files->second.previous_entity;
  }
  Host& host = hosts_[path];
  a.request.replace = in_place || host.sp->services.count(a.service) > 0;
  host.free_mem -= MiB(rev.config.mem_alloc_bytes);
  host.free_cpu -= rev.config.cpu_shares;
  occupied_.insert(path);
  busy_.insert(replica);
  out_.actions.push_back(std::move(a));
}

void Planner::Act(ActionKind kind, const Copy& copy) {
  Action a;
  a.kind = kind;
  a.set = name_;
  a.replica = copy.replica;
  a.generation = copy.generation;
  a.path = copy.path;
  a.attempt = copy.attempt;
  a.service = ReplicaName(name_, copy.replica);
  a.request_id = FleetRequestId(kind, name_, a.generation, a.replica, a.path, a.attempt);
  if (Answered(a.request_id) || c_.in_flight.count(a.request_id)) return;
  busy_.insert(copy.replica);
  out_.actions.push_back(std::move(a));
}

SetResult Planner::Run() {
  FleetStatus& st = out_.status;
  st.name = name_;
  st.generation = spec_.current.generation;
  st.desired = n_;
  rollout_ = c_.rollout;
  message_ = c_.rollout_message;
  Observe();
  if (rollout_ == RolloutState::kRolling && !spec_.removed) DetectFailure();
  effective_ = &spec_.current;
  if (rollout_ == RolloutState::kFailed) {
    if (spec_.previous)
      effective_ = &*spec_.previous;
    else
      frozen_ = true;
  }
  const int64_t target = effective_->generation;

  // After a failed rollout, every changed replica goes back, through spawnd's rollback slot.
  if (rollout_ == RolloutState::kFailed && spec_.previous) {
    for (int64_t k = 0; k < n_; ++k) {
      for (const Copy& c : copies_[k]) {
        if (c.svc && c.generation == spec_.current.generation && hosts_[c.path].fresh &&
            !busy_.count(k))
          Act(ActionKind::kRollback, c);
      }
    }
  }

  const ServiceConfig& config = effective_->config;
  const bool needs_files =
      !config.included_files.empty() || !config.included_dirs.empty() || !config.entity.empty();
  auto files = c_.view.files.find(name_);
  const bool have_files =
      files != c_.view.files.end() && files->second.generation == spec_.current.generation;

  bool in_progress = !busy_.empty();
  std::vector<int64_t> outdated;
  for (int64_t k = 0; k < n_; ++k) {
    auto& list = copies_[k];
    if (const Copy* keeper = Keeper(list)) {
      st.replicas.push_back({k, keeper->path, keeper->state, keeper->generation});
      if (keeper->ready) {
        ++st.running;
        if (keeper->generation == spec_.current.generation) ++st.updated;
      }
      if (keeper->generation == target && !keeper->ready) in_progress = true;
      if (keeper->generation != target) outdated.push_back(k);
      // Copies elsewhere (a spawnpoint that came back, a drained one) stop once it is ready.
      if (keeper->ready && !busy_.count(k)) {
        const Copy keep = *keeper;
        for (const Copy& c : std::vector<Copy>(list)) {
          if (c.path != keep.path && c.live && c.svc && hosts_[c.path].fresh)
            Act(ActionKind::kStop, c);
        }
      }
      continue;
    }
    in_progress = true;
    std::string reason;
    if (busy_.count(k)) {
      reason = "waiting for the answer to a command";
    } else if (frozen_) {
      reason = message_ + "; apply a fixed config";
    } else if (needs_files && !have_files) {
      reason = "waiting for the set's files (" + name_ + "/files)";
    } else if (auto path = Choose(k, &reason)) {
      Deploy(k, *path, NextAttempt(k, 0), false);
      st.replicas.push_back({k, *path, "deploying", target});
      continue;
    }
    st.pending.push_back({k, reason});
  }
  // Beyond the desired count (scaled down, removed): stop.
  for (const auto& [k, list] : copies_) {
    if (k < n_) continue;
    for (const Copy& c : std::vector<Copy>(list)) {
      if (c.live && c.svc && hosts_[c.path].fresh) Act(ActionKind::kStop, c);
    }
  }
  // A new generation: one replica at a time, in place, once the one before is ready.
  if (!in_progress && !frozen_) {
    for (int64_t k : outdated) {
      const Copy* keeper = Keeper(copies_[k]);
      const Host& host = hosts_[keeper->path];
      if (!host.fresh || busy_.count(k)) continue;
      Deploy(k, keeper->path, NextAttempt(k, keeper->attempt + 1), true);
      break;
    }
  }

  const bool settled = busy_.empty() && out_.actions.empty();
  if (rollout_ == RolloutState::kRolling && settled && st.updated == n_) {
    rollout_ = RolloutState::kDone;
    message_.clear();
  }
  st.rollout = rollout_;
  st.message = message_;
  out_.rollout_message = message_;
  if (rollout_ == RolloutState::kFailed && spec_.previous && settled && outdated.empty() &&
      st.running == n_) {
    st.message += "; rolled back to generation " + std::to_string(spec_.previous->generation);
  }
  if (spec_.removed && settled) {
    bool left = false;
    for (const auto& [k, list] : copies_) {
      for (const Copy& c : list) left = left || (c.live && !hosts_[c.path].lost);
    }
    out_.cleared = !left;
  }
  return std::move(out_);
}

}  // namespace

SetResult PlanSet(const SetContext& ctx) { return Planner(ctx).Run(); }

}  // namespace spawn::fleet
