// Supervisor: the heart of spawnd. It owns every service's life (building -> starting -> running ->
// exited -> restarting -> ... -> zombie -> purged), the memory and CPU-share pool, persistence and
// re-adoption. design.md's "Service life" is its contract.
//
// Threading: every public method, and the destructor, runs on the EventLoop's owner thread (or
// before the loop runs). Blocking engine calls (create, start, stop, inspect, remove) run on the
// Executor, keyed by service name, so commands about one service apply in order and different
// services never wait for each other; their results, and every engine stream callback, are Posted
// back to the loop. Tasks it hands the Executor use only the engine and the loop, never the
// supervisor itself, so the Executor may finish them after the supervisor is gone (results that
// arrive then are dropped); the engine and the loop must outlive the Executor.
//
// Pool: a reservation is taken when a deploy (or a revival) is accepted and released when the
// service becomes a zombie, its build fails, or it is replaced; counters are signed and checked, so
// free == total - sum of live reservations at every step.
//
// Images: content-addressed (image_recipe.h), built only when the engine lacks one, none at all for
// a service that adds nothing to its base; the disk budget and the removal of unused images are
// the ImageJanitor's (a build past the budget fails with 507).
//
// Confinement: every container runs with no-new-privileges and a pids limit (deploy.yml's, else
// spawnd.yml's), optionally a read-only root filesystem and a numeric user. Credentials reach it
// only through its secrets directory (ServiceSecrets), never through labels, images or the
// container's layer.
//
// Failure: a refused command returns its reason (400/403/404/409/503) and changes nothing. Engine
// failures after acceptance go to the service's log ("[ERROR <code>] ...") and make it a zombie
// (or, with autoRestart, a later retry). A state-store write that fails is logged; the service
// goes on.
//
// Time is given by the EventLoop (restart delays, back-off, zombie expiry), so the logic is tested
// with ManualEventLoop, FakeDockerEngine and InlineExecutor/ManualExecutor without sleeping.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "spawn/common/config.h"
#include "spawn/common/event_loop.h"
#include "spawn/common/status.h"
#include "spawn/engine/docker_engine.h"
#include "spawn/engine/http_prober.h"
#include "spawn/proto/messages.h"

namespace spawn {

class StateStore;
class ServiceSecrets;
class Executor;

// What the heartbeats say about one service.
struct ServiceSnapshot {
  std::string name;
  proto::ServiceState state = proto::ServiceState::kBuilding;
  std::string container_id;
  ServiceConfig config;
  int64_t restarts = 0;
  int64_t exit_code = 0;
  Duration backoff{0};    // current restart delay when backing off, else 0
  bool reserved = false;  // holds a share of the pool (false for zombies, and for an adopted
                          // service that no longer fitted)
  ContainerStats usage;
  // With a healthCheck, while running: "starting", "healthy" or "unhealthy", and the output of the
  // last failing probe. "" otherwise.
  std::string health;
  std::string health_output;
};

struct PoolSnapshot {
  int64_t total_mem_bytes = 0;
  int64_t total_cpu_shares = 0;
  int64_t free_mem_bytes = 0;
  int64_t free_cpu_shares = 0;
  // The disk budget (diskAlloc; 0: none) and what is left of it (ImageKeeper's count).
  int64_t total_disk_bytes = 0;
  int64_t free_disk_bytes = 0;
};

// What the supervisor tells the outside world (the daemon turns these into bus messages).
// Called on the loop thread.
class SupervisorObserver {
 public:
  virtual ~SupervisorObserver() = default;
  // A service's state (or restart count, exit code, backoff) changed: publish its heartbeat now.
  virtual void OnServiceChanged(const ServiceSnapshot& service) = 0;
  // The service is gone for good: clear its retained heartbeat.
  virtual void OnServicePurged(const std::string& name) = 0;
  // One line for the service's log topic: stream "stdout"/"stderr" (container output) or "spawnd"
  // (status lines such as "[INFO] Launching service...", "[SUCCESS] ...", "[ERROR 503] ...", build
  // output).
  virtual void OnServiceLog(const std::string& name, const std::string& stream,
                            const std::string& line) = 0;
  // The supervisor acted on a service by itself, not on a command: `action` "restart" (e.g. it
  // became unhealthy, with autoRestart) or "revert"; `reason` says why, as in the service's log.
  // For the daemon to record (e.g. as a job); the log and heartbeat already say it.
  virtual void OnServiceAction(const std::string& name, const std::string& action,
                               const std::string& reason) {
    (void)name, (void)action, (void)reason;
  }
};

class Supervisor {
 public:
  virtual ~Supervisor() = default;

  // Reads the state store, lists the engine's containers by label, adopts running ones, restarts
  // dead autoRestart ones, turns other dead ones into zombies, removes unknown labelled containers,
  // and starts following engine events, logs and stats. A corrupt or missing state file is reported
  // (log) and recovered from labels; Start fails only if the engine cannot be reached.
  virtual Status Start() = 0;
  // Stops following the engine, timers and streams; containers keep running for the next spawnd.
  // Commands after Shutdown are not supported.
  virtual void Shutdown() = 0;

  // Accepts (reservation taken at once; build and start continue asynchronously) or refuses with
  // 400 bad config, 403 host net/devices not allowed, 409 exists (unless replace), 503 insufficient
  // resources ("Insufficient resources for service. CPU: Have a, Want b. Mem: Have c, Want d").
  virtual Status Deploy(const proto::DeployRequest& request) = 0;
  // Running: restart its container. Zombie: bring it back (503 if its reservation no longer fits).
  // Building: queued until the build ends. Unknown: 404.
  virtual Status Restart(const std::string& name) = 0;
  // No more restarts, stop the container (stopTimeout), zombie for zombiePeriod. Unknown: 404.
  virtual Status Stop(const std::string& name) = 0;
  // Brings back the deployment the last Replace replaced, at once (its kept container, no build);
  // the current one is stopped and removed. 404 unknown, 409 nothing to roll back to, 503 if the
  // previous one no longer fits.
  virtual Status Rollback(const std::string& name) {
    return Status::Unavailable("service " + name + ": this supervisor cannot roll back");
  }
  // As Stop, but the container is killed (KILL) at once, without stopTimeout's TERM grace.
  virtual Status StopNow(const std::string& name) = 0;

  virtual std::vector<ServiceSnapshot> Services() const = 0;
  virtual PoolSnapshot Pool() const = 0;

  // The output of `name`'s current container as the engine keeps it (DockerEngine::ReadLogs: at
  // most `max_lines`, stamped at or after `since_unix_ns`), handed to `done` on the loop thread
  // (at once when there is nothing to read): none for a service without a container, or whose
  // container is gone. spawnd keeps no container output of its own.
  using OutputDone = std::function<void(Result<std::vector<LogLine>>)>;
  virtual void ReadOutput(const std::string& name, int64_t since_unix_ns, size_t max_lines,
                          OutputDone done) {
    (void)name, (void)since_unix_ns, (void)max_lines;
    done(std::vector<LogLine>{});
  }
  // Lines about this spawnpoint a user should act on, for its heartbeat (e.g. that the engine
  // cannot enforce pidsLimit). Each is said once, not per service.
  virtual std::vector<std::string> Warnings() const { return {}; }
};

// Labels on every container spawnd creates; they identify it for re-adoption.
inline constexpr const char* kPathLabel = "io.spawnpoint.path";
inline constexpr const char* kAliasLabel = "io.spawnpoint.alias";
inline constexpr const char* kServiceLabel = "io.spawnpoint.service";
inline constexpr const char* kConfigLabel = "io.spawnpoint.config";  // deploy.yml, for recovery
// Replace keeps the replaced deployment's stopped container for a rollback under its name plus
// this suffix. The engine cannot relabel a container, so the name is what tells adoption it is not
// the live one (and keeps it from removal while its record names it).
inline constexpr const char* kPreviousSuffix = "_previous";

// A factor in [0.9, 1.1) that spreads back-off delays; injected so tests are deterministic. Called
// on the loop thread.
using JitterSource = std::function<double()>;

// The real supervisor. Every reference must outlive it; `executor` is ThreadedExecutor in spawnd.
// `secrets` holds each service's credentials, bind-mounted read-only into its container; it is
// used on the loop thread only. `prober` probes healthCheck.http endpoints (CurlDockerEngine in
// spawnd); null: such checks never become healthy.
std::unique_ptr<Supervisor> MakeSupervisor(const SpawndConfig& config, DockerEngine& engine,
                                           EventLoop& loop, StateStore& store,
                                           ServiceSecrets& secrets, Executor& executor,
                                           SupervisorObserver& observer, JitterSource jitter,
                                           HttpProber* prober = nullptr);

}  // namespace spawn
