// FakeDockerEngine: an in-memory DockerEngine for unit tests. It records every call (Calls(),
// CountCalls()), can be told to fail the next call of any name (FailNext("StartContainer",
// status)), and lets a test play the engine's part: Die(id, code) stops a container and emits its
// `die` event, DieSilently() stops it without one (as while the event stream is down), EmitEvent()
// sends any event, ReconnectEvents() calls the followers' on_reconnect, HoldEvents(true) keeps
// events back until ReleaseEvents() (as a stream that lags behind the engine's answers), starting
// a stopped container emits its `start` event, SetClock() gives the time the fake's own events
// carry (0, unknown, without one), EmitLog/EmitStats feed the
// log and stats followers, AddContainer() plants one as an earlier spawnd would have left it.
// EnforcePidsLimit(false) plays an engine that discards pids limits.
// Builds finish at once with success unless HoldBuilds(true), then CompleteBuild(i, status); a
// cancelled build never reports. Callbacks run synchronously on the calling thread (a test's
// ManualEventLoop then sees them as Posts), without the fake's lock held, so they may call back
// into the fake; a stream cancelled by an earlier callback of the same delivery is skipped.
// Thread-safe (one mutex); the fake must outlive its streams.
#pragma once

#include <algorithm>
#include <atomic>
#include <map>
#include <vector>

#include "spawn/common/mutex.h"
#include "spawn/engine/docker_engine.h"

namespace spawn {

class FakeDockerEngine final : public DockerEngine {
 public:
  struct Container {
    ContainerSpec spec;
    std::string id;
    bool running = false;
    int exit_code = 0;
    int starts = 0;
  };

  Result<EngineVersion> Connect() override;
  Result<bool> ImageExists(const std::string& tag) override;
  Result<ImageInfo> InspectImage(const std::string& reference) override;
  Result<std::vector<ImageInfo>> ListImages(const std::string& key,
                                            const std::string& value) override;
  // kConflict while a container's spec names the image (by tag or id), as the engine does.
  Status RemoveImage(const std::string& reference) override;
  std::unique_ptr<Stream> Build(const BuildRequest& request, BuildOutput on_output,
                                Done on_done) override;
  // Makes the network unless it exists; recorded as "EnsureNetwork <name>" either way.
  Status EnsureNetwork(const std::string& name) override;
  // kNotFound when spec.network_mode names a network that does not exist (as the engine does).
  Result<std::string> CreateContainer(const ContainerSpec& spec) override;
  Status PutArchive(const std::string& id, const std::string& dir, const std::string& tar) override;
  Status StartContainer(const std::string& id) override;
  Status StopContainer(const std::string& id, std::chrono::seconds timeout) override;
  Status RestartContainer(const std::string& id, std::chrono::seconds timeout) override;
  Status KillContainer(const std::string& id, const std::string& signal) override;
  Status RemoveContainer(const std::string& id, bool force) override;
  Status RenameContainer(const std::string& id, const std::string& new_name) override;
  Result<ContainerInfo> InspectContainer(const std::string& id_or_name) override;
  Result<std::vector<ContainerInfo>> ListContainers(const std::string& key,
                                                    const std::string& value) override;
  std::unique_ptr<Stream> FollowEvents(std::function<void(const EngineEvent&)> on_event,
                                       std::function<void()> on_reconnect) override;
  std::unique_ptr<Stream> FollowLogs(const std::string& id, int64_t since_unix_ns,
                                     std::function<void(const LogLine&)> on_line,
                                     Done on_end) override;
  Result<std::vector<LogLine>> ReadLogs(const std::string& id, int64_t since_unix_ns,
                                        size_t max_lines) override;
  std::unique_ptr<Stream> FollowStats(const std::string& id,
                                      std::function<void(const ContainerStats&)> on_stats,
                                      Done on_end) override;

  // ---- test controls ----
  void FailNext(const std::string& call, Status status);
  void HoldBuilds(bool hold) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    hold_builds_ = hold;
  }
  size_t PendingBuilds() const EXCLUDES(mu_);
  // false: containers are made without their pids limit, as by an engine whose kernel has no pids
  // cgroup (InspectContainer then reports pids_limit 0).
  void EnforcePidsLimit(bool enforce) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    enforce_pids_limit_ = enforce;
  }
  void CompleteBuild(size_t index, Status status);
  // Plants an image (as pulled or built by someone else); AddImage(tag) makes one of 1 MiB.
  void AddImage(const std::string& tag);
  void AddImage(ImageInfo image);
  // The size of the images Build makes from now on (default 1 MiB).
  void SetBuiltImageSize(int64_t bytes) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    built_image_size_ = bytes;
  }
  std::vector<ImageInfo> Images() const EXCLUDES(mu_);
  void Die(const std::string& id, int exit_code);
  // The container stops but no event is emitted (as while the event stream is down).
  void DieSilently(const std::string& id, int exit_code);
  // Hands `line` to the container's log followers and keeps it for ReadLogs (which filters by
  // the line's time_unix_ns, as the engine by its own).
  void EmitLog(const std::string& id, const LogLine& line) EXCLUDES(mu_);
  void EmitStats(const std::string& id, const ContainerStats& stats);
  // Delivers any event (oom, start, ...) to the event followers as the engine would.
  void EmitEvent(const EngineEvent& event);
  void ReconnectEvents();
  // true: events wait, in order, until ReleaseEvents() delivers them (or HoldEvents(false)).
  void HoldEvents(bool hold) EXCLUDES(mu_);
  void ReleaseEvents() EXCLUDES(mu_);
  // The engine's clock (Unix nanoseconds), stamped on the events the fake emits by itself. Called
  // with the fake's lock held: it must not call into the fake.
  void SetClock(std::function<int64_t()> now_unix_ns) EXCLUDES(mu_) {
    MutexLock lock(mu_);
    clock_ = std::move(now_unix_ns);
  }
  // Adds a container as if an earlier spawnd had made it.
  std::string AddContainer(const ContainerSpec& spec, bool running, int exit_code = 0);

  std::vector<std::string> Calls() const;
  // Calls whose text starts with `prefix`, e.g. "StartContainer".
  size_t CountCalls(const std::string& prefix) const;
  std::map<std::string, Container> Containers() const;
  // The user-defined networks that exist (made by EnsureNetwork).
  std::vector<std::string> Networks() const;
  int ActiveStreams() const;

 private:
  struct PendingBuild {
    BuildRequest request;
    Done on_done;
    std::atomic<bool> cancelled{false};
  };
  void AddBuiltImage(const BuildRequest& request) EXCLUDES(mu_);
  Status Record(const std::string& call, const std::string& detail) EXCLUDES(mu_);
  ContainerInfo Info(const Container& c) const REQUIRES(mu_);
  // Whether stream `n` (of any kind) is still registered.
  bool Following(int n) const EXCLUDES(mu_);
  // Delivers `event` now, or keeps it while events are held.
  void DeliverEvent(const EngineEvent& event) EXCLUDES(mu_);
  void SendEvent(const EngineEvent& event) EXCLUDES(mu_);
  // A container event of `kind` with the container's labels and the clock's time.
  EngineEvent MakeEvent(EngineEvent::Kind kind, const std::string& action, const Container& c)
      REQUIRES(mu_);

  mutable Mutex mu_;
  std::vector<std::string> calls_ GUARDED_BY(mu_);
  std::map<std::string, Status> failures_ GUARDED_BY(mu_);
  std::map<std::string, Container> containers_ GUARDED_BY(mu_);
  // Whether `image` answers to `reference` (one of its tags, or its id).
  static bool Names(const ImageInfo& image, const std::string& reference);

  std::vector<ImageInfo> images_ GUARDED_BY(mu_);
  int64_t built_image_size_ GUARDED_BY(mu_) = 1 << 20;
  std::vector<std::string> networks_ GUARDED_BY(mu_);
  std::vector<std::shared_ptr<PendingBuild>> builds_ GUARDED_BY(mu_);
  bool hold_builds_ GUARDED_BY(mu_) = false;
  bool enforce_pids_limit_ GUARDED_BY(mu_) = true;
  int next_id_ GUARDED_BY(mu_) = 1;
  std::map<int, std::function<void(const EngineEvent&)>> event_followers_ GUARDED_BY(mu_);
  std::map<int, std::function<void()>> reconnect_followers_ GUARDED_BY(mu_);
  std::map<int, std::pair<std::string, std::function<void(const LogLine&)>>> log_followers_
      GUARDED_BY(mu_);
  std::map<int, std::pair<std::string, std::function<void(const ContainerStats&)>>> stats_followers_
      GUARDED_BY(mu_);
  int next_stream_ GUARDED_BY(mu_) = 1;
  std::function<int64_t()> clock_ GUARDED_BY(mu_);
  bool hold_events_ GUARDED_BY(mu_) = false;
  std::vector<EngineEvent> held_events_ GUARDED_BY(mu_);
  std::map<std::string, std::vector<LogLine>> output_ GUARDED_BY(mu_);  // by container id
};

}  // namespace spawn
