// spawnclient: everything spawnctl does, as a C++ API over a Bus.
//
// Each call subscribes to the topics its answer comes on before it publishes, so no answer is
// missed. Calls block the calling thread (never a bus thread) up to their timeout and return a
// Status with a message a person can act on: kTimeout (504) when no spawnpoint answered in time,
// kUnavailable when the broker dropped us, kForbidden when it refused us (the credentials, or
// under MQTT 5 a publish or subscription it does not authorise: said at once, on its
// acknowledgement). A spawnpoint's refusal is not a Status error: it is a proto::Reply with ok ==
// false and its code (400, 403, 404, 409, 503, 500, and 504 for a command that expired before the
// spawnpoint could act on it).
//
// Threading: the bus handler only routes messages to per-call queues and condition variables; user
// callbacks (ServiceWatch) run on the watch's own thread, never on the bus thread. All methods are
// thread-safe and may run concurrently. The Bus must outlive the client.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "spawn/bus/bus.h"
#include "spawn/common/config.h"
#include "spawn/common/event_loop.h"
#include "spawn/common/mutex.h"
#include "spawn/common/status.h"
#include "spawn/proto/messages.h"

namespace spawn {

// One spawnpoint as its retained messages describe it.
struct SpawnpointInfo {
  std::string path;
  proto::SpawnpointHeartbeat heartbeat;
  std::map<std::string, proto::ServiceHeartbeat> services;  // by name; cleared ones left out
  std::map<std::string, std::string> metadata;              // !meta/<key> -> value
  bool online = true;             // false when its retained presence says "offline"
  int64_t last_seen_unix_ns = 0;  // its heartbeat's Time
};

// The design's default heartbeat interval; a spawnpoint silent for three of them is down.
constexpr Duration kDefaultHeartbeatInterval = std::chrono::seconds(5);
constexpr Duration kDefaultDownAfter = 3 * kDefaultHeartbeatInterval;

// How long `info` may be silent before it counts as down: `override` when it is non-zero, else
// three of the heartbeat intervals the spawnpoint announces (the default interval when its
// heartbeat does not say).
Duration DownAfter(const SpawnpointInfo& info, Duration override = Duration::zero());

// True when the spawnpoint said it went offline, or its heartbeat is older than
// DownAfter(info, down_after_override).
bool IsDown(const SpawnpointInfo& info, int64_t now_unix_ns,
            Duration down_after_override = Duration::zero());

// When `service` (one of `info`'s) was last known to be as its heartbeat says. A spawnd that
// reports by exception (HeartbeatPolicy "exception") republishes a service's heartbeat only when
// it changed, and its own periodic heartbeat vouches for the services' retained ones: then the
// later of the spawnpoint heartbeat's Time and the service's. Otherwise (older spawnds, which
// sent every service every interval) the service heartbeat's own Time. Freshness of a service is
// judged by this, never by its Time alone.
int64_t ServiceLastSeen(const SpawnpointInfo& info, const proto::ServiceHeartbeat& service);

// Reads a deploy.yml (LoadServiceConfigFile: the same checks and errors as spawnd) and everything
// it ships: included files and dirs packed into one archive under their base names (paths relative
// to the YAML's folder; `~` and `~/...` are $HOME), and the entity file's contents. A missing or
// unreadable file, or an archive over proto::kMaxArchiveBytes, is a kBadRequest naming the key and
// path; nothing is sent.
Result<proto::DeployRequest> PrepareDeploy(const std::string& yaml_path,
                                           const std::optional<std::string>& name_override,
                                           bool replace);

// PrepareDeploy of a config already read from `yaml_path` (a replicated service's, which
// spawn::fleet parses): the same archive, entity and errors.
Result<proto::DeployRequest> PrepareDeployOf(const ServiceConfig& config,
                                             const std::string& yaml_path, bool replace);

// A fresh random RequestId: 128 bits as 32 lowercase hex digits.
std::string NewRequestId();

class SpawnClient;

// A subscription to one service's log and heartbeat. Made before a command is published (so the
// build's log and the state changes it causes are not missed), kept until destroyed.
// Log lines and heartbeats are queued by the bus handler and handed to the callbacks, in arrival
// order, on the watch's own thread. Destroying the watch (or Cancel) unsubscribes, wakes
// WaitForState and joins that thread; do not destroy it from inside a callback.
class ServiceWatch {
 public:
  using LogCallback = std::function<void(const proto::LogMessage&)>;
  using HeartbeatCallback = std::function<void(const proto::ServiceHeartbeat&)>;

  ~ServiceWatch();
  ServiceWatch(const ServiceWatch&) = delete;
  ServiceWatch& operator=(const ServiceWatch&) = delete;

  // Blocks until the latest heartbeat shows `state` (the current retained one counts), the watch is
  // cancelled, or `timeout`. Errors: kTimeout; kInternal "interrupted" after Cancel(); kNotFound
  // when the service's heartbeat was cleared (purged), and, when waiting for running, kUnavailable
  // if it became a zombie — with spawnd's last [ERROR] line for this service when there was one.
  Status WaitForState(proto::ServiceState state, Duration timeout) EXCLUDES(mu_);
  // The latest heartbeat seen, if any.
  std::optional<proto::ServiceHeartbeat> Latest() const EXCLUDES(mu_);
  // Wakes WaitForState and stops delivering; callable from any thread (not a signal handler).
  void Cancel() EXCLUDES(mu_);
  bool cancelled() const EXCLUDES(mu_);

 private:
  friend class SpawnClient;
  struct Event {
    std::optional<proto::LogMessage> log;
    std::optional<proto::ServiceHeartbeat> heartbeat;  // engaged; cleared => `cleared`
    bool cleared = false;
  };
  ServiceWatch(LogCallback on_log, HeartbeatCallback on_heartbeat);
  void Push(Event event) EXCLUDES(mu_);  // bus thread: queue and notify only
  void Run() EXCLUDES(mu_);              // the callback thread
  // Whether WaitForState(state) is over, and if so with what (in *outcome).
  bool Decided(proto::ServiceState state, Status* outcome) const REQUIRES(mu_);

  LogCallback on_log_;
  HeartbeatCallback on_heartbeat_;
  mutable Mutex mu_;
  CondVar cv_;
  std::function<void()> unsubscribe_ GUARDED_BY(mu_);  // set by SpawnClient
  std::deque<Event> queue_ GUARDED_BY(mu_);
  std::optional<proto::ServiceHeartbeat> latest_ GUARDED_BY(mu_);
  bool cleared_ GUARDED_BY(mu_) = false;
  std::string last_error_line_ GUARDED_BY(mu_);
  bool cancelled_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

class SpawnClient {
 public:
  // `bus` must outlive the client. The client installs the bus's message handler; construct it
  // before bus.Connect() (after also works with PahoBus and FakeBus).
  explicit SpawnClient(Bus& bus);
  ~SpawnClient();
  SpawnClient(const SpawnClient&) = delete;
  SpawnClient& operator=(const SpawnClient&) = delete;

  // A client with its own PahoBus (clean session, random client id), connected. kUnavailable with
  // the broker's reason when the connection fails.
  static Result<std::unique_ptr<SpawnClient>> Connect(const BusOptions& options);
  // Ends the connection now with a clean MQTT DISCONNECT; later calls fail. The destructor does
  // it too; a program about to exit may call this and skip destroying the client (Paho's own
  // teardown waits for its threads in 100 ms steps).
  void Disconnect();

  // Every spawnpoint under `base` (a spawnpoint's path, or a prefix of paths; MQTT wildcards
  // allowed) from the retained messages, in one round trip: a sentinel published after the
  // subscription comes back after the broker delivered every retained message. Sorted by path.
  // An empty vector when nothing matched; kTimeout when the sentinel did not come back. `detail`
  // says whether the services' original configs are decoded (see proto::HeartbeatDetail).
  Result<std::vector<SpawnpointInfo>> Scan(
      const std::string& base, Duration timeout,
      proto::HeartbeatDetail detail = proto::HeartbeatDetail::kWithOriginalConfig);

  // Commands: publish with a fresh RequestId (Deploy keeps the request's one if set) and wait for
  // the reply. Unanswered, the same command (same RequestId) goes out again every
  // resend_interval() until `timeout`: a broker restart can lose a command or its reply, and
  // spawnd carries out a RequestId once, answering a repeat with its first reply. Each copy
  // carries command_expiry(): a spawnpoint that is away gets it only if it is back in time, and
  // spawnd never acts on it later. kTimeout when nothing came back; the publish error when no
  // publish went through; kForbidden at once when the broker refused the command or the
  // subscription to its reply (MQTT 5; a 3.1.1 broker drops a refused command without a word, so
  // that ends in kTimeout).
  Result<proto::Reply> Deploy(const std::string& uri, proto::DeployRequest request,
                              Duration timeout);
  Result<proto::Reply> Restart(const std::string& uri, const std::string& service,
                               Duration timeout);
  // Brings back the deployment the last Replace replaced (409 when there is none).
  Result<proto::Reply> Rollback(const std::string& uri, const std::string& service,
                                Duration timeout);
  // `now`: KILL at once, without the service's stopTimeout of TERM grace.
  Result<proto::Reply> Stop(const std::string& uri, const std::string& service, Duration timeout,
                            bool now = false);
  // Sets (or, with `remove`, drops) one metadata key of the spawnpoint at run time; a key set so
  // wins over spawnd's -m file until it is removed.
  Result<proto::Reply> Meta(const std::string& uri, const std::string& key,
                            const std::string& value, bool remove, Duration timeout);

  // The jobs spawnd keeps (of `service`, or all when it is empty) changed at or after
  // `since_unix_ns` (0: all), least recently changed first, gathered up to the empty list that
  // ends them. Errors as Logs'.
  Result<std::vector<proto::Job>> Jobs(const std::string& uri, const std::string& service,
                                       int64_t since_unix_ns, Duration timeout);
  // Waits until job `id` has ended and returns it (done or failed): from its retained end on
  // signal/job/<id>, or from the job list when that has expired. kNotFound when the spawnpoint
  // has no such job; kTimeout when it did not end within `timeout`.
  Result<proto::Job> WaitForJob(const std::string& uri, const std::string& id, Duration timeout);

  // The log history spawnd keeps for the service, lines at or after `since_unix_ns` (0: all),
  // gathered from the replies up to the empty list that ends them. The request expires with
  // `timeout`: nobody waits for the answer after that.
  Result<std::vector<proto::LogMessage>> Logs(const std::string& uri, const std::string& service,
                                              int64_t since_unix_ns, Duration timeout);

  // The service's current (retained) heartbeat, which carries its original config. kNotFound
  // naming the spawnpoint when there is none.
  Result<proto::ServiceHeartbeat> Inspect(const std::string& uri, const std::string& service,
                                          Duration timeout);

  // Subscribes to the service's log and heartbeat; subscribed when this returns. Callbacks may be
  // empty. See ServiceWatch.
  Result<std::unique_ptr<ServiceWatch>> Watch(const std::string& uri, const std::string& service,
                                              ServiceWatch::LogCallback on_log = {},
                                              ServiceWatch::HeartbeatCallback on_heartbeat = {});
  // Watch() with a log callback only: `spawnctl tail`. Cancel by destroying the handle.
  Result<std::unique_ptr<ServiceWatch>> Tail(const std::string& uri, const std::string& service,
                                             ServiceWatch::LogCallback on_log);
  // Watch() then ServiceWatch::WaitForState().
  Status WaitForState(const std::string& uri, const std::string& service, proto::ServiceState state,
                      Duration timeout);

  Duration resend_interval() const { return resend_interval_.load(); }
  void set_resend_interval(Duration interval) { resend_interval_ = interval; }
  // How long a command may wait for a spawnpoint that is away (0: no limit); 10 minutes unless set.
  std::chrono::seconds command_expiry() const { return command_expiry_.load(); }
  void set_command_expiry(std::chrono::seconds expiry) { command_expiry_ = expiry; }

 private:
  using Handler = std::function<void(const BusMessage&)>;
  int AddRoute(const std::string& filter, Handler handler) EXCLUDES(mu_);
  void RemoveRoute(int id) EXCLUDES(mu_, dispatch_mu_);
  Result<proto::Reply> Command(const std::string& uri, const std::string& slot,
                               const std::string& payload, const std::string& request_id,
                               Duration timeout);

  struct Route {
    std::string filter;
    std::shared_ptr<const Handler> handler;  // shared with a dispatch that runs it meanwhile
  };
  Bus& bus_;
  std::unique_ptr<Bus> owned_bus_;  // set by Connect(): the client owns its bus
  Mutex dispatch_mu_;               // held while the bus handler runs routes (see RemoveRoute)
  // The handlers one message goes to; kept between messages so that a scan's thousands of them
  // do not allocate a list each.
  std::vector<std::shared_ptr<const Handler>> dispatching_ GUARDED_BY(dispatch_mu_);
  Mutex mu_;  // taken inside dispatch_mu_ when both are held
  std::map<int, Route> routes_ GUARDED_BY(mu_);
  int next_route_ GUARDED_BY(mu_) = 1;
  std::atomic<Duration> resend_interval_{std::chrono::seconds(5)};
  std::atomic<std::chrono::seconds> command_expiry_{std::chrono::minutes(10)};
};

}  // namespace spawn
