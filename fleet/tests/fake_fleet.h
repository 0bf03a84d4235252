// FakeFleet: scripted spawnpoints for the reconciler's tests. Each has a memory and CPU pool,
// services with their configs, and a heartbeat time that moves with the fake clock while it is
// alive. Execute() carries out a reconciler's actions as spawnd would (503 when it does not fit or
// is told to refuse, 409 for a name taken, rollback to the replaced config) and returns the
// replies; a dead spawnpoint answers nothing. View() is what the heartbeats would show.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "spawn/fleet/reconciler.h"
#include "spawn/fleet/view.h"

namespace spawn::fleet {

class FakeFleet {
 public:
  struct Service {
    ServiceConfig config;
    proto::ServiceState state = proto::ServiceState::kRunning;
    std::string health;
    std::optional<ServiceConfig> previous;  // kept by a Replace, for rollback
  };
  struct Host {
    int64_t total_mem = 0, total_cpu = 0;
    bool alive = true;
    bool refuse = false;  // answer every deploy with 503
    int64_t last_seen = 0;
    std::map<std::string, std::string> metadata;
    std::map<std::string, Service> services;
  };

  explicit FakeFleet(std::string base) : base_(std::move(base)) {}

  std::string Add(const std::string& alias, int64_t mem_mib, int64_t cpu,
                  std::map<std::string, std::string> metadata = {}) {
    Host& h = hosts_[Path(alias)];
    h.total_mem = mem_mib;
    h.total_cpu = cpu;
    h.metadata = std::move(metadata);
    h.last_seen = now_;
    return Path(alias);
  }
  std::string Path(const std::string& alias) const { return base_ + "/" + alias; }
  Host& host(const std::string& alias) { return hosts_.at(Path(alias)); }

  void Kill(const std::string& alias) { host(alias).alive = false; }
  void Revive(const std::string& alias) {
    host(alias).alive = true;
    host(alias).last_seen = now_;
  }

  // Moves the clock; the living spawnpoints heartbeat.
  void Advance(Duration d) {
    now_ += d.count() * 1000000;
    for (auto& [path, h] : hosts_) {
      if (h.alive) h.last_seen = now_;
    }
  }
  int64_t now() const { return now_; }

  void Apply(const FleetSpec& spec) { sets_[spec.name] = spec; }
  void Remove(const std::string& name) { sets_.erase(name); }
  void Drain(const std::string& alias, bool on) {
    if (on)
      drained_.insert(Path(alias));
    else
      drained_.erase(Path(alias));
  }
  void Publish(const FleetStatus& status) { statuses_[status.name] = status; }

  FleetView View() const {
    FleetView v;
    for (const auto& [path, h] : hosts_) {
      ObservedSpawnpoint& sp = v.spawnpoints[path];
      sp.path = path;
      sp.has_heartbeat = true;
      sp.online = h.alive;
      sp.last_seen_unix_ns = h.last_seen;
      sp.heartbeat_interval_ms = 1000;
      sp.available_mem_mib = h.total_mem - Used(h, true);
      sp.available_cpu_shares = h.total_cpu - Used(h, false);
      sp.metadata = h.metadata;
      for (const auto& [name, s] : h.services) {
        ObservedService& o = sp.services[name];
        o.name = name;
        o.state = s.state;
        o.health = s.health;
        o.has_health_check = s.config.health_check.has_value();
        o.labels = ReadReplicaLabels(s.config.labels);
      }
    }
    v.sets = sets_;
    v.statuses = statuses_;
    v.drained = drained_;
    return v;
  }

  std::vector<proto::Reply> Execute(const std::vector<Action>& actions) {
    std::vector<proto::Reply> replies;
    for (const Action& a : actions) {
      Host& h = hosts_.at(a.path);
      if (!h.alive) continue;  // a dead spawnpoint answers nothing
      replies.push_back(Carry(h, a));
      replies.back().request_id = a.request_id;
      ++executed_[a.kind];
    }
    return replies;
  }
  int executed(ActionKind kind) const {
    auto it = executed_.find(kind);
    return it == executed_.end() ? 0 : it->second;
  }

  // Live replicas of `set` on living spawnpoints: replica -> paths.
  std::map<int64_t, std::vector<std::string>> Replicas(const std::string& set) const {
    std::map<int64_t, std::vector<std::string>> out;
    for (const auto& [path, h] : hosts_) {
      if (!h.alive) continue;
      for (const auto& [name, s] : h.services) {
        auto labels = ReadReplicaLabels(s.config.labels);
        auto k = ReplicaIndex(set, name);
        if (labels && labels->set == set && k && s.state != proto::ServiceState::kZombie)
          out[*k].push_back(path);
      }
    }
    return out;
  }
  // The generation of each live replica of `set` on living spawnpoints.
  std::map<int64_t, int64_t> Generations(const std::string& set) const {
    std::map<int64_t, int64_t> out;
    for (const auto& [path, h] : hosts_) {
      if (!h.alive) continue;
      for (const auto& [name, s] : h.services) {
        auto labels = ReadReplicaLabels(s.config.labels);
        auto k = ReplicaIndex(set, name);
        if (labels && labels->set == set && k && s.state != proto::ServiceState::kZombie)
          out[*k] = labels->generation;
      }
    }
    return out;
  }

  // What a "broken" config does when it starts: run: [false] dies at once.
  static bool Broken(const ServiceConfig& c) { return !c.run.empty() && c.run[0] == "false"; }

 private:
  static int64_t Used(const Host& h, bool mem) {
    int64_t used = 0;
    for (const auto& [name, s] : h.services) {
      if (s.state == proto::ServiceState::kZombie) continue;
      used += mem ? (s.config.mem_alloc_bytes >> 20) : s.config.cpu_shares;
    }
    return used;
  }

  proto::Reply Carry(Host& h, const Action& a) {
    proto::Reply r;
    auto existing = h.services.find(a.service);
    switch (a.kind) {
      case ActionKind::kDeploy: {
        const ServiceConfig& c = a.request.config;
        const bool exists = existing != h.services.end();
        if (exists && !a.request.replace) return Refused(409, "exists");
        const int64_t freed = exists && existing->second.state != proto::ServiceState::kZombie
                                  ? (existing->second.config.mem_alloc_bytes >> 20)
                                  : 0;
        if (h.refuse || h.total_mem - Used(h, true) + freed < (c.mem_alloc_bytes >> 20))
          return Refused(503, "Insufficient resources");
        Service s;
        s.config = c;
        s.state = Broken(c) ? proto::ServiceState::kZombie : proto::ServiceState::kRunning;
        if (exists) s.previous = existing->second.config;
        h.services[a.service] = s;
        break;
      }
      case ActionKind::kStop:
        if (existing == h.services.end()) return Refused(404, "unknown");
        existing->second.state = proto::ServiceState::kZombie;
        break;
      case ActionKind::kRollback:
        if (existing == h.services.end()) return Refused(404, "unknown");
        if (!existing->second.previous) return Refused(409, "nothing to roll back to");
        existing->second.config = *existing->second.previous;
        existing->second.previous.reset();
        existing->second.state = proto::ServiceState::kRunning;
        break;
    }
    r.ok = true;
    r.code = 200;
    return r;
  }
  static proto::Reply Refused(int code, std::string message) {
    proto::Reply r;
    r.code = code;
    r.message = std::move(message);
    return r;
  }

  std::string base_;
  int64_t now_ = int64_t{1700000000} * 1000000000;
  std::map<std::string, Host> hosts_;
  std::map<std::string, FleetSpec> sets_;
  std::map<std::string, FleetStatus> statuses_;
  std::set<std::string> drained_;
  std::map<ActionKind, int> executed_;
};

// A test's set: `replicas` of 256 MiB, 256 CPU shares.
inline FleetSpec TestSet(const std::string& name, int64_t replicas, int64_t generation = 1) {
  FleetSpec s;
  s.name = name;
  s.replicas = replicas;
  s.current.generation = generation;
  s.current.config.name = name;
  s.current.config.run = {"./svc"};
  s.current.config.mem_alloc_bytes = int64_t{256} << 20;
  s.current.config.cpu_shares = 256;
  return s;
}

}  // namespace spawn::fleet
