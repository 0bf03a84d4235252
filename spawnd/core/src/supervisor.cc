#include "spawn/core/supervisor.h"

#include <spdlog/spdlog.h>

#include <map>

#include "spawn/common/tar.h"
#include "spawn/common/units.h"
#include "spawn/core/executor.h"
#include "spawn/core/state_store.h"
#include "spawn/engine/dockerfile.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using proto::ServiceState;
using std::chrono::duration_cast;
using std::chrono::seconds;

// A service that dies within this long of its start counts as failing; one that stays up this long
// has its failures forgotten.
constexpr auto kStableUptime = std::chrono::minutes(10);

std::string Mib(int64_t bytes) { return std::to_string(bytes / kMiB); }

struct Service {
  ServiceRecord record;
  ServiceState state = ServiceState::kBuilding;
  uint64_t generation = 0;  // bumped on every transition; stale async results compare and drop
  SteadyTime started_at;
  int quick_deaths = 0;
  Duration backoff{0};
  int expected_dies = 0;                // dies caused by our own restart, not failures
  int64_t start_requested_unix_ns = 0;  // output from here on belongs to the current run
  EventLoop::TimerId timer = 0;
  std::shared_ptr<Stream> build, logs, stats;
  ContainerStats usage;
};

class SupervisorImpl final : public Supervisor {
 public:
  SupervisorImpl(const SpawndConfig& config, DockerEngine& engine, EventLoop& loop,
                 StateStore& store, Executor& executor, SupervisorObserver& observer,
                 JitterSource jitter)
      : config_(config),
        engine_(engine),
        loop_(loop),
        store_(store),
        executor_(executor),
        observer_(observer),
        jitter_(std::move(jitter)),
        free_mem_(config.mem_alloc_bytes),
        free_cpu_(config.cpu_shares) {}

  ~SupervisorImpl() override { Shutdown(); }

  Status Start() override {
    events_ = engine_.FollowEvents(
        [this](const EngineEvent& e) { loop_.Post([this, e] { OnEngineEvent(e); }); },
        [this] { loop_.Post([this] { Resync(); }); });
    auto loaded = store_.Load();
    if (!loaded.ok()) {
      spdlog::error("state: cannot read the state directory: {}", loaded.status().message());
      loaded = LoadedState{{}, {}, true};
    }
    for (const auto& name : loaded->damaged) {
      spdlog::error("state: the record of service {} is damaged; recovering it from its container",
                    name);
    }
    auto containers = engine_.ListContainers(kPathLabel, config_.path);
    if (!containers.ok()) return containers.status().WithContext("cannot list containers");
    std::map<std::string, ContainerInfo> by_service;
    for (const auto& c : *containers) {
      auto it = c.labels.find(kServiceLabel);
      if (it != c.labels.end()) by_service[it->second] = c;
    }
    for (auto& record : loaded->records) {
      const std::string name = record.config.name;
      auto container = by_service.find(name);
      std::optional<ContainerInfo> info;
      if (container != by_service.end()) {
        info = container->second;
        by_service.erase(container);
      }
      Adopt(std::move(record), info);
    }
    for (const auto& [name, info] : by_service) {
      const bool recoverable = loaded->missing || loaded->damaged.count(name);
      auto label = info.labels.find(kConfigLabel);
      if (recoverable && label != info.labels.end()) {
        auto config = ParseServiceConfig(label->second, "label of " + info.name);
        if (config.ok()) {
          spdlog::warn("state: recovered service {} from its container's labels", name);
          ServiceRecord record;
          record.config = *config;
          record.container_id = info.id;
          record.image_tag = info.image;
          Adopt(std::move(record), info);
          continue;
        }
      }
      spdlog::warn(
          "adopt: removing container {} ({}): it carries this spawnpoint's label but no service "
          "knows it",
          info.name, info.id.substr(0, 12));
      const std::string id = info.id;
      executor_.Run(name, [this, id] { engine_.RemoveContainer(id, true).IgnoreError(); });
    }
    return Status::Ok();
  }

  void Shutdown() override {
    events_.reset();
    for (auto& [name, s] : services_) {
      if (s.timer) loop_.Cancel(s.timer);
      s.timer = 0;
      s.build.reset();
      s.logs.reset();
      s.stats.reset();
    }
  }

  Status Deploy(const proto::DeployRequest& request) override {
    const ServiceConfig& c = request.config;
    SPAWN_RETURN_IF_ERROR(ValidateServiceName(c.name));
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
    int64_t mem_back = 0, cpu_back = 0;  // what replacing the old one would give back
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
    if (existing != services_.end()) {
      Log(c.name, "[INFO] Replacing the running service with the new deployment");
      Retire(existing->second);
      Release(existing->second);
      const std::string old_id = existing->second.record.container_id;
      const auto timeout = duration_cast<seconds>(existing->second.record.config.stop_timeout);
      if (!old_id.empty()) {
        executor_.Run(c.name, [this, old_id, timeout] {
          engine_.StopContainer(old_id, timeout).IgnoreError();
          engine_.RemoveContainer(old_id, true).IgnoreError();
        });
      }
      services_.erase(existing);
    }
    Service& s = services_[c.name];
    s.record.config = c;
    s.record.archive = request.archive;
    s.record.entity = request.entity;
    Reserve(s);
    Persist(s, true);
    Log(c.name, "[INFO] Launching service...");
    BeginBuild(s);
    return Status::Ok();
  }

  Status Restart(const std::string& name) override {
    auto it = services_.find(name);
    if (it == services_.end()) return UnknownService(name);
    Service& s = it->second;
    switch (s.state) {
      case ServiceState::kBuilding:
      case ServiceState::kStarting:
        return Status::Ok();  // it is about to run anyway: the restart is absorbed
      case ServiceState::kRunning: {
        Log(name, "[INFO] Restarting service on request");
        s.expected_dies++;
        s.start_requested_unix_ns = ToUnixNanos(loop_.WallNow());
        SetState(s, ServiceState::kStarting);
        const uint64_t gen = s.generation;
        const std::string id = s.record.container_id;
        const auto timeout = duration_cast<seconds>(s.record.config.stop_timeout);
        executor_.Run(name, [this, name, id, timeout, gen] {
          Status status = engine_.RestartContainer(id, timeout);
          loop_.Post(
              [this, name, gen, status] { OnContainerStarted(name, gen, "", status, true); });
        });
        return Status::Ok();
      }
      case ServiceState::kExited:
      case ServiceState::kRestarting:
        if (s.timer) loop_.Cancel(s.timer);
        s.timer = 0;
        StartExisting(s);
        return Status::Ok();
      case ServiceState::kZombie: {
        SPAWN_RETURN_IF_ERROR(CheckFits(s.record.config, 0, 0));
        if (s.timer) loop_.Cancel(s.timer);
        s.timer = 0;
        Reserve(s);
        s.record.stopped = false;
        s.record.zombie_deadline_unix_ns = 0;
        s.quick_deaths = 0;
        Log(name, "[INFO] Reviving service");
        if (s.record.container_id.empty())
          BeginBuild(s);
        else
          StartExisting(s);
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

  Status Stop(const std::string& name) override {
    auto it = services_.find(name);
    if (it == services_.end()) return UnknownService(name);
    Service& s = it->second;
    if (s.state == ServiceState::kZombie) return Status::Ok();
    Log(name, "[INFO] Stopping service");
    const bool has_running_container =
        !s.record.container_id.empty() &&
        (s.state == ServiceState::kRunning || s.state == ServiceState::kStarting);
    BecomeZombie(s, "stopped on request");
    if (has_running_container) {
      const std::string id = s.record.container_id;
      const auto timeout = duration_cast<seconds>(s.record.config.stop_timeout);
      executor_.Run(name, [this, name, id, timeout] {
        Status status = engine_.StopContainer(id, timeout);
        if (!status.ok()) {
          loop_.Post([this, name, status] { Log(name, status.ToString() + " while stopping"); });
        }
      });
    }
    return Status::Ok();
  }

  std::vector<ServiceSnapshot> Services() const override {
    std::vector<ServiceSnapshot> out;
    for (const auto& [name, s] : services_) out.push_back(Snapshot(s));
    return out;
  }

  PoolSnapshot Pool() const override {
    return {config_.mem_alloc_bytes, config_.cpu_shares, free_mem_, free_cpu_};
  }

 private:
  static Status UnknownService(const std::string& name) {
    return Status::NotFound("no service named " + name + " on this spawnpoint");
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

  void Reserve(Service& s) {
    if (s.record.reserved) return;
    free_mem_ -= s.record.config.mem_alloc_bytes;
    free_cpu_ -= s.record.config.cpu_shares;
    s.record.reserved = true;
  }

  void Release(Service& s) {
    if (!s.record.reserved) return;
    free_mem_ += s.record.config.mem_alloc_bytes;
    free_cpu_ += s.record.config.cpu_shares;
    s.record.reserved = false;
  }

  // ---- transitions ----

  void SetState(Service& s, ServiceState state) {
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
    if (!status.ok())
      spdlog::error("state: cannot save service {}: {}", s.record.config.name, status.message());
  }

  // Drops timers and streams; their callbacks are ignored from now on (generation bumped by
  // caller).
  void Retire(Service& s) {
    if (s.timer) loop_.Cancel(s.timer);
    s.timer = 0;
    Reap(std::move(s.build));
    Reap(std::move(s.logs));
    Reap(std::move(s.stats));
    s.generation = ++last_generation_;
  }

  // Cancelling a stream joins its thread, which may take a moment: do it off the loop thread.
  void Reap(std::shared_ptr<Stream> stream) {
    if (stream) executor_.Run("reaper", [stream] { stream->Cancel(); });
  }

  void BeginBuild(Service& s) {
    const std::string name = s.record.config.name;
    const std::string dockerfile = GenerateDockerfile(s.record.config, config_.default_image);
    s.record.image_tag = ImageTag(s.record.config, dockerfile, s.record.archive);
    s.record.container_id.clear();
    SetState(s, ServiceState::kBuilding);
    const uint64_t gen = s.generation;
    const std::string tag = s.record.image_tag;
    const std::string archive = s.record.archive;
    executor_.Run(name, [this, name, gen, tag, dockerfile, archive] {
      auto exists = engine_.ImageExists(tag);
      loop_.Post([this, name, gen, tag, dockerfile, archive, exists] {
        Service* s = Find(name, gen);
        if (!s) return;
        if (exists.ok() && *exists) {
          Log(name, "[INFO] Image " + tag + " is up to date");
          CreateAndStart(*s);
          return;
        }
        Log(name, "[INFO] Building image " + tag);
        s->build = engine_.Build(
            {tag, dockerfile, archive, true},
            [this, name](const std::string& line) {
              loop_.Post([this, name, line] { Log(name, line); });
            },
            [this, name, gen](const Status& status) {
              loop_.Post([this, name, gen, status] { OnBuildDone(name, gen, status); });
            });
      });
    });
  }

  void OnBuildDone(const std::string& name, uint64_t gen, const Status& status) {
    Service* s = Find(name, gen);
    if (!s) return;
    Reap(std::move(s->build));
    if (!status.ok()) {
      Log(name, status.ToString());
      BecomeZombie(*s, "the image build failed");
      return;
    }
    Log(name, "[INFO] Image built");
    CreateAndStart(*s);
  }

  ContainerSpec SpecFor(const Service& s) const {
    const ServiceConfig& c = s.record.config;
    ContainerSpec spec;
    spec.name = "spawnpoint_" + config_.alias + "_" + c.name;
    spec.image = s.record.image_tag;
    spec.labels = {{kPathLabel, config_.path},
                   {"io.spawnpoint.alias", config_.alias},
                   {kServiceLabel, c.name},
                   {kConfigLabel, ServiceConfigToYaml(c)}};
    spec.memory_bytes = c.mem_alloc_bytes;
    spec.cpu_shares = c.cpu_shares;
    spec.network_mode = c.use_host_net ? "host" : "none";
    spec.volumes = c.volumes;
    spec.devices = c.devices;
    spec.env = {"SPAWNPOINT_BROKER=" + config_.container_broker,
                "SPAWNPOINT_SERVICE_TOPIC=" + topics::ServiceTopic(config_.path, c.name),
                "SPAWNPOINT_ALIAS=" + config_.alias, "SPAWNPOINT_PATH=" + config_.path};
    if (!s.record.entity.empty())
      spec.env.push_back(std::string("SPAWNPOINT_ENTITY=") + kServiceWorkDir + "/entity.key");
    spec.env.insert(spec.env.end(), c.env.begin(), c.env.end());
    return spec;
  }

  void CreateAndStart(Service& s) {
    const std::string name = s.record.config.name;
    s.start_requested_unix_ns = ToUnixNanos(loop_.WallNow());
    SetState(s, ServiceState::kStarting);
    const uint64_t gen = s.generation;
    const ContainerSpec spec = SpecFor(s);
    const std::string entity = s.record.entity;
    executor_.Run(name, [this, name, gen, spec, entity] {
      auto id = engine_.CreateContainer(spec);
      if (!id.ok() && id.status().code() == Code::kConflict) {
        // A container left behind under our name (e.g. by a crash mid-deploy): replace it.
        engine_.RemoveContainer(spec.name, true).IgnoreError();
        id = engine_.CreateContainer(spec);
      }
      Status status = id.status();
      if (id.ok() && !entity.empty()) {
        TarWriter tar;
        tar.AddFile("entity.key", entity, 0600);
        status = engine_.PutArchive(*id, kServiceWorkDir, tar.Finish());
      }
      if (status.ok()) status = engine_.StartContainer(*id);
      const std::string container = id.ok() ? *id : "";
      loop_.Post([this, name, gen, container, status] {
        OnContainerStarted(name, gen, container, status, false);
      });
    });
  }

  void StartExisting(Service& s) {
    const std::string name = s.record.config.name;
    s.start_requested_unix_ns = ToUnixNanos(loop_.WallNow());
    SetState(s, ServiceState::kStarting);
    const uint64_t gen = s.generation;
    const std::string id = s.record.container_id;
    executor_.Run(name, [this, name, gen, id] {
      Status status = engine_.StartContainer(id);
      loop_.Post(
          [this, name, gen, id, status] { OnContainerStarted(name, gen, id, status, true); });
    });
  }

  void OnContainerStarted(const std::string& name, uint64_t gen, const std::string& id,
                          const Status& status, bool is_restart) {
    auto it = services_.find(name);
    if (it == services_.end()) return;
    Service& s = it->second;
    if (s.generation != gen) {
      // Stopped (or replaced) while starting: make sure the new container does not keep running.
      if (!id.empty() && id != s.record.container_id && status.ok()) {
        executor_.Run(name, [this, id] { engine_.RemoveContainer(id, true).IgnoreError(); });
      } else if (s.state == ServiceState::kZombie && status.ok() && !id.empty()) {
        const auto timeout = duration_cast<seconds>(s.record.config.stop_timeout);
        executor_.Run(name,
                      [this, id, timeout] { engine_.StopContainer(id, timeout).IgnoreError(); });
      }
      if (s.state == ServiceState::kZombie && !id.empty() && s.record.container_id.empty()) {
        s.record.container_id = id;
        Persist(s, false);
      }
      return;
    }
    if (!id.empty()) s.record.container_id = id;
    if (!status.ok()) {
      Log(name, status.ToString());
      BecomeZombie(s, "its container could not be started");
      return;
    }
    if (is_restart) ++s.record.restarts;
    s.started_at = loop_.Now();
    s.backoff = Duration(0);
    SetState(s, ServiceState::kRunning);
    Log(name, "[SUCCESS] Service container has started");
    Attach(s, s.start_requested_unix_ns);
  }

  // Follows the container's output from `since_unix_ns` (0: from now) and its stats.
  void Attach(Service& s, int64_t since_unix_ns) {
    const std::string name = s.record.config.name;
    const uint64_t gen = s.generation;
    const std::string id = s.record.container_id;
    Reap(std::move(s.logs));
    Reap(std::move(s.stats));
    s.logs = engine_.FollowLogs(
        id, since_unix_ns,
        [this, name](const LogLine& l) {
          loop_.Post([this, name, l] { observer_.OnServiceLog(name, l.stream, l.text); });
        },
        [](const Status&) {});
    s.stats = engine_.FollowStats(
        id,
        [this, name, gen](const ContainerStats& st) {
          loop_.Post([this, name, gen, st] {
            if (Service* s = Find(name, gen)) s->usage = st;
          });
        },
        [](const Status&) {});
  }

  void BecomeZombie(Service& s, const std::string& why) {
    Retire(s);
    Release(s);
    s.record.stopped = true;
    s.usage = {};
    s.backoff = Duration(0);
    s.record.zombie_deadline_unix_ns =
        ToUnixNanos(loop_.WallNow()) +
        duration_cast<std::chrono::nanoseconds>(config_.zombie_period).count();
    SetState(s, ServiceState::kZombie);
    Log(s.record.config.name, "[INFO] Service is a zombie (" + why + "); it can be restarted for " +
                                  FormatDuration(config_.zombie_period));
    ArmPurge(s, config_.zombie_period);
  }

  void ArmPurge(Service& s, Duration delay) {
    const std::string name = s.record.config.name;
    const uint64_t gen = s.generation;
    s.timer = loop_.RunAfter(delay, [this, name, gen] { Purge(name, gen); });
  }

  void Purge(const std::string& name, uint64_t gen) {
    Service* s = Find(name, gen);
    if (!s) return;
    const std::string id = s->record.container_id;
    if (!id.empty())
      executor_.Run(name, [this, id] { engine_.RemoveContainer(id, true).IgnoreError(); });
    Status removed = store_.Remove(name);
    if (!removed.ok())
      spdlog::error("state: cannot remove service {}: {}", name, removed.message());
    Retire(*s);
    services_.erase(name);
    observer_.OnServicePurged(name);
  }

  void OnDeath(Service& s, int exit_code) {
    const std::string name = s.record.config.name;
    s.record.exit_code = exit_code;
    Reap(std::move(s.stats));
    s.usage = {};
    if (!s.record.config.auto_restart) {
      Log(name, "[INFO] Service exited with code " + std::to_string(exit_code));
      BecomeZombie(s, "it exited and autoRestart is off");
      return;
    }
    const auto uptime = loop_.Now() - s.started_at;
    s.quick_deaths = uptime >= kStableUptime ? 1 : s.quick_deaths + 1;
    Duration delay = s.record.config.restart_interval;
    s.backoff = Duration(0);
    if (s.quick_deaths > 1) {
      const Duration base =
          std::max<Duration>(s.record.config.restart_interval, std::chrono::seconds(1));
      const int doublings = std::min(s.quick_deaths - 1, 30);
      const double grown = static_cast<double>(base.count()) *
                           static_cast<double>(int64_t{1} << std::min(doublings, 40));
      const double capped = std::min(
          grown * jitter_(), static_cast<double>(s.record.config.max_restart_interval.count()));
      delay = std::max(Duration(static_cast<int64_t>(capped)), s.record.config.restart_interval);
      s.backoff = delay;
    }
    SetState(s, ServiceState::kRestarting);
    Log(name, "[INFO] Service exited with code " + std::to_string(exit_code) + "; restarting in " +
                  FormatDuration(delay) + " (restart " + std::to_string(s.record.restarts + 1) +
                  ")");
    if (s.backoff.count()) {
      Log(name, "[WARN] Service keeps dying soon after it starts (" +
                    std::to_string(s.quick_deaths) + " times); backing off to " +
                    FormatDuration(delay));
    }
    const uint64_t gen = s.generation;
    s.timer = loop_.RunAfter(delay, [this, name, gen] {
      if (Service* s = Find(name, gen)) {
        s->timer = 0;
        StartExisting(*s);
      }
    });
  }

  void OnEngineEvent(const EngineEvent& e) {
    auto label = e.labels.find(kPathLabel);
    if (label == e.labels.end() || label->second != config_.path) return;
    for (auto& [name, s] : services_) {
      if (s.record.container_id != e.container_id) continue;
      if (e.kind == EngineEvent::Kind::kOom)
        Log(name, "[WARN] Service ran out of memory (memAlloc " +
                      FormatSize(s.record.config.mem_alloc_bytes) + ")");
      if (e.kind != EngineEvent::Kind::kDie) return;
      if (s.expected_dies > 0) {
        --s.expected_dies;
        return;
      }
      if (s.state == ServiceState::kRunning)
        OnDeath(s, e.exit_code);
      else
        s.record.exit_code = e.exit_code;
      return;
    }
  }

  // After the event stream was lost: whatever died meanwhile is handled as if its event had come.
  void Resync() {
    spdlog::info("engine: event stream reconnected; checking every service's container");
    for (auto& [name, s] : services_) {
      if (s.state != ServiceState::kRunning || s.record.container_id.empty()) continue;
      auto info = engine_.InspectContainer(s.record.container_id);
      if (info.ok() && info->running) {
        Attach(s, 0);
        continue;
      }
      s.expected_dies = 0;
      OnDeath(s, info.ok() ? info->exit_code : -1);
    }
  }

  void Adopt(ServiceRecord record, const std::optional<ContainerInfo>& info) {
    const std::string name = record.config.name;
    Service& s = services_[name];
    const bool was_reserved = record.reserved;
    s.record = std::move(record);
    s.record.reserved = false;
    if (info) s.record.container_id = info->id;
    const bool alive = info && info->running;
    if (alive || (!s.record.stopped && s.record.config.auto_restart) ||
        (!s.record.stopped && !info)) {
      Status fits = CheckFits(s.record.config, 0, 0);
      if (!fits.ok()) {
        spdlog::error("adopt: service {} no longer fits the pool ({}); it keeps running unreserved",
                      name, fits.message());
      } else {
        Reserve(s);
      }
    }
    (void)was_reserved;
    if (alive) {
      spdlog::info("adopt: service {} is running in {}; supervising it", name,
                   info->id.substr(0, 12));
      s.started_at = loop_.Now();
      SetState(s, ServiceState::kRunning);
      Attach(s, 0);
      return;
    }
    if (!s.record.stopped && info && s.record.config.auto_restart) {
      spdlog::info("adopt: service {} died while spawnd was away; restarting it", name);
      s.record.exit_code = info->exit_code;
      StartExisting(s);
      return;
    }
    if (!s.record.stopped && !info) {
      spdlog::info("adopt: service {} has no container; deploying it again", name);
      BeginBuild(s);
      return;
    }
    // A zombie, or dead without autoRestart: a zombie for what is left of its period.
    Release(s);
    if (info) s.record.exit_code = info->exit_code;
    const int64_t now_ns = ToUnixNanos(loop_.WallNow());
    if (!s.record.stopped || s.record.zombie_deadline_unix_ns == 0) {
      s.record.stopped = true;
      s.record.zombie_deadline_unix_ns =
          now_ns + duration_cast<std::chrono::nanoseconds>(config_.zombie_period).count();
    }
    SetState(s, ServiceState::kZombie);
    ArmPurge(s, duration_cast<Duration>(std::chrono::nanoseconds(
                    std::max<int64_t>(0, s.record.zombie_deadline_unix_ns - now_ns))));
  }

  Service* Find(const std::string& name, uint64_t gen) {
    auto it = services_.find(name);
    return it != services_.end() && it->second.generation == gen ? &it->second : nullptr;
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
    out.usage = s.usage;
    return out;
  }

  const SpawndConfig config_;
  DockerEngine& engine_;
  EventLoop& loop_;
  StateStore& store_;
  Executor& executor_;
  SupervisorObserver& observer_;
  JitterSource jitter_;
  int64_t free_mem_;  // signed: a bug shows as a negative number in the heartbeat, not a wrap
  int64_t free_cpu_;
  std::map<std::string, Service> services_;
  uint64_t last_generation_ = 0;  // generations are unique across services and their replacements
  std::unique_ptr<Stream> events_;
};

}  // namespace

std::unique_ptr<Supervisor> MakeSupervisor(const SpawndConfig& config, DockerEngine& engine,
                                           EventLoop& loop, StateStore& store, Executor& executor,
                                           SupervisorObserver& observer, JitterSource jitter) {
  return std::make_unique<SupervisorImpl>(config, engine, loop, store, executor, observer,
                                          std::move(jitter));
}

}  // namespace spawn
