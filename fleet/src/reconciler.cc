#include "spawn/fleet/reconciler.h"

#include <algorithm>
#include <cstdio>

#include "plan.h"

namespace spawn::fleet {
namespace {

constexpr int64_t kMsToNs = 1000000;

constexpr size_t kAnsweredRemembered = 100000;

int64_t Ns(Duration d) { return d.count() * kMsToNs; }

uint64_t Fnv1a(const std::string& s, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

const char* ToString(ActionKind kind) {
  switch (kind) {
    case ActionKind::kDeploy:
      return "deploy";
    case ActionKind::kStop:
      return "stop";
    case ActionKind::kRollback:
      return "rollback";
  }
  return "?";
}

std::string FleetRequestId(ActionKind kind, const std::string& set, int64_t generation,
                           int64_t replica, const std::string& path, int64_t attempt) {
  std::string key = std::string(ToString(kind));
  for (const std::string& part :
       {set, std::to_string(generation), std::to_string(replica), path, std::to_string(attempt)}) {
    key += '\0';
    key += part;
  }
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx",
                static_cast<unsigned long long>(Fnv1a(key, 0xcbf29ce484222325ULL)),
                static_cast<unsigned long long>(Fnv1a(key, 0x84222325cbf29ce4ULL)));
  return hex;
}

Reconciler::Reconciler(ReconcilerOptions options) : options_(std::move(options)) {}

bool Reconciler::Awaits(const std::string& request_id) const {
  return in_flight_.count(request_id) > 0;
}

void Reconciler::Refuse(const Action& action) {
  auto seen = last_seen_.find(action.path);
  refused_[{action.set, action.replica}][action.path] = seen == last_seen_.end() ? 0 : seen->second;
}

void Reconciler::OnReply(const proto::Reply& reply, int64_t now) {
  auto it = in_flight_.find(reply.request_id);
  if (it == in_flight_.end()) return;
  InFlightAction& f = it->second;
  if (f.action.kind != ActionKind::kDeploy) {
    answered_.insert(reply.request_id);
    answered_order_.push_back(reply.request_id);
    if (answered_order_.size() > kAnsweredRemembered) {
      answered_.erase(answered_order_.front());
      answered_order_.pop_front();
    }
  }
  if (reply.ok) {
    f.replied = true;
    f.replied_unix_ns = now;
    return;
  }
  const Action action = f.action;
  in_flight_.erase(it);
  if (action.kind != ActionKind::kDeploy) return;  // the next pass decides again
  const std::string where = "replica " + std::to_string(action.replica) + " on " + action.path +
                            ": " + std::to_string(reply.code) + " " + reply.message;
  // A config refused as bad is bad everywhere; a replacement in place has nowhere else to go.
  if (reply.code == 400 || action.request.replace) {
    failures_[action.set] = {action.generation, where};
  }
  Refuse(action);  // elsewhere, then: skipped until its next heartbeat
}

void Reconciler::Expire(const FleetView& view, int64_t now) {
  last_seen_.clear();
  for (const auto& [path, sp] : view.spawnpoints) last_seen_[path] = sp.last_seen_unix_ns;
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    const InFlightAction& f = it->second;
    const Action& a = f.action;
    bool drop = false;
    if (!f.replied && now - f.sent_unix_ns > Ns(options_.reply_timeout)) {
      if (a.kind == ActionKind::kDeploy) Refuse(a);  // silence counts as a refusal
      drop = true;
    } else if (f.replied && now - f.replied_unix_ns > Ns(options_.settle_timeout)) {
      drop = true;
    } else {
      const ObservedService* svc = nullptr;
      if (auto sp = view.spawnpoints.find(a.path); sp != view.spawnpoints.end()) {
        if (auto s = sp->second.services.find(a.service); s != sp->second.services.end())
          svc = &s->second;
      }
      switch (a.kind) {
        case ActionKind::kDeploy:
          drop = svc && svc->labels && svc->labels->generation == a.generation &&
                 svc->labels->attempt >= a.attempt;
          break;
        case ActionKind::kStop:
          drop = f.replied && (!svc || svc->state == proto::ServiceState::kZombie);
          break;
        case ActionKind::kRollback:
          drop = f.replied && (!svc || !svc->labels || svc->labels->generation != a.generation);
          break;
      }
    }
    it = drop ? in_flight_.erase(it) : std::next(it);
  }
  // A refusal lasts until the refusing spawnpoint's next heartbeat.
  for (auto it = refused_.begin(); it != refused_.end();) {
    auto& by_path = it->second;
    for (auto p = by_path.begin(); p != by_path.end();) {
      auto sp = view.spawnpoints.find(p->first);
      const bool newer = sp == view.spawnpoints.end() || sp->second.last_seen_unix_ns > p->second;
      p = newer ? by_path.erase(p) : std::next(p);
    }
    it = by_path.empty() ? refused_.erase(it) : std::next(it);
  }
}

Decisions Reconciler::Reconcile(const FleetView& view, int64_t now) {
  Expire(view, now);
  Decisions out;
  for (const auto& [name, spec] : view.sets) {
    SetContext ctx{options_,
                   view,
                   spec,
                   now,
                   in_flight_,
                   refused_,
                   max_attempt_,
                   not_ready_since_,
                   answered_,
                   RolloutState::kRolling,
                   ""};
    RolloutMemory& memory = rollouts_[name];
    if (memory.generation != spec.current.generation)
      memory = {spec.current.generation, RolloutState::kRolling, ""};
    if (auto failure = failures_.find(name); failure != failures_.end()) {
      if (failure->second.first == spec.current.generation &&
          memory.state == RolloutState::kRolling) {
        memory.state = RolloutState::kFailed;
        memory.message = failure->second.second;
      }
      failures_.erase(failure);
    }
    if (auto shared = view.statuses.find(name);
        shared != view.statuses.end() && shared->second.generation == spec.current.generation &&
        shared->second.rollout != RolloutState::kRolling &&
        memory.state == RolloutState::kRolling) {
      memory.state = shared->second.rollout;  // another reconciler decided it
      memory.message = shared->second.message;
    }
    ctx.rollout = memory.state;
    ctx.rollout_message = memory.message;
    SetResult result = PlanSet(ctx);
    memory.state = result.status.rollout;
    memory.message = result.rollout_message;
    for (Action& action : result.actions) {
      if (in_flight_.count(action.request_id)) continue;
      in_flight_[action.request_id] = InFlightAction{action, now, false, 0};
      auto& used = max_attempt_[action.service];
      used = std::max(used, action.attempt);
      out.actions.push_back(std::move(action));
    }
    if (result.cleared) {
      out.cleared.push_back(name);
      published_.erase(name);
      continue;
    }
    auto last = published_.find(name);
    if (last == published_.end() || !(last->second == result.status)) {
      published_[name] = result.status;
      out.statuses.push_back(result.status);
    }
  }
  for (auto it = rollouts_.begin(); it != rollouts_.end();)
    it = view.sets.count(it->first) ? std::next(it) : rollouts_.erase(it);
  return out;
}

}  // namespace spawn::fleet
