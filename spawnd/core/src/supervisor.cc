#include "spawn/core/supervisor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "health_monitor.h"
#include "image_janitor.h"
#include "spawn/common/files.h"
#include "spawn/common/tar.h"
#include "spawn/common/units.h"
#include "spawn/core/executor.h"
#include "spawn/core/image_recipe.h"
#include "spawn/core/service_secrets.h"
#include "spawn/core/state_store.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using proto::ServiceState;
using std::chrono::duration_cast;
using std::chrono::seconds;

// A service that dies within this long of its start counts as failing; one that stays up this long
// has its failures forgotten.
constexpr auto kStableUptime = std::chrono::minutes(10);
// The engine refuses containers with less memory than this.
constexpr int64_t kMinMemory = 6 * kMiB;
// Executor key for cancelling streams (which may join a thread): off the loop, off the services'.
constexpr const char* kReaperKey = "spawnd.reaper";
// The files of a service's secrets directory (ServiceSecrets), at kSecretsDir in its container.
constexpr const char* kEntityFile = "entity.key";
constexpr const char* kPasswordFile = "broker.password";
constexpr const char* kCaFile = "ca.pem";

std::string Mib(int64_t bytes) { return std::to_string(bytes / kMiB); }

std::string Short(const std::string& id) { return id.substr(0, 12); }

// The checks a deploy must pass before anything happens (400 with the reason).
Status ValidateDeploy(const ServiceConfig& c) {
  SPAWN_RETURN_IF_ERROR(ValidateServiceName(c.name));
  const std::string who = "service " + c.name + ": ";
  if (c.run.empty()) {
    return Status::BadRequest(who + "run is required (a list: the command and its arguments)");
  }
  if (c.mem_alloc_bytes < kMinMemory) {
    return Status::BadRequest(who + "memAlloc " + FormatSize(c.mem_alloc_bytes) +
                              " is too small; expected at least 6M");
  }
  if (c.cpu_shares < 2) {
    return Status::BadRequest(who + "cpuShares " + std::to_string(c.cpu_shares) +
                              " is too small; expected at least 2 (1024 is one core)");
  }
  if (c.restart_interval.count() < 0 || c.max_restart_interval.count() < 0 ||
      c.stop_timeout.count() < 0) {
    return Status::BadRequest(who +
                              "restartInt, maxRestartInt and stopTimeout must not be negative");
  }
  for (const auto& e : c.env) {
    if (e.empty() || e.front() == '=' || e.find('=') == std::string::npos) {
      return Status::BadRequest(who + "env entry \"" + e + "\" is not KEY=value");
    }
  }
  // The parser checks these too; a config built in code must not reach the engine unchecked.
  if (!c.image.empty()) {
    Status image_ok = ValidateImageReference(c.image);
    if (!image_ok.ok()) return Status::BadRequest(who + "image: " + image_ok.message());
  }
  for (size_t i = 0; i < c.apt_requires.size(); ++i) {
    Status package_ok = ValidateAptPackage(c.apt_requires[i]);
    if (!package_ok.ok()) {
      return Status::BadRequest(who + "aptRequires[" + std::to_string(i) +
                                "]: " + package_ok.message());
    }
  }
  if (!c.user.empty()) {
    Status user_ok = ValidateUserSpec(c.user);
    if (!user_ok.ok()) return Status::BadRequest(who + "user: " + user_ok.message());
  }
  if (c.pids_limit < 0) {
    return Status::BadRequest(who + "pidsLimit " + std::to_string(c.pids_limit) +
                              " is negative; expected a positive integer, like 100");
  }
  for (const auto& v : c.volumes) {
    if (!ValidateServiceName(v).ok()) {
      return Status::BadRequest(who + "volume \"" + v +
                                "\" is not a volume name; expected letters, digits, '_', '.', '-'");
    }
  }
  if (c.health_check) {
    Status check_ok = ValidateHealthCheck(*c.health_check);
    if (!check_ok.ok()) return Status::BadRequest(who + check_ok.message());
  }
  if (!c.overlay_net.empty()) {
    Status network_ok = ValidateNetworkName(c.overlay_net);
    if (!network_ok.ok()) return Status::BadRequest(who + "overlayNet: " + network_ok.message());
    if (c.use_host_net) {
      return Status::BadRequest(who + "overlayNet \"" + c.overlay_net +
                                "\" cannot be combined with useHostNet: true; expected one of "
                                "overlayNet and useHostNet");
    }
  }
  return Status::Ok();
}

struct Service {
  ServiceRecord record;
  ServiceState state = ServiceState::kBuilding;
  // One per deployment (deploy, replace, adoption): results meant for a replaced deployment, or a
  // purged one, compare and are dropped (and the containers they made are removed).
  uint64_t incarnation = 0;
  // Bumped on every transition: a result that finds another generation is stale.
  uint64_t generation = 0;
  SteadyTime started_at;
  int quick_deaths = 0;  // deaths in a row, each soon after its start
  // A replacement with a health check on trial: reverted to record.previous when this fires
  // (startPeriod + retries x interval after its first start) or it dies `retries` times first.
  EventLoop::TimerId revert_timer = 0;
  bool trial_started = false;
  int trial_deaths = 0;
  Duration backoff{0};
  bool die_seen = false;                // a die event came while starting: check once running
  int64_t start_requested_unix_ns = 0;  // output from here on belongs to the current run
  EventLoop::TimerId timer = 0;         // restart delay or zombie expiry
  // The engine's `start` event of the run last asked for, once it came: its container and the
  // engine's time. A die of that container stamped at or after it ends that run.
  std::string start_event_id;
  int64_t start_event_unix_ns = 0;
  std::shared_ptr<Stream> build, logs, stats;
  uint64_t stream_token = 0;  // which Attach the log and stats callbacks belong to
  ContainerStats usage;
};

// What a create-and-start on the executor reports back.
struct Launch {
  Launch(std::string id_, Status status_) : id(std::move(id_)), status(std::move(status_)) {}

  std::string id;  // empty if the container could not be created
  Status status;
  // The pids limit asked for and the one the created container has, when it was read back.
  int64_t pids_asked = 0;
  std::optional<int64_t> pids_seen;
};

class SupervisorImpl final : public Supervisor {
 public:
  SupervisorImpl(const SpawndConfig& config, DockerEngine& engine, EventLoop& loop,
                 StateStore& store, ServiceSecrets& secrets, Executor& executor,
                 SupervisorObserver& observer, JitterSource jitter, HttpProber* prober)
      : config_(config),
        engine_(engine),
        loop_(loop),
        store_(store),
        secrets_(secrets),
        executor_(executor),
        observer_(observer),
        jitter_(std::move(jitter)),
        free_mem_(config.mem_alloc_bytes),
        free_cpu_(config.cpu_shares),
        janitor_(
            config_, engine, loop, executor, [this] { return ImagesInUse(); },
            [this] { return KeptContainers(); }),
        health_(loop, prober, [this](const std::string& name) { OnHealthChanged(name); }) {}

  ~SupervisorImpl() override { Shutdown(); }

  Status Start() override {
    auto post = Poster();
    events_ = engine_.FollowEvents(
        [this, post](const EngineEvent& e) { post([this, e] { OnEngineEvent(e); }); },
        [this, post] { post([this] { Resync(); }); });
    auto loaded = store_.Load();
    if (!loaded.ok()) {
      spdlog::error(
          "state: cannot read the state directory: {}; recovering services from their "
          "containers' labels",
          loaded.status().message());
      loaded = LoadedState{{}, {}, true};
    }
    for (const auto& name : loaded->damaged) {
      spdlog::error("state: the record of service {} is damaged; recovering it from its container",
                    name);
    }
    // Listing is the one blocking engine call on this thread: Start runs before the loop does.
    auto containers = engine_.ListContainers(kPathLabel, config_.path);
    if (!containers.ok()) return containers.status().WithContext("cannot list containers");
    std::map<std::string, std::vector<ContainerInfo>> by_service;
    for (const auto& c : *containers) {
      auto it = c.labels.find(kServiceLabel);
      by_service[it == c.labels.end() ? std::string() : it->second].push_back(c);
    }
    for (auto& record : loaded->records) {
      const std::string name = record.config.name;
      std::optional<ContainerInfo> mine;
      for (const auto& c : by_service[name]) {
        if (!record.container_id.empty() && c.id == record.container_id) {
          mine = c;
        } else if (record.previous && c.id == record.previous->container_id) {
          continue;  // kept for a rollback
        } else {
          RemoveStray(c, "an earlier container of service " + name);
        }
      }
      by_service.erase(name);
      Adopt(std::move(record), mine);
    }
    for (const auto& [name, infos] : by_service) {
      const bool recoverable = !name.empty() && (loaded->missing || loaded->damaged.count(name));
      std::optional<ServiceRecord> recovered;
      if (recoverable) recovered = Recover(name, infos);
      for (const auto& c : infos) {
        if (!recovered || c.id != recovered->container_id) {
          RemoveStray(c, "it carries this spawnpoint's label but no service knows it");
        }
      }
      if (recovered) {
        spdlog::warn("state: recovered service {} from the labels of container {}", name,
                     Short(recovered->container_id));
        const std::string id = recovered->container_id;
        Adopt(std::move(*recovered), FindInfo(infos, id));
        if (Service* s = Find(name)) Persist(*s, true);
      } else if (recoverable) {
        spdlog::error("state: service {} is lost: no record and no readable config label", name);
      }
    }
    for (const auto& name : loaded->damaged) {
      if (!services_.count(name))
        spdlog::error("state: service {} is lost: its record is damaged and it has no container",
                      name);
    }
    janitor_.Start();
    return Status::Ok();
  }

  void Shutdown() override {
    *alive_ = false;  // results still on their way are dropped
    janitor_.Stop();
    events_.reset();
    for (auto& [name, s] : services_) {
      health_.Forget(name);
      if (s.timer) loop_.Cancel(s.timer);
      s.timer = 0;
      if (s.revert_timer) loop_.Cancel(s.revert_timer);
      s.revert_timer = 0;
      s.build.reset();
      s.logs.reset();
      s.stats.reset();
    }
  }

  Status Deploy(const proto::DeployRequest& request) override {
    const ServiceConfig& c = request.config;
    SPAWN_RETURN_IF_ERROR(ValidateDeploy(c));
    auto archive = ReadTar(request.archive);
    if (!archive.ok()) return archive.status().WithContext("archive of included files");
    if (c.use_host_net && !config_.allow_host_net) {
      return Status::Forbidden("service " + c.name +
                               " asks for host networking (useHostNet), which "
                               "this spawnpoint does not allow (allowHostNet: false)");
    }
    if (!c.devices.empty() && !config_.allow_device_mappings) {
      return Status::Forbidden("service " + c.name +
                               " asks for devices, which this spawnpoint does "
                               "not allow (allowDeviceMappings: false)");
    }
    auto existing = services_.find(c.name);
    int64_t mem_back = 0, cpu_back = 0;  // what replacing the old one gives back
    if (existing != services_.end()) {
      if (!request.replace) {
        return Status::Conflict(
            "service " + c.name + " already exists on " + config_.alias +
            "; stop it first, or deploy with Replace (spawnctl deploy --replace)");
      }
      if (existing->second.record.reserved) {
        mem_back = existing->second.record.config.mem_alloc_bytes;
        cpu_back = existing->second.record.config.cpu_shares;
      }
    }
    SPAWN_RETURN_IF_ERROR(CheckFits(c, mem_back, cpu_back));
    std::optional<PreviousGeneration> previous;
    if (existing != services_.end()) {
      Service& old = existing->second;
      Log(c.name, "[INFO] Replacing the service with the new deployment");
      Retire(old);
      Release(old);
      previous = KeepAsPrevious(old);
      services_.erase(existing);
    }
    Service& s = NewService(c.name);
    s.record.previous = std::move(previous);
    s.record.config = c;
    s.record.archive = request.archive;
    s.record.entity = request.entity;
    Reserve(s);
    Log(c.name, "[INFO] Launching service...");
    BeginBuild(s, /*with_blobs=*/true);
    return Status::Ok();
  }

  Status Restart(const std::string& name) override {
    Service* found = Find(name);
    if (!found) return UnknownService(name);
    Service& s = *found;
    switch (s.state) {
      case ServiceState::kBuilding:
        Log(name,
            "[INFO] Restart requested while building: the service starts when its image is "
            "ready");
        return Status::Ok();
      case ServiceState::kStarting:
        return Status::Ok();  // it is starting right now: the restart is absorbed
      case ServiceState::kRunning: {
        Log(name, "[INFO] Restarting service on request");
        ExpectStart(s);
        Reap(std::move(s.stats));
        SetState(s, ServiceState::kStarting);
        const std::string id = s.record.container_id;
        const auto timeout = duration_cast<seconds>(s.record.config.stop_timeout);
        Async(
            name,
            [id, timeout](DockerEngine& engine) { return engine.RestartContainer(id, timeout); },
            [this, name, inc = s.incarnation, gen = s.generation, id](const Status& status) {
              OnStarted(name, inc, gen, {id, status}, /*is_restart=*/true, /*created=*/false);
            });
        return Status::Ok();
      }
      case ServiceState::kExited:
      case ServiceState::kRestarting:
        CancelTimer(s);
        Log(name, "[INFO] Restarting now, on request");
        Relaunch(s);
        return Status::Ok();
      case ServiceState::kZombie: {
        SPAWN_RETURN_IF_ERROR(CheckFits(s.record.config, 0, 0));
        CancelTimer(s);
        Reserve(s);
        s.record.stopped = false;
        s.record.zombie_deadline_unix_ns = 0;
        s.quick_deaths = 0;
        Log(name, "[INFO] Reviving service");
        Relaunch(s);
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

  Status Stop(const std::string& name) override { return StopService(name, /*now=*/false); }
  Status StopNow(const std::string& name) override { return StopService(name, /*now=*/true); }

  Status StopService(const std::string& name, bool now) {
    Service* found = Find(name);
    if (!found) return UnknownService(name);
    Service& s = *found;
    if (s.state == ServiceState::kZombie) return Status::Ok();
    Log(name, now ? "[INFO] Stopping service now (KILL)" : "[INFO] Stopping service");
    const std::string id = s.record.container_id;
    const bool may_run =
        !id.empty() && (s.state == ServiceState::kRunning || s.state == ServiceState::kStarting);
    BecomeZombie(s, "stopped on request");
    if (may_run) StopInBackground(name, id, s.record.config.stop_timeout, now);
    // A container still being created is stopped when its creation reports back (OnStarted).
    return Status::Ok();
  }

  Status Rollback(const std::string& name) override {
    Service* found = Find(name);
    if (!found) return UnknownService(name);
    Service& s = *found;
    if (!s.record.previous) {
      return Status::Conflict("service " + name +
                              " has no previous deployment to roll back to; expected a service "
                              "deployed with Replace (spawnctl deploy --replace)");
    }
    const int64_t mem_back = s.record.reserved ? s.record.config.mem_alloc_bytes : 0;
    const int64_t cpu_back = s.record.reserved ? s.record.config.cpu_shares : 0;
    SPAWN_RETURN_IF_ERROR(CheckFits(s.record.previous->config, mem_back, cpu_back));
    RevertTo(s, "on request");
    return Status::Ok();
  }

  std::vector<ServiceSnapshot> Services() const override {
    std::vector<ServiceSnapshot> out;
    for (const auto& [name, s] : services_) out.push_back(Snapshot(s));
    return out;
  }

  PoolSnapshot Pool() const override {
    return {config_.mem_alloc_bytes, config_.cpu_shares,       free_mem_, free_cpu_,
            janitor_.TotalBytes(),   janitor_.AvailableBytes()};
  }

  std::vector<std::string> Warnings() const override { return warnings_; }

  void ReadOutput(const std::string& name, int64_t since_unix_ns, size_t max_lines,
                  OutputDone done) override {
    const Service* s = Find(name);
    if (!s || s->record.container_id.empty()) {
      done(std::vector<LogLine>{});
      return;
    }
    // A key of its own: a read does not wait behind the service's own engine work (a stop may
    // take its whole timeout).
    Async(
        name + "/output",
        [id = s->record.container_id, since_unix_ns, max_lines](DockerEngine& engine) {
          return engine.ReadLogs(id, since_unix_ns, max_lines);
        },
        [done = std::move(done)](const Result<std::vector<LogLine>>& lines) {
          if (!lines.ok() && lines.status().code() == Code::kNotFound)
            done(std::vector<LogLine>{});
          else
            done(lines);
        });
  }

 private:
  static Status UnknownService(const std::string& name) {
    return Status::NotFound("no service named " + name + " on this spawnpoint");
  }

  // ---- running work elsewhere ----

  // Runs `work(engine)` on the executor under `key`, then `then(result)` on the loop, unless the
  // supervisor has shut down by then. The task holds no pointer to the supervisor.
  template <typename Work, typename Then>
  void Async(const std::string& key, Work work, Then then) {
    DockerEngine* engine = &engine_;
    EventLoop* loop = &loop_;
    std::shared_ptr<bool> alive = alive_;
    executor_.Run(key, [engine, loop, alive, work, then] {
      auto result = work(*engine);
      loop->Post([alive, then, result] {
        if (*alive) then(result);
      });
    });
  }

  // Runs `work(engine)` on the executor under `key`; nothing comes back.
  template <typename Work>
  void Background(const std::string& key, Work work) {
    DockerEngine* engine = &engine_;
    executor_.Run(key, [engine, work] { work(*engine); });
  }

  // For engine stream callbacks (engine threads): hands a task to the loop, dropped if the
  // supervisor has shut down by the time it runs. `batched` for plentiful work that may wait a
  // moment (container output), see EventLoop::PostBatched.
  std::function<void(EventLoop::Task)> Poster(bool batched = false) {
    EventLoop* loop = &loop_;
    std::shared_ptr<bool> alive = alive_;
    return [loop, alive, batched](EventLoop::Task task) {
      EventLoop::Task guarded = [alive, task = std::move(task)] {
        if (*alive) task();
      };
      if (batched) {
        loop->PostBatched(std::move(guarded));
      } else {
        loop->Post(std::move(guarded));
      }
    };
  }

  // Cancelling a stream may join its thread: never on the loop thread.
  void Reap(std::shared_ptr<Stream> stream) {
    if (stream) executor_.Run(kReaperKey, [stream] { stream->Cancel(); });
  }

  // `now`: KILL without the TERM grace (stop --now).
  void StopInBackground(const std::string& name, const std::string& id, Duration timeout,
                        bool now = false) {
    Async(
        name,
        [id, t = duration_cast<seconds>(timeout), now](DockerEngine& engine) {
          return now ? engine.KillContainer(id, "KILL") : engine.StopContainer(id, t);
        },
        [this, name](const Status& status) {
          if (!status.ok() && status.code() != Code::kNotFound)
            Log(name, status.ToString() + " (while stopping the container)");
        });
  }

  void RemoveStray(const ContainerInfo& c, const std::string& why) {
    spdlog::warn("adopt: removing container {} ({}): {}", c.name, Short(c.id), why);
    const std::string id = c.id;
    Background(kReaperKey,
               [id](DockerEngine& engine) { engine.RemoveContainer(id, true).IgnoreError(); });
  }

  // ---- pool ----

  Status CheckFits(const ServiceConfig& c, int64_t mem_back, int64_t cpu_back) const {
    const int64_t have_mem = free_mem_ + mem_back, have_cpu = free_cpu_ + cpu_back;
    if (c.mem_alloc_bytes > have_mem || c.cpu_shares > have_cpu) {
      return Status::Unavailable("Insufficient resources for service. CPU: Have " +
                                 std::to_string(have_cpu) + ", Want " +
                                 std::to_string(c.cpu_shares) + ". Mem: Have " + Mib(have_mem) +
                                 ", Want " + Mib(c.mem_alloc_bytes));
    }
    return Status::Ok();
  }

  // Callers check CheckFits first (adoption logs instead of reserving when it does not fit).
  void Reserve(Service& s) {
    if (s.record.reserved) return;
    free_mem_ -= s.record.config.mem_alloc_bytes;
    free_cpu_ -= s.record.config.cpu_shares;
    s.record.reserved = true;
    if (free_mem_ < 0 || free_cpu_ < 0) {
      spdlog::critical("pool: oversubscribed after reserving for {} (mem {} MiB, cpu {})",
                       s.record.config.name, free_mem_ / kMiB, free_cpu_);
    }
  }

  void Release(Service& s) {
    if (!s.record.reserved) return;
    free_mem_ += s.record.config.mem_alloc_bytes;
    free_cpu_ += s.record.config.cpu_shares;
    s.record.reserved = false;
  }

  // ---- bookkeeping ----

  Service& NewService(const std::string& name) {
    Service& s = services_[name];
    s = Service{};
    s.incarnation = ++last_incarnation_;
    s.generation = ++last_generation_;
    return s;
  }

  Service* Find(const std::string& name) {
    auto it = services_.find(name);
    return it == services_.end() ? nullptr : &it->second;
  }

  Service* Find(const std::string& name, uint64_t inc, uint64_t gen) {
    Service* s = Find(name);
    return s && s->incarnation == inc && s->generation == gen ? s : nullptr;
  }

  void SetState(Service& s, ServiceState state) {
    if (state != ServiceState::kRunning) health_.Forget(s.record.config.name);
    s.state = state;
    s.generation = ++last_generation_;
    Persist(s, false);
    observer_.OnServiceChanged(Snapshot(s));
  }

  void Log(const std::string& name, const std::string& line) {
    observer_.OnServiceLog(name, "spawnd", line);
  }

  void Persist(Service& s, bool with_blobs) {
    Status status = store_.Save(s.record, with_blobs);
    if (!status.ok()) {
      spdlog::error("state: cannot save service {}: {}", s.record.config.name, status.message());
    }
  }

  void CancelTimer(Service& s) {
    if (s.timer) loop_.Cancel(s.timer);
    s.timer = 0;
  }

  // Drops timers and streams of a service that is being replaced or purged.
  void Retire(Service& s) {
    health_.Forget(s.record.config.name);
    if (s.revert_timer) loop_.Cancel(s.revert_timer);
    s.revert_timer = 0;
    CancelTimer(s);
    Reap(std::move(s.build));
    Reap(std::move(s.logs));
    Reap(std::move(s.stats));
    s.stream_token = 0;
    s.generation = ++last_generation_;
  }

  // ---- building and starting ----

  // `with_blobs` for a new deployment: its archive and entity are saved with the record at once
  // (a spawnd killed before the image is known makes the recipe again when it adopts it).
  void BeginBuild(Service& s, bool with_blobs = false) {
    const std::string name = s.record.config.name;
    s.record.image_tag.clear();
    s.record.container_id.clear();
    if (with_blobs) Persist(s, true);
    SetState(s, ServiceState::kBuilding);
    Async(
        name,
        [config = s.record.config, archive = s.record.archive,
         base = BaseImage(s.record.config, config_.default_image)](DockerEngine& engine) {
          return MakeRecipe(engine, config, base, archive);
        },
        [this, name, inc = s.incarnation, gen = s.generation](const Result<Recipe>& recipe) {
          Service* s = Find(name, inc, gen);
          if (!s) return;
          if (!recipe.ok()) {
            Log(name, recipe.status().ToString() + " (while looking up the image)");
            BecomeZombie(*s, "its image could not be looked up");
            return;
          }
          s->record.image_tag = recipe->image;
          if (recipe->dockerfile.empty()) {
            Log(name, "[INFO] Nothing to build: runs on image " + recipe->image);
            CreateAndStart(*s);
            return;
          }
          if (recipe->exists) {
            Log(name, "[INFO] Image " + recipe->image + " is up to date");
            CreateAndStart(*s);
            return;
          }
          Log(name, "[INFO] Building image " + recipe->image + "...");
          auto post = Poster();
          s->build = engine_.Build(
              {recipe->image, recipe->dockerfile, s->record.archive, true,
               janitor_.BuildLabels(recipe->base_bytes)},
              [this, post, name, inc, gen](const std::string& line) {
                post([this, name, inc, gen, line] {
                  if (Find(name, inc, gen)) Log(name, line);
                });
              },
              [this, post, name, inc, gen](const Status& status) {
                post([this, name, inc, gen, status] { OnBuildDone(name, inc, gen, status); });
              });
        });
  }

  // What a service runs on: its base image as it is (no Dockerfile), or the content-addressed
  // image of its recipe, which `exists` already or must be built.
  struct Recipe {
    std::string image;
    std::string dockerfile;
    bool exists = false;
    int64_t base_bytes = 0;  // of the base, when the engine has it
  };

  // On the executor. A base the engine does not have yet is built from by its name (the build
  // pulls it), even when there is nothing to add to it.
  static Result<Recipe> MakeRecipe(DockerEngine& engine, const ServiceConfig& config,
                                   const std::string& base, const std::string& archive) {
    auto base_info = engine.InspectImage(base);
    if (!base_info.ok() && base_info.status().code() != Code::kNotFound) return base_info.status();
    Recipe recipe;
    if (base_info.ok() && !NeedsBuild(config)) {
      recipe.image = base;
      return recipe;
    }
    if (base_info.ok()) recipe.base_bytes = base_info->size_bytes;
    recipe.dockerfile = GenerateDockerfile(config, base_info.ok() ? base_info->id : base);
    recipe.image = ImageTag(recipe.dockerfile, archive);
    auto exists = engine.ImageExists(recipe.image);
    if (!exists.ok()) return exists.status();
    recipe.exists = *exists;
    return recipe;
  }

  void OnBuildDone(const std::string& name, uint64_t inc, uint64_t gen, const Status& status) {
    Service* s = Find(name, inc, gen);
    if (!s) return;
    Reap(std::move(s->build));
    if (!status.ok()) {
      Log(name, status.ToString());
      if (s->record.previous && s->record.config.health_check) {
        // A replacement on trial that cannot even be built is broken: the previous one comes back.
        RevertTo(*s, "the new deployment's image build failed");
        return;
      }
      BecomeZombie(*s, "the image build failed");
      return;
    }
    Log(name, "[INFO] Image built");
    janitor_.AdmitBuilt(s->record.image_tag, [this, name, inc, gen](const Status& admitted) {
      Service* s = Find(name, inc, gen);
      if (!s) return;
      if (!admitted.ok()) {
        Log(name, admitted.ToString());
        if (s->record.previous && s->record.config.health_check) {
          RevertTo(*s, "the new deployment's image does not fit the disk budget");
          return;
        }
        BecomeZombie(*s, "its image does not fit the disk budget");
        return;
      }
      CreateAndStart(*s);
    });
  }

  // Every image reference a service or a kept previous generation runs on.
  std::set<std::string> ImagesInUse() const {
    std::set<std::string> out;
    for (const auto& [name, s] : services_) {
      if (!s.record.image_tag.empty()) out.insert(s.record.image_tag);
      if (s.record.previous) out.insert(s.record.previous->image_tag);
    }
    return out;
  }

  // Containers kept now (live, zombie, previous generation): each holds a log on the disk.
  size_t KeptContainers() const {
    size_t n = 0;
    for (const auto& [name, s] : services_) {
      n += !s.record.container_id.empty();
      n += s.record.previous && !s.record.previous->container_id.empty();
    }
    return n;
  }

  // `secrets_dir`: the host directory of the service's secrets (ServiceSecrets::Write); empty when
  // it has none.
  ContainerSpec SpecFor(const Service& s, const std::string& secrets_dir) const {
    const ServiceConfig& c = s.record.config;
    ContainerSpec spec;
    spec.name = ContainerName(c.name);
    spec.image = s.record.image_tag;
    // Set here, never baked into an image: services whose `run` differs share one image, and a
    // service with nothing to build runs on its base as it is.
    spec.cmd = c.run;
    spec.working_dir = kServiceWorkDir;
    spec.labels = {{kPathLabel, config_.path},
                   {kAliasLabel, config_.alias},
                   {kServiceLabel, c.name},
                   {kConfigLabel, ServiceConfigToYaml(c)}};
    spec.memory_bytes = c.mem_alloc_bytes;
    spec.cpu_shares = c.cpu_shares;
    spec.network_mode = c.use_host_net ? "host" : "";  // the engine's default otherwise
    if (!c.overlay_net.empty()) {
      // Services on one network reach each other by service name.
      spec.network_mode = c.overlay_net;
      spec.network_aliases = {c.name};
    }
    spec.volumes = c.volumes;
    spec.devices = c.devices;
    spec.env = {"SPAWNPOINT_BROKER=" + config_.container_broker,
                "SPAWNPOINT_SERVICE_TOPIC=" + topics::ServiceTopic(config_.path, c.name),
                "SPAWNPOINT_ALIAS=" + config_.alias, "SPAWNPOINT_PATH=" + config_.path};
    const std::string dir = kSecretsDir;
    if (!s.record.entity.empty()) {
      const std::string entity = dir + "/" + kEntityFile;
      spec.env.push_back("SPAWNPOINT_ENTITY=" + entity);
      // Where services written for the original Spawnpoint (BOSSWAVE's tools) look for it.
      spec.env.push_back("BW2_DEFAULT_ENTITY=" + entity);
    }
    if (!config_.service_username.empty()) {
      spec.env.push_back("SPAWNPOINT_BROKER_USERNAME=" + config_.service_username);
      spec.env.push_back("SPAWNPOINT_BROKER_PASSWORD_FILE=" + dir + "/" + kPasswordFile);
    }
    if (ContainersUseTls()) spec.env.push_back("SPAWNPOINT_BROKER_CA_FILE=" + dir + "/" + kCaFile);
    spec.env.insert(spec.env.end(), c.env.begin(), c.env.end());
    if (!secrets_dir.empty()) spec.binds.push_back({secrets_dir, dir, /*read_only=*/true});
    spec.no_new_privileges = true;  // for every service: no setuid way back to root
    spec.pids_limit = c.pids_limit > 0 ? c.pids_limit : config_.pids_limit;
    spec.read_only_rootfs = c.read_only;
    spec.user = c.user;
    if (c.health_check && !c.health_check->cmd.empty()) {
      // The engine runs it and reports health_status events; http checks are spawnd's own.
      const HealthCheck& h = *c.health_check;
      spec.healthcheck = {h.cmd, h.interval, h.timeout, h.start_period, h.retries};
    }
    return spec;
  }

  bool ContainersUseTls() const {
    return config_.container_broker.rfind("ssl://", 0) == 0 && !config_.ca_file.empty();
  }

  // Writes the service's secrets directory afresh (it may be gone, e.g. a state directory restored
  // without it) and returns its host path, or "" when the service has no secrets.
  Result<std::string> WriteSecrets(const Service& s) {
    const std::string& name = s.record.config.name;
    ServiceSecrets::Files files;
    if (!s.record.entity.empty()) files[kEntityFile] = s.record.entity;
    if (!config_.service_username.empty()) {
      auto password = ReadFile(config_.service_password_file);
      if (!password.ok()) {
        return password.status().WithContext("servicePasswordFile of this spawnpoint");
      }
      files[kPasswordFile] = *password;
    }
    if (ContainersUseTls()) {
      auto ca = ReadFile(config_.ca_file);
      if (!ca.ok()) return ca.status().WithContext("caFile of this spawnpoint");
      files[kCaFile] = *ca;
    }
    if (files.empty()) {
      secrets_.Remove(name).IgnoreError();
      return std::string();
    }
    int uid = 0, gid = 0;
    if (const std::string& user = s.record.config.user; !user.empty()) {
      const size_t colon = user.find(':');
      uid = std::stoi(user.substr(0, colon));  // ValidateUserSpec: digits only
      if (colon != std::string::npos) gid = std::stoi(user.substr(colon + 1));
    }
    return secrets_.Write(name, files, uid, gid);
  }

  // Once per spawnd: an engine that cannot enforce pids limits (no pids cgroup) makes containers
  // without one, and says so only in the create answer. Logged once and carried by the spawnpoint
  // heartbeat, as every container of this engine is the same.
  void NotePidsLimit(const Launch& launch) {
    if (pids_checked_ || !launch.pids_seen || launch.pids_asked <= 0) return;
    pids_checked_ = true;
    if (*launch.pids_seen == launch.pids_asked) return;
    const std::string warning =
        "pidsLimit is not enforced by this Docker engine (asked " +
        std::to_string(launch.pids_asked) + ", the container has " +
        (*launch.pids_seen > 0 ? std::to_string(*launch.pids_seen) : std::string("none")) +
        "): services can start any number of processes; enable the kernel's pids cgroup";
    spdlog::warn("engine: {}", warning);
    warnings_.push_back(warning);
  }

  void CreateAndStart(Service& s) {
    const std::string name = s.record.config.name;
    ExpectStart(s);
    SetState(s, ServiceState::kStarting);
    auto secrets_dir = WriteSecrets(s);
    if (!secrets_dir.ok()) {
      OnStarted(name, s.incarnation, s.generation,
                {"", secrets_dir.status().WithContext("secrets of the service")},
                /*is_restart=*/false, /*created=*/true);
      return;
    }
    Async(
        name,
        [spec = SpecFor(s, *secrets_dir), network = s.record.config.overlay_net,
         check_pids = !pids_checked_](DockerEngine& engine) {
          if (!network.empty()) {
            // Made if missing; never removed here, as other services may use it.
            Status joined = engine.EnsureNetwork(network);
            if (!joined.ok()) return Launch{"", joined.WithContext("network " + network)};
          }
          auto id = engine.CreateContainer(spec);
          if (!id.ok() && id.status().code() == Code::kConflict) {
            // A container left under our name (e.g. by a crash mid-deploy): replace it.
            engine.RemoveContainer(spec.name, true).IgnoreError();
            id = engine.CreateContainer(spec);
          }
          if (!id.ok()) return Launch{"", id.status()};
          Launch launch(*id, Status::Ok());
          launch.pids_asked = spec.pids_limit;
          if (check_pids && spec.pids_limit > 0) {
            auto info = engine.InspectContainer(*id);
            if (info.ok()) launch.pids_seen = info->pids_limit;
          }
          launch.status = engine.StartContainer(*id);
          return launch;
        },
        [this, name, inc = s.incarnation, gen = s.generation](const Launch& launch) {
          OnStarted(name, inc, gen, launch, /*is_restart=*/false, /*created=*/true);
        });
  }

  void StartExisting(Service& s) {
    const std::string name = s.record.config.name;
    ExpectStart(s);
    SetState(s, ServiceState::kStarting);
    const std::string id = s.record.container_id;
    // The container's bind mount names the directory: it must be there again before the start.
    auto secrets_dir = WriteSecrets(s);
    if (!secrets_dir.ok()) {
      OnStarted(name, s.incarnation, s.generation,
                {id, secrets_dir.status().WithContext("secrets of the service")},
                /*is_restart=*/true, /*created=*/false);
      return;
    }
    Async(
        name, [id](DockerEngine& engine) { return engine.StartContainer(id); },
        [this, name, inc = s.incarnation, gen = s.generation, id](const Status& status) {
          OnStarted(name, inc, gen, {id, status}, /*is_restart=*/true, /*created=*/false);
        });
  }

  // A start is about to be asked for: output from now on is the new run's, and so is the first
  // start event stamped from now on.
  void ExpectStart(Service& s) {
    s.start_requested_unix_ns = ToUnixNanos(loop_.WallNow());
    s.die_seen = false;
    s.start_event_id.clear();
    s.start_event_unix_ns = 0;
  }

  // Starts the service's container again, or makes a new one if it has none.
  void Relaunch(Service& s) {
    if (s.record.container_id.empty()) {
      BeginBuild(s);
    } else {
      StartExisting(s);
    }
  }

  void OnStarted(const std::string& name, uint64_t inc, uint64_t gen, const Launch& launch,
                 bool is_restart, bool created) {
    NotePidsLimit(launch);
    Service* s = Find(name);
    if (!s || s->incarnation != inc) {
      // Replaced or purged meanwhile: what this deployment made must not linger.
      if (created && !launch.id.empty()) {
        spdlog::info("service {}: removing container {} of a deployment that is gone", name,
                     Short(launch.id));
        const std::string id = launch.id;
        Background(name,
                   [id](DockerEngine& engine) { engine.RemoveContainer(id, true).IgnoreError(); });
      }
      return;
    }
    if (s->generation != gen) {
      // Stopped while starting (the only command that moves a starting service on): keep the
      // container for a revival, but do not let it run.
      if (!launch.id.empty() && s->record.container_id.empty()) {
        s->record.container_id = launch.id;
        Persist(*s, false);
      }
      if (s->state == ServiceState::kZombie && launch.status.ok() &&
          launch.id == s->record.container_id) {
        StopInBackground(name, launch.id, s->record.config.stop_timeout);
      }
      return;
    }
    if (!launch.id.empty()) s->record.container_id = launch.id;
    if (!launch.status.ok()) {
      Log(name, launch.status.ToString() + " (while starting the container)");
      if (!created && launch.status.code() == Code::kNotFound) {
        // Also what the engine answers when the container's network is gone: a new container
        // makes the network again.
        Log(name, "[INFO] The container (or its network) is gone; making a new one");
        s->record.container_id.clear();
        BeginBuild(*s);
        return;
      }
      if (s->record.config.auto_restart) {
        ScheduleRestart(*s, /*failed_start=*/true);
      } else {
        BecomeZombie(*s, "its container could not be started");
      }
      return;
    }
    if (is_restart) ++s->record.restarts;
    s->started_at = loop_.Now();
    s->backoff = Duration(0);
    WatchHealth(*s);
    BeginTrial(*s);
    SetState(*s, ServiceState::kRunning);
    Log(name, "[SUCCESS] Service container has started");
    Attach(*s, s->start_requested_unix_ns);
    if (s->die_seen) Verify(*s, false);  // it may have died before we knew it ran
  }

  // Follows the container's output from `since_unix_ns` (0: from now) and its stats.
  void Attach(Service& s, int64_t since_unix_ns) {
    const std::string name = s.record.config.name;
    const uint64_t token = ++last_token_;
    const std::string id = s.record.container_id;
    Reap(std::move(s.logs));
    Reap(std::move(s.stats));
    s.stream_token = token;
    // A hundred services' output and stats samples: batched, see Poster.
    auto post = Poster(/*batched=*/true);
    s.logs = engine_.FollowLogs(
        id, since_unix_ns,
        [this, post, name, token](const LogLine& l) {
          post([this, name, token, l] {
            Service* s = Find(name);
            if (s && s->stream_token == token) observer_.OnServiceLog(name, l.stream, l.text);
          });
        },
        [](const Status&) {});
    s.stats = engine_.FollowStats(
        id,
        [this, post, name, token](const ContainerStats& st) {
          post([this, name, token, st] {
            Service* s = Find(name);
            if (s && s->stream_token == token && s->state == ServiceState::kRunning) s->usage = st;
          });
        },
        [](const Status&) {});
  }

  // ---- death, restart, zombies ----

  // Asks the engine whether the running container still runs; if not, handles its death. Used on
  // a die event that may belong to a restart we asked for, or to an earlier run (DieEndsRun), and
  // after the event stream was lost.
  void Verify(Service& s, bool reattach) {
    const std::string name = s.record.config.name;
    const std::string id = s.record.container_id;
    Async(
        name, [id](DockerEngine& engine) { return engine.InspectContainer(id); },
        [this, name, inc = s.incarnation, gen = s.generation,
         reattach](const Result<ContainerInfo>& info) {
          Service* s = Find(name, inc, gen);  // anything that happened since has its own handling
          if (!s || s->state != ServiceState::kRunning) return;
          if (info.ok() && info->running) {
            if (reattach) Attach(*s, 0);
            return;
          }
          if (!info.ok() && info.status().code() != Code::kNotFound) {
            spdlog::warn("service {}: cannot inspect its container: {}", name,
                         info.status().message());
            return;  // the engine is in trouble: its reconnection resyncs again
          }
          OnDeath(*s, info.ok() ? info->exit_code : -1);
        });
  }

  void OnDeath(Service& s, int exit_code) {
    const std::string name = s.record.config.name;
    s.record.exit_code = exit_code;
    Reap(std::move(s.stats));
    s.usage = {};
    Log(name, "[INFO] Service exited with code " + std::to_string(exit_code));
    if (s.revert_timer && ++s.trial_deaths >= s.record.config.health_check->retries) {
      RevertTo(s, "the new deployment died " + std::to_string(s.trial_deaths) +
                      " times before it was healthy");
      return;
    }
    if (!s.record.config.auto_restart) {
      BecomeZombie(s, "it exited and autoRestart is off");
      return;
    }
    if (!s.record.reserved) {  // adopted without fitting: restart only if it fits now
      Status fits = CheckFits(s.record.config, 0, 0);
      if (!fits.ok()) {
        Log(name, fits.ToString());
        BecomeZombie(s, "it no longer fits this spawnpoint");
        return;
      }
      Reserve(s);
    }
    ScheduleRestart(s, /*failed_start=*/false);
  }

  // restartInt after the death; doubling (with jitter, capped at maxRestartInt) while it keeps
  // dying soon after each start.
  void ScheduleRestart(Service& s, bool failed_start) {
    const std::string name = s.record.config.name;
    const ServiceConfig& c = s.record.config;
    const bool stable = !failed_start && loop_.Now() - s.started_at >= kStableUptime;
    s.quick_deaths = stable ? 1 : s.quick_deaths + 1;
    Duration delay = c.restart_interval;
    s.backoff = Duration(0);
    if (s.quick_deaths > 1) {
      const Duration base = std::max<Duration>(c.restart_interval, std::chrono::seconds(1));
      const int doublings = std::min(s.quick_deaths - 1, 40);
      const double grown =
          static_cast<double>(base.count()) * static_cast<double>(1LL << doublings);
      const double cap =
          static_cast<double>(std::max(c.max_restart_interval, c.restart_interval).count());
      const double jittered = std::min(grown * jitter_(), cap);
      delay = std::max(Duration(static_cast<int64_t>(jittered)), c.restart_interval);
      s.backoff = delay;
    }
    SetState(s, ServiceState::kRestarting);
    Log(name, "[INFO] Restarting in " + FormatDuration(delay) + " (attempt " +
                  std::to_string(s.record.restarts + 1) + ")");
    if (s.backoff.count()) {
      Log(name, "[WARN] Service keeps dying soon after it starts (" +
                    std::to_string(s.quick_deaths) + " times in a row); backing off to " +
                    FormatDuration(delay));
    }
    s.timer = loop_.RunAfter(delay, [this, name, inc = s.incarnation, gen = s.generation] {
      if (Service* s = Find(name, inc, gen)) {
        s->timer = 0;
        Relaunch(*s);
      }
    });
  }

  // Releases the reservation; the service stays visible and restartable until the deadline
  // (0: zombiePeriod from now), then it is purged.
  void BecomeZombie(Service& s, const std::string& why, int64_t deadline_unix_ns = 0) {
    CancelTimer(s);
    Reap(std::move(s.build));
    Reap(std::move(s.stats));  // logs go on: the stream ends with the container's last line
    Release(s);
    s.record.stopped = true;
    s.usage = {};
    s.backoff = Duration(0);
    const int64_t now_ns = ToUnixNanos(loop_.WallNow());
    s.record.zombie_deadline_unix_ns =
        deadline_unix_ns
            ? deadline_unix_ns
            : now_ns + duration_cast<std::chrono::nanoseconds>(config_.zombie_period).count();
    SetState(s, ServiceState::kZombie);
    const auto left = duration_cast<Duration>(
        std::chrono::nanoseconds(std::max<int64_t>(0, s.record.zombie_deadline_unix_ns - now_ns)));
    Log(s.record.config.name, "[INFO] Service is a zombie (" + why + "); it can be restarted for " +
                                  FormatDuration(left));
    const std::string name = s.record.config.name;
    s.timer = loop_.RunAfter(
        left, [this, name, inc = s.incarnation, gen = s.generation] { Purge(name, inc, gen); });
  }

  void Purge(const std::string& name, uint64_t inc, uint64_t gen) {
    Service* s = Find(name, inc, gen);
    if (!s) return;
    s->timer = 0;
    const std::string id = s->record.container_id;
    DropPrevious(*s);
    Log(name, "[INFO] Service purged");
    Retire(*s);
    services_.erase(name);
    observer_.OnServicePurged(name);
    // The record goes only once the container has: a crash in between leaves a zombie to purge
    // again, never a container nobody knows.
    Async(
        name,
        [id](DockerEngine& engine) {
          return id.empty() ? Status::Ok() : engine.RemoveContainer(id, true);
        },
        [this, name](const Status& removed) {
          if (!removed.ok() && removed.code() != Code::kNotFound) {
            spdlog::error("service {}: cannot remove its container: {}; the next start retries",
                          name, removed.message());
            return;
          }
          if (services_.count(name))
            return;  // deployed again meanwhile: the record is the new one's
          Status status = store_.Remove(name);
          if (!status.ok())
            spdlog::error("state: cannot remove service {}: {}", name, status.message());
          status = secrets_.Remove(name);
          if (!status.ok())
            spdlog::error("secrets: cannot remove those of service {}: {}", name, status.message());
        });
  }

  void OnEngineEvent(const EngineEvent& e) {
    auto path = e.labels.find(kPathLabel);
    if (path != e.labels.end() && path->second != config_.path) return;
    Service* s = nullptr;
    auto label = e.labels.find(kServiceLabel);
    if (path != e.labels.end() && label != e.labels.end()) {
      s = Find(label->second);
    } else {
      for (auto& [name, candidate] : services_) {
        if (candidate.record.container_id == e.container_id) s = &candidate;
      }
    }
    if (!s) return;
    const std::string& name = s->record.config.name;
    if (e.kind == EngineEvent::Kind::kOom) {
      Log(name, "[WARN] Service ran out of memory (memAlloc " +
                    FormatSize(s->record.config.mem_alloc_bytes) + ")");
      return;
    }
    if (e.kind == EngineEvent::Kind::kHealthStatus) {
      if (e.container_id == s->record.container_id) OnEngineHealth(*s, e.action);
      return;
    }
    if (e.kind == EngineEvent::Kind::kStart) {
      OnStartEvent(*s, e);
      return;
    }
    if (e.kind != EngineEvent::Kind::kDie) return;
    if (s->state == ServiceState::kStarting) {
      // Its container id may not be known yet, and the die may be our own restart's.
      s->die_seen = true;
      return;
    }
    if (e.container_id != s->record.container_id) return;  // an earlier container's
    if (s->state == ServiceState::kRunning) {
      if (DieEndsRun(*s, e)) {
        OnDeath(*s, e.exit_code);  // the event says all an inspect would
      } else {
        Verify(*s, false);  // the die may be our own restart's, reported late
      }
    } else {
      s->record.exit_code = e.exit_code;
    }
  }

  // Notes the start event of the run last asked for. The engine is reached through its local
  // socket, so its clock is spawnd's wall clock: a start stamped before the request belongs to an
  // earlier run (e.g. replayed after the stream reconnected). A start missed or ignored here only
  // sends this run's die through Verify.
  void OnStartEvent(Service& s, const EngineEvent& e) {
    if (s.state != ServiceState::kStarting && s.state != ServiceState::kRunning) return;
    if (!s.record.container_id.empty() && e.container_id != s.record.container_id) return;
    if (s.start_requested_unix_ns == 0 || e.time_unix_ns < s.start_requested_unix_ns) return;
    s.start_event_id = e.container_id;
    s.start_event_unix_ns = e.time_unix_ns;
  }

  // Whether a die of the running service's container is the end of the run spawnd last started:
  // it comes after that run's start event in the engine's stream, which orders each container's
  // events, and is stamped no earlier. A die that came before it (the kill of a restart we asked
  // for, reported after the engine's answer) or with no start seen (an adopted container, a start
  // event not yet arrived) is doubtful, and Verify asks the engine.
  static bool DieEndsRun(const Service& s, const EngineEvent& e) {
    return !s.start_event_id.empty() && e.container_id == s.start_event_id &&
           e.time_unix_ns >= s.start_event_unix_ns;
  }

  // After the event stream was lost: whatever died meanwhile is handled as if its event had come,
  // and the log and stats streams of the living are attached again.
  void Resync() {
    spdlog::info("engine: event stream reconnected; checking every service's container");
    for (auto& [name, s] : services_) {
      if (s.state == ServiceState::kRunning) Verify(s, true);
    }
  }

  // ---- health ----

  // The container just started: its health is "starting" until its check says otherwise.
  void WatchHealth(Service& s) {
    const ServiceConfig& c = s.record.config;
    if (!c.health_check) return;
    const std::string name = c.name;
    const bool http = !c.health_check->http.empty();
    health_.Watch(name, *c.health_check, http && c.use_host_net ? "127.0.0.1" : "");
    if (!http || c.use_host_net) return;
    // The container's address on its network is known once it runs.
    const std::string id = s.record.container_id;
    Async(
        name, [id](DockerEngine& engine) { return engine.InspectContainer(id); },
        [this, name, id](const Result<ContainerInfo>& info) {
          Service* s = Find(name);
          if (!s || s->record.container_id != id || !info.ok()) return;
          health_.SetAddress(name, info->ip_address);
        });
  }

  // A health_status event of the engine-run check ("health_status: unhealthy"). An unhealthy one
  // carries no output: the container's last failing probe is read first.
  void OnEngineHealth(Service& s, const std::string& action) {
    const std::string name = s.record.config.name;
    const size_t colon = action.find(':');
    std::string status = colon == std::string::npos ? "" : action.substr(colon + 1);
    while (!status.empty() && status.front() == ' ') status.erase(0, 1);
    if (s.state != ServiceState::kRunning) return;
    if (status != kHealthUnhealthy) {
      health_.OnEngineHealth(name, status, "");
      return;
    }
    const std::string id = s.record.container_id;
    Async(
        name, [id](DockerEngine& engine) { return engine.InspectContainer(id); },
        [this, name, inc = s.incarnation, gen = s.generation,
         status](const Result<ContainerInfo>& info) {
          if (!Find(name, inc, gen)) return;
          std::string output = info.ok() ? info->health_output : "";
          while (!output.empty() && (output.back() == '\n' || output.back() == ' '))
            output.pop_back();
          health_.OnEngineHealth(name, status, output);
        });
  }

  // Health changed (HealthMonitor): heartbeat it; an unhealthy service with autoRestart is
  // restarted as if it had died, with the same back-off.
  void OnHealthChanged(const std::string& name) {
    Service* s = Find(name);
    if (!s || s->state != ServiceState::kRunning) return;
    const std::string health = health_.Health(name);
    const std::string output = health_.Output(name);
    observer_.OnServiceChanged(Snapshot(*s));
    if (health != kHealthUnhealthy) {
      Log(name, "[INFO] Service is " + health);
      if (health == kHealthHealthy && s->revert_timer) Accept(*s);
      return;
    }
    const std::string why = "its health check failed " +
                            std::to_string(s->record.config.health_check->retries) +
                            " times in a row" + (output.empty() ? "" : ": " + output);
    Log(name, "[WARN] Service is unhealthy: " + why);
    if (!s->record.config.auto_restart) return;
    Log(name, "[INFO] Restarting the unhealthy service");
    observer_.OnServiceAction(name, "restart", "unhealthy: " + why);
    Reap(std::move(s->stats));
    s->usage = {};
    StopInBackground(name, s->record.container_id, s->record.config.stop_timeout);
    // Queued after the stop under the service's key, the restart starts the stopped container.
    ScheduleRestart(*s, /*failed_start=*/false);
  }

  // ---- previous generation, rollback ----

  std::string ContainerName(const std::string& service) const {
    return "spawnpoint_" + config_.alias + "_" + service;
  }

  // What a Replace keeps of `old` (retired): its container, stopped and renamed, unless it never
  // had one. The generation before it is dropped. Queued under the service's key, so the new
  // container is created only after the name is free.
  std::optional<PreviousGeneration> KeepAsPrevious(Service& old) {
    const std::string name = old.record.config.name;
    DropPrevious(old);
    const std::string id = old.record.container_id;
    if (id.empty()) return std::nullopt;
    const auto timeout = duration_cast<seconds>(old.record.config.stop_timeout);
    Background(name,
               [id, timeout, kept = ContainerName(name) + kPreviousSuffix](DockerEngine& engine) {
                 engine.StopContainer(id, timeout).IgnoreError();
                 engine.RemoveContainer(kept, true).IgnoreError();  // one a crash may have left
                 if (!engine.RenameContainer(id, kept).ok())
                   engine.RemoveContainer(id, true).IgnoreError();
               });
    return PreviousGeneration{old.record.config,   old.record.entity, old.record.image_tag, id,
                              old.record.restarts, old.record.archive};
  }

  // Removes the kept container of the previous generation, if any.
  void DropPrevious(Service& s) {
    if (!s.record.previous) return;
    const std::string id = s.record.previous->container_id;
    s.record.previous.reset();
    s.record.trial_deadline_unix_ns = 0;
    Background(s.record.config.name,
               [id](DockerEngine& engine) { engine.RemoveContainer(id, true).IgnoreError(); });
  }

  // A replacement with a health check must become healthy within startPeriod + retries x interval
  // of its first start, or it is reverted.
  void BeginTrial(Service& s) {
    if (!s.record.previous || !s.record.config.health_check || s.trial_started) return;
    const HealthCheck& h = *s.record.config.health_check;
    s.trial_started = true;
    const Duration window = h.start_period + h.interval * h.retries;
    const std::string name = s.record.config.name;
    const int64_t now_ns = ToUnixNanos(loop_.WallNow());
    Duration left = window;
    if (s.record.trial_deadline_unix_ns == 0) {
      s.record.trial_deadline_unix_ns =
          now_ns + duration_cast<std::chrono::nanoseconds>(window).count();
      Persist(s, false);
      Log(name, "[INFO] The new deployment must be healthy within " + FormatDuration(window) +
                    ", or the previous one comes back");
    } else {
      // Adopted after a restart of spawnd: the window goes on from where it was.
      left = duration_cast<Duration>(
          std::chrono::nanoseconds(std::max<int64_t>(0, s.record.trial_deadline_unix_ns - now_ns)));
      Log(name, "[INFO] The new deployment must still be healthy within " + FormatDuration(left) +
                    " (of its " + FormatDuration(window) + "), or the previous one comes back");
    }
    s.revert_timer = loop_.RunAfter(left, [this, name, inc = s.incarnation, window] {
      Service* s = Find(name);
      if (!s || s->incarnation != inc) return;
      s->revert_timer = 0;
      RevertTo(*s, "the new deployment was not healthy within " + FormatDuration(window));
    });
  }

  // The replacement passed its trial: the previous generation is dropped.
  void Accept(Service& s) {
    loop_.Cancel(s.revert_timer);
    s.revert_timer = 0;
    DropPrevious(s);
    Persist(s, false);
    Log(s.record.config.name,
        "[SUCCESS] The new deployment is healthy; the previous one is dropped");
  }

  // Stops and removes the current deployment and starts the previous one's container again under
  // the live name. Callers check that the previous one fits (an automatic revert logs instead).
  void RevertTo(Service& s, const std::string& why) {
    const std::string name = s.record.config.name;
    PreviousGeneration previous = *s.record.previous;
    const int64_t mem_back = s.record.reserved ? s.record.config.mem_alloc_bytes : 0;
    const int64_t cpu_back = s.record.reserved ? s.record.config.cpu_shares : 0;
    Status fits = CheckFits(previous.config, mem_back, cpu_back);
    if (!fits.ok()) {
      Log(name, "[ERROR] Cannot roll back (" + why + "): " + fits.message());
      return;
    }
    Log(name, "[WARN] Rolling back to the previous deployment: " + why);
    observer_.OnServiceAction(name, "revert", why);
    Retire(s);
    Release(s);
    const std::string current = s.record.container_id;
    const auto timeout = duration_cast<seconds>(s.record.config.stop_timeout);
    Background(name, [current, timeout, id = previous.container_id,
                      live = ContainerName(name)](DockerEngine& engine) {
      if (!current.empty()) {
        engine.StopContainer(current, timeout).IgnoreError();
        engine.RemoveContainer(current, true).IgnoreError();
      }
      engine.RemoveContainer(live, true).IgnoreError();  // a container left under the name
      engine.RenameContainer(id, live).IgnoreError();
    });
    services_.erase(name);
    Service& back = NewService(name);
    back.record.config = previous.config;
    back.record.entity = previous.entity;
    back.record.archive = previous.archive;
    back.record.image_tag = previous.image_tag;
    back.record.container_id = previous.container_id;
    back.record.restarts = previous.restarts;
    Reserve(back);
    Persist(back, true);
    StartExisting(back);
  }

  // ---- adoption ----

  static std::optional<ContainerInfo> FindInfo(const std::vector<ContainerInfo>& infos,
                                               const std::string& id) {
    for (const auto& c : infos) {
      if (c.id == id) return c;
    }
    return std::nullopt;
  }

  // A record rebuilt from a container's labels (the running one preferred).
  std::optional<ServiceRecord> Recover(const std::string& name,
                                       const std::vector<ContainerInfo>& infos) {
    std::vector<const ContainerInfo*> order;
    for (const auto& c : infos) {
      if (c.running) order.push_back(&c);
    }
    for (const auto& c : infos) {
      if (!c.running) order.push_back(&c);
    }
    for (const ContainerInfo* c : order) {
      if (c->name.ends_with(kPreviousSuffix)) continue;  // never the live one
      auto label = c->labels.find(kConfigLabel);
      if (label == c->labels.end()) continue;
      auto config = ParseServiceConfig(label->second, "label of container " + c->name);
      if (!config.ok() || config->name != name) continue;
      ServiceRecord record;
      record.config = *config;
      record.container_id = c->id;
      record.image_tag = c->image;
      return record;
    }
    return std::nullopt;
  }

  void Adopt(ServiceRecord record, const std::optional<ContainerInfo>& info) {
    const std::string name = record.config.name;
    Service& s = NewService(name);
    s.record = std::move(record);
    s.record.reserved = false;  // taken again below, with checks
    if (!info) s.record.container_id.clear();
    const bool alive = info && info->running;
    if (info && !alive) s.record.exit_code = info->exit_code;
    if (s.record.stopped) {
      if (alive) {
        spdlog::warn("adopt: service {} was stopped but its container runs; stopping it", name);
        StopInBackground(name, info->id, s.record.config.stop_timeout);
      }
      BecomeZombie(s, "stopped before spawnd restarted", s.record.zombie_deadline_unix_ns);
      return;
    }
    Status fits = CheckFits(s.record.config, 0, 0);
    if (alive) {
      if (fits.ok()) {
        Reserve(s);
      } else {
        spdlog::error(
            "adopt: service {} no longer fits the pool ({}); it keeps running, unreserved, and is "
            "supervised as before",
            name, fits.message());
        Log(name, "[WARN] " + fits.message() + " (adopted unreserved)");
      }
      spdlog::info("adopt: service {} is running in {}; supervising it", name, Short(info->id));
      s.started_at = loop_.Now();
      WatchHealth(s);
      BeginTrial(s);  // a replacement still on trial when spawnd stopped: its window goes on
      SetState(s, ServiceState::kRunning);
      Attach(s, 0);
      return;
    }
    if (info && !s.record.config.auto_restart) {
      BecomeZombie(s, "it exited while spawnd was away");
      return;
    }
    if (!fits.ok()) {
      spdlog::error("adopt: service {} cannot be started again: {}", name, fits.message());
      Log(name, fits.ToString());
      BecomeZombie(s, "it no longer fits this spawnpoint");
      return;
    }
    Reserve(s);
    if (info) {
      spdlog::info("adopt: service {} died while spawnd was away; restarting it", name);
      StartExisting(s);
    } else {
      spdlog::info("adopt: service {} has no container; deploying it again", name);
      BeginBuild(s);
    }
  }

  ServiceSnapshot Snapshot(const Service& s) const {
    ServiceSnapshot out;
    out.name = s.record.config.name;
    out.state = s.state;
    out.container_id = s.record.container_id;
    out.config = s.record.config;
    out.restarts = s.record.restarts;
    out.exit_code = s.record.exit_code;
    out.backoff = s.backoff;
    out.reserved = s.record.reserved;
    out.usage = s.usage;
    if (s.state == ServiceState::kRunning) {
      out.health = health_.Health(out.name);
      out.health_output = health_.Output(out.name);
    }
    return out;
  }

  const SpawndConfig config_;
  DockerEngine& engine_;
  EventLoop& loop_;
  StateStore& store_;
  ServiceSecrets& secrets_;
  Executor& executor_;
  SupervisorObserver& observer_;
  JitterSource jitter_;
  // Read by tasks Posted from other threads, written only on the loop thread: false once shut down.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // Signed: a bug would show as a negative number in the heartbeat, never as a wrap-around.
  int64_t free_mem_;
  int64_t free_cpu_;
  std::map<std::string, Service> services_;
  uint64_t last_incarnation_ = 0;
  uint64_t last_generation_ = 0;  // generations are unique across services and their replacements
  uint64_t last_token_ = 0;
  std::unique_ptr<Stream> events_;
  bool pids_checked_ = false;          // a created container's pids limit was read back
  std::vector<std::string> warnings_;  // for the spawnpoint heartbeat
  ImageJanitor janitor_;
  HealthMonitor health_;  // last: its callbacks use the members above
};

}  // namespace

std::unique_ptr<Supervisor> MakeSupervisor(const SpawndConfig& config, DockerEngine& engine,
                                           EventLoop& loop, StateStore& store,
                                           ServiceSecrets& secrets, Executor& executor,
                                           SupervisorObserver& observer, JitterSource jitter,
                                           HttpProber* prober) {
  return std::make_unique<SupervisorImpl>(config, engine, loop, store, secrets, executor, observer,
                                          std::move(jitter), prober);
}

}  // namespace spawn
