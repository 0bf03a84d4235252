// Reconciler: the fleet's decisions, as pure logic. Given the desired sets and what the heartbeats
// show (a FleetView) and the time, it says what to do: deploy replica k of set S at generation G
// to spawnpoint P (attempt A), stop a surplus replica, roll one back; and what each set's status
// is. It sends nothing itself (FleetAgent does, and feeds the replies back through OnReply), reads
// no clock (time is given) and keeps only what it has asked for and not yet seen the outcome of.
//
// The rules (README, "The fleet"):
// - Replica k of a set is the service "<name>-k" whose labels name the set. A service of that name
//   without them is a conflict: reported and left alone, and its spawnpoint is not used for k.
// - A spawnpoint is a candidate while its heartbeat is fresh (three of its intervals), its presence
//   is online, it is not drained, its metadata has every `require` pair, it has the memory and CPU
//   shares free (less what this reconciler has sent there and not yet seen), and (with spread) no
//   replica of the set runs there. Candidates are taken by most free memory, then CPU, then path.
// - A 503 (or any refusal or silence) moves replica k to the next candidate; the refusing one is
//   skipped until its next heartbeat. What fits nowhere stays pending, with the reason.
// - A spawnpoint silent or offline for `rescheduleAfter` loses its replicas to others. Where a
//   replica runs twice (its spawnpoint came back), the copy with the higher attempt stays, ties
//   going to the lower path, and the others stop once it is ready: so every reconciler stops the
//   same copy, the one on the spawnpoint that returned. A drained spawnpoint's copy counts for
//   nothing and stops the same way once its replacement is ready.
// - A config of a new generation replaces the replicas in place one at a time, each ready
//   (running, and healthy when it has a health check) before the next. A new replica that dies,
//   is unhealthy, is refused or is not ready within rollout_timeout fails the rollout: the status
//   says so (retained, so every reconciler stops rolling), and every replica already changed goes
//   back to the previous generation through spawnd's rollback slot (a redeploy of the previous
//   config where the slot has nothing to bring back).
// - RequestIds are made of set, generation, replica, target, attempt and kind: a repeated
//   decision is the same request (answered from spawnd's reply cache), a new placement a new one.
//
// Not thread-safe: one owner calls it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "spawn/common/event_loop.h"
#include "spawn/fleet/view.h"
#include "spawn/fleet/wire.h"
#include "spawn/proto/messages.h"

namespace spawn::fleet {

struct ReconcilerOptions {
  std::string base;
  // An unanswered command is given up after this (and its target skipped, as for a refusal).
  Duration reply_timeout = std::chrono::seconds(30);
  // An accepted deploy that heartbeats do not show yet counts as placed for this long.
  Duration settle_timeout = std::chrono::seconds(60);
  // A new replica of a rollout not ready this long after it was sent fails the rollout.
  Duration rollout_timeout = std::chrono::minutes(5);
};

enum class ActionKind { kDeploy, kStop, kRollback };
const char* ToString(ActionKind kind);

struct Action {
  ActionKind kind = ActionKind::kDeploy;
  std::string set;
  int64_t replica = 0;
  int64_t generation = 0;  // deploy: the one deployed; stop/rollback: the copy's
  std::string path;        // the target spawnpoint
  int64_t attempt = 0;
  std::string request_id;
  std::string service;           // "<set>-<replica>"
  proto::DeployRequest request;  // kDeploy: what to publish on the config slot
};

// What one Reconcile decided.
struct Decisions {
  std::vector<Action> actions;
  std::vector<FleetStatus> statuses;  // sets whose status changed (publish them, retained)
  std::vector<std::string> cleared;   // removed sets with no replica left: clear their topics
};

// The deterministic RequestId of an action: 32 lowercase hex digits.
std::string FleetRequestId(ActionKind kind, const std::string& set, int64_t generation,
                           int64_t replica, const std::string& path, int64_t attempt);

// An action sent and not yet seen through (the reconciler's bookkeeping).
struct InFlightAction {
  Action action;
  int64_t sent_unix_ns = 0;
  bool replied = false;  // accepted; waiting for the heartbeats to show it
  int64_t replied_unix_ns = 0;
};
// (set, replica) -> (path -> that spawnpoint's heartbeat time when it refused)
using Refusals = std::map<std::pair<std::string, int64_t>, std::map<std::string, int64_t>>;

class Reconciler {
 public:
  explicit Reconciler(ReconcilerOptions options);

  // Compares `view` with its sets and decides; remembers the actions it returns as in flight.
  Decisions Reconcile(const FleetView& view, int64_t now_unix_ns);
  // A reply to one of its actions (others are ignored).
  void OnReply(const proto::Reply& reply, int64_t now_unix_ns);
  // Whether `request_id` is an action it waits for.
  bool Awaits(const std::string& request_id) const;
  size_t in_flight() const { return in_flight_.size(); }

 private:
  struct RolloutMemory {
    int64_t generation = 0;
    RolloutState state = RolloutState::kRolling;
    std::string message;
  };

  void Expire(const FleetView& view, int64_t now);
  void Refuse(const Action& action);

  ReconcilerOptions options_;
  std::map<std::string, InFlightAction> in_flight_;  // by RequestId
  Refusals refused_;
  std::map<std::string, int64_t> last_seen_;       // path -> heartbeat time, as of the last pass
  std::map<std::string, RolloutMemory> rollouts_;  // by set
  std::map<std::string, FleetStatus> published_;   // the last status decided, by set
  // Rollout failures seen in replies: set -> (generation, why), picked up by the next pass.
  std::map<std::string, std::pair<int64_t, std::string>> failures_;
  // When a copy of the current generation was first seen not ready ("service@path").
  std::map<std::string, int64_t> not_ready_since_;
  std::map<std::string, int64_t> max_attempt_;  // service name -> highest attempt sent
  // Answered stop and rollback RequestIds, never sent again (the oldest forgotten first).
  std::set<std::string> answered_;
  std::deque<std::string> answered_order_;
};

}  // namespace spawn::fleet
