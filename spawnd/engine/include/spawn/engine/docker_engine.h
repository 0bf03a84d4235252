// DockerEngine: the container-engine port, shaped by what the supervisor needs.
//
// CurlDockerEngine (curl_docker_engine.h) is the real adapter (Docker Engine HTTP API over the unix
// socket); FakeDockerEngine (spawn::engine_testing) is the test double that records calls and can
// be told to fail.
//
// Contracts: every call has a timeout. Short calls return a Status/Result whose code maps the
// engine's HTTP answer (404 kNotFound, 409 kConflict, 5xx kInternal, unreachable kUnavailable,
// timeout kTimeout) and whose message is the engine's. Long calls (build, events, logs, stats)
// never block the caller: they return a Stream at once and deliver on the engine's own threads;
// callbacks must only hand work off. Destroying or Cancel()ing a Stream stops its callbacks (none
// run after Cancel returns). All methods are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "spawn/common/status.h"

namespace spawn {

struct EngineVersion {
  std::string version;      // "20.10.24"
  std::string api_version;  // "1.41"
};

struct ContainerSpec {
  std::string name;
  std::string image;
  std::vector<std::string> cmd;  // empty: the image's CMD
  std::vector<std::string> env;  // KEY=value
  std::map<std::string, std::string> labels;
  std::string working_dir;   // empty: the image's
  int64_t memory_bytes = 0;  // HostConfig.Memory (0: unlimited)
  int64_t cpu_shares = 0;    // HostConfig.CpuShares (0: engine default)
  // "host", "none", a user-defined network's name (EnsureNetwork), or "" for the engine's default.
  std::string network_mode;
  // Names the container answers to on its user-defined network_mode network, besides its own
  // (NetworkingConfig.EndpointsConfig.<network>.Aliases); ignored with no such network.
  std::vector<std::string> network_aliases;
  std::vector<std::string> volumes;  // named volumes, created if missing, mounted at /srv/<name>
  std::vector<std::string> devices;  // "/dev/x[:/dev/y[:rwm]]"
  std::string log_max_size = "50m";
  // HostConfig.PidsLimit: the most processes and threads the container may have (0: the engine's
  // default, unlimited).
  int64_t pids_limit = 0;
  // HostConfig.ReadonlyRootfs, with a fresh tmpfs at /tmp so programs still have scratch space.
  bool read_only_rootfs = false;
  std::string user;  // Config.User, "UID[:GID]"; empty: the image's
  // SecurityOpt no-new-privileges: no setuid binary or file capability raises a process's rights.
  bool no_new_privileges = false;
  struct BindMount {
    std::string host_dir;
    std::string container_dir;
    bool read_only = true;
  };
  std::vector<BindMount> binds;  // host directories mounted into the container
  // Config.Healthcheck: the engine runs `test` in the container every `interval` and reports
  // health_status events; empty `test`: none (the image's, if any, is kept).
  struct Healthcheck {
    std::vector<std::string> test;  // argv, sent as ["CMD", argv...]
    std::chrono::nanoseconds interval{0};
    std::chrono::nanoseconds timeout{0};
    std::chrono::nanoseconds start_period{0};
    int64_t retries = 0;
  };
  Healthcheck healthcheck;
};

struct ContainerInfo {
  std::string id;
  std::string name;  // without the leading '/'
  std::string image;
  std::string status;  // created, running, paused, restarting, removing, exited, dead
  bool running = false;
  int exit_code = 0;
  bool oom_killed = false;
  std::string started_at;  // RFC 3339 as the engine reports it
  std::string finished_at;
  std::map<std::string, std::string> labels;
  int64_t memory_bytes = 0;
  int64_t cpu_shares = 0;
  std::string network_mode;
  bool privileged = false;
  // HostConfig.PidsLimit as the engine holds it (0 or -1: unlimited). An engine that cannot
  // enforce a limit (no pids cgroup) discards it, so this is how a caller learns that.
  int64_t pids_limit = 0;
  // The container's address on its network (NetworkSettings), "" with host networking or none.
  std::string ip_address;
  // State.Health: "starting", "healthy", "unhealthy", or "" without a health check; and the
  // output of its latest probe that failed (engine-run checks only).
  std::string health;
  std::string health_output;
};

struct EngineEvent {
  enum class Kind { kStart, kDie, kOom, kHealthStatus, kOther };
  Kind kind = Kind::kOther;
  std::string action;  // the engine's action, e.g. "die", "health_status: healthy"
  std::string container_id;
  int exit_code = 0;                          // die only
  std::map<std::string, std::string> labels;  // the container's labels (Actor.Attributes)
  int64_t time_unix_ns = 0;
};

struct LogLine {
  std::string stream;        // "stdout" or "stderr"
  std::string text;          // one line, without its newline
  int64_t time_unix_ns = 0;  // when the engine received it (ReadLogs only; 0 from FollowLogs)
};

struct ContainerStats {
  int64_t memory_usage_bytes = 0;
  int64_t memory_limit_bytes = 0;
  double cpu_percent = 0;  // as docker stats: 100 = one core
  int64_t network_rx_bytes = 0;
  int64_t network_tx_bytes = 0;
  int64_t block_read_bytes = 0;
  int64_t block_written_bytes = 0;
};

struct ImageInfo {
  std::string id;  // "sha256:..."
  std::vector<std::string> tags;
  int64_t size_bytes = 0;  // Size: every layer, the base image's included
  std::map<std::string, std::string> labels;
};

struct BuildRequest {
  std::string tag;           // "name:tag"
  std::string dockerfile;    // contents of the Dockerfile
  std::string context_tar;   // build context without the Dockerfile (added by the engine adapter)
  bool host_network = true;  // networkmode=host for RUN steps (apt, git)
  std::map<std::string, std::string> labels;  // on the image made
};

class Stream {
 public:
  virtual ~Stream() = default;  // cancels
  virtual void Cancel() = 0;
};

class DockerEngine {
 public:
  using BuildOutput = std::function<void(const std::string& line)>;
  using Done = std::function<void(const Status& outcome)>;

  virtual ~DockerEngine() = default;

  // Ping and version check: kUnavailable when the socket is missing, kInternal when the API is
  // older than the one spawnd needs.
  virtual Result<EngineVersion> Connect() = 0;

  virtual Result<bool> ImageExists(const std::string& tag) = 0;
  // kNotFound when no image has that reference (tag or id).
  virtual Result<ImageInfo> InspectImage(const std::string& reference) = 0;
  // Images carrying label `key` = `value`.
  virtual Result<std::vector<ImageInfo>> ListImages(const std::string& label_key,
                                                    const std::string& label_value) = 0;
  // Removes the tag (and the image, once no other tag names it). Never forced: kConflict when a
  // container, running or not, still uses the image.
  virtual Status RemoveImage(const std::string& reference) = 0;
  // Streams output lines to `on_output`, then calls `on_done` once (with the engine's error message
  // on failure). Cancel() aborts the build; on_done then reports kUnavailable or is not called.
  virtual std::unique_ptr<Stream> Build(const BuildRequest& request, BuildOutput on_output,
                                        Done on_done) = 0;

  // Makes the named network unless one of that name exists (which is used as it is, whatever its
  // driver): a local bridge network, or an attachable overlay network when the engine is an
  // active member of a swarm, so containers on other hosts of the swarm may join it too. Callers
  // of one DockerEngine racing to make the same network all succeed, with one network made (the
  // engine's own duplicate check is not atomic: two engine clients racing may make two). Networks
  // are never removed by spawnd: other services, or other hosts, may be using them.
  virtual Status EnsureNetwork(const std::string& name) = 0;

  // Returns the new container's id. A network_mode network must exist (kNotFound otherwise).
  // Warnings the engine returns with it (e.g. a limit it discarded) are logged by the adapter.
  virtual Result<std::string> CreateContainer(const ContainerSpec& spec) = 0;
  // Copies a tar into the (created, not necessarily running) container at `dir`.
  virtual Status PutArchive(const std::string& id, const std::string& dir,
                            const std::string& tar) = 0;
  virtual Status StartContainer(const std::string& id) = 0;
  // TERM, then KILL after `timeout`. A stopped container is not an error.
  virtual Status StopContainer(const std::string& id, std::chrono::seconds timeout) = 0;
  virtual Status RestartContainer(const std::string& id, std::chrono::seconds timeout) = 0;
  virtual Status KillContainer(const std::string& id, const std::string& signal = "KILL") = 0;
  virtual Status RemoveContainer(const std::string& id, bool force) = 0;
  // Gives the container another name (kConflict if a container has that name already).
  virtual Status RenameContainer(const std::string& id, const std::string& new_name) = 0;
  virtual Result<ContainerInfo> InspectContainer(const std::string& id_or_name) = 0;
  // Containers (running or not) carrying label `key` = `value`.
  virtual Result<std::vector<ContainerInfo>> ListContainers(const std::string& label_key,
                                                            const std::string& label_value) = 0;

  // Container events (die, start, oom, health_status) as they happen; reconnects by itself when the
  // engine restarts, calling on_reconnect so the caller can resync state it may have missed.
  virtual std::unique_ptr<Stream> FollowEvents(std::function<void(const EngineEvent&)> on_event,
                                               std::function<void()> on_reconnect) = 0;
  // Output since `since_unix_ns` (0: from now on), demultiplexed, line by line, following new
  // output; on_end when the container's output ends (it stopped) or the stream failed.
  virtual std::unique_ptr<Stream> FollowLogs(const std::string& id, int64_t since_unix_ns,
                                             std::function<void(const LogLine&)> on_line,
                                             Done on_end) = 0;
  // The engine's record of the container's output: at most the last `max_lines` lines stamped at
  // or after `since_unix_ns` (0: from the start), oldest first, each with its time. It is bounded
  // by the container's log options, and gone with the container (kNotFound).
  virtual Result<std::vector<LogLine>> ReadLogs(const std::string& id, int64_t since_unix_ns,
                                                size_t max_lines) = 0;
  // One sample roughly per second while the container runs.
  virtual std::unique_ptr<Stream> FollowStats(const std::string& id,
                                              std::function<void(const ContainerStats&)> on_stats,
                                              Done on_end) = 0;
};

}  // namespace spawn
