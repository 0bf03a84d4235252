// FleetState: what the gateway knows of the fleet under its base path, built from the bus's
// messages (retained heartbeats, presence, metadata, and live log lines), and the event streams
// the dashboard follows.
//
// It is fed one message at a time (Apply) by FleetFeed, or by a test with scripted messages, and
// given the time (Apply, Tick): it never reads a clock. A spawnpoint is known from its heartbeat
// on; presence, service heartbeats and metadata complete it, and an empty retained payload clears
// what it names, as in SpawnClient::Scan. Whether a spawnpoint is down is judged from its own
// heartbeat (IsDown): services are heartbeated on change only, so a service's Time says nothing of
// its liveness; a service counts as up when it runs on a spawnpoint that is up.
//
// Streams: Subscribe() returns a Subscription whose first event is a snapshot of the whole fleet;
// every later change (a spawnpoint's heartbeat or presence, its down flag flipping at a Tick, a
// service's heartbeat or its removal, a metadata change, a log line) follows as one event, in the
// order applied. A subscriber that falls more than max_queued events behind is cut off (its
// Wait returns closed) rather than let memory grow: an EventSource reconnects and gets a fresh
// snapshot.
//
// Thread-safety: all methods may be called from any thread. Events are queued under the state's
// lock, so every subscriber sees the same order.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "spawn/bus/bus.h"
#include "spawn/client/client.h"
#include "spawn/common/mutex.h"

namespace spawn::gateway {

// One sample of a service's usage, for the dashboard's sparklines.
struct UsagePoint {
  int64_t time_unix_ns = 0;
  double cpu_percent = 0;
  double mem_usage_mib = 0;
};

// One Server-Sent Event: its name ("snapshot", "spawnpoint", "spawnpoint-removed", "service",
// "service-removed", "log") and its data, one line of JSON.
struct FleetEvent {
  std::string name;
  std::string data;
};

struct FleetStateOptions {
  size_t history_points = 120;                       // usage samples kept per service
  Duration history_span = std::chrono::minutes(10);  // and none older than this
  size_t max_queued = 5000;                          // events a subscriber may fall behind
  Duration down_after = Duration::zero();            // IsDown's override; zero: the heartbeat's
};

class FleetState;

// A stream of FleetEvents (see FleetState). Owned by whoever follows it; drop it to stop.
class Subscription {
 public:
  // Up to `timeout` for events; returns those queued (possibly none). Empty with closed() true
  // once the subscriber was cut off or Close()d.
  std::vector<FleetEvent> Wait(Duration timeout) EXCLUDES(mu_);
  // Wakes Wait and ends the stream; callable from any thread.
  void Close() EXCLUDES(mu_);
  bool closed() const EXCLUDES(mu_);

 private:
  friend class FleetState;
  explicit Subscription(size_t max_queued) : max_queued_(max_queued) {}
  void Push(FleetEvent event) EXCLUDES(mu_);

  const size_t max_queued_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<FleetEvent> queue_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
};

class FleetState {
 public:
  explicit FleetState(std::string base, FleetStateOptions options = {});

  const std::string& base() const { return base_; }
  // The MQTT filter that carries everything under the base: "<base>/#" ("#" for an empty base).
  std::string Filter() const;

  // Applies one message received at `now_unix_ns`. Topics that are not a spawnpoint's are ignored,
  // and so are payloads that do not decode.
  void Apply(const BusMessage& m, int64_t now_unix_ns) EXCLUDES(mu_);
  // Re-judges which spawnpoints are down at `now_unix_ns`; those that changed are announced.
  void Tick(int64_t now_unix_ns) EXCLUDES(mu_);

  // The spawnpoints known (those with a heartbeat), sorted by path, as Scan returns them.
  std::vector<SpawnpointInfo> Spawnpoints() const EXCLUDES(mu_);
  // One spawnpoint; nullopt when unknown.
  std::optional<SpawnpointInfo> Spawnpoint(const std::string& path) const EXCLUDES(mu_);
  // A service's usage samples, oldest first (empty when unknown).
  std::vector<UsagePoint> History(const std::string& path, const std::string& service) const
      EXCLUDES(mu_);
  // The time of the last Apply or Tick (0 before any).
  int64_t now_unix_ns() const EXCLUDES(mu_);

  // A new stream, its snapshot already queued.
  std::shared_ptr<Subscription> Subscribe() EXCLUDES(mu_);
  // Closes every stream (the gateway is stopping).
  void CloseAll() EXCLUDES(mu_);
  size_t subscribers() const EXCLUDES(mu_);

  // The snapshot event's data: {"Base", "Now", "Spawnpoints": [scan --json objects, each service
  // with its "History": [[unix ms, cpu %, MiB], ...]]}.
  std::string SnapshotJson() const EXCLUDES(mu_);

 private:
  struct Known {
    std::optional<proto::SpawnpointHeartbeat> heartbeat;
    SpawnpointInfo info;
    std::map<std::string, std::deque<UsagePoint>> history;
    bool down = false;  // as last announced
  };
  SpawnpointInfo InfoOf(const std::string& path, const Known& k) const REQUIRES(mu_);
  std::string SpawnpointJson(const std::string& path, const Known& k, bool with_services) const
      REQUIRES(mu_);
  std::string SnapshotJsonLocked() const REQUIRES(mu_);
  void Emit(std::string name, std::string data) REQUIRES(mu_);
  void Record(Known& k, const proto::ServiceHeartbeat& hb, int64_t now) REQUIRES(mu_);

  const std::string base_;
  const FleetStateOptions options_;
  mutable Mutex mu_;
  std::map<std::string, Known> by_path_ GUARDED_BY(mu_);
  int64_t now_ GUARDED_BY(mu_) = 0;
  std::vector<std::weak_ptr<Subscription>> subscribers_ GUARDED_BY(mu_);
};

}  // namespace spawn::gateway
