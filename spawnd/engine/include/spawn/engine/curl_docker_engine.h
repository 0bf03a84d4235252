// CurlDockerEngine: the real DockerEngine, speaking the Engine's HTTP API (pinned to v1.41) over
// its unix socket with libcurl. Short calls use one easy handle per call with connect and total
// timeouts. Builds and the event stream (few, and long) each run on a thread of their own; the
// logs streams and stats polls of every container share one thread and one libcurl multi handle
// (a host with a hundred services would otherwise run two hundred threads). Cancel() wakes the
// thread that waits for the stream's data, so cancelling even a silent stream is prompt, and it
// returns only once none of the stream's callbacks runs any more (called from one of them, it only
// marks the stream). Streams have no total timeout: builds end after a long silence (30 min),
// events and logs may be silent for good and end when the engine closes them. Answers outside 2xx
// never reach a stream's parser; they end it with the mapped Status. Thread-safe; see
// docker_engine.h for the contracts. Streams must be destroyed before the engine that made them.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "spawn/common/mutex.h"
#include "spawn/engine/docker_engine.h"
#include "spawn/engine/http_prober.h"

namespace spawn {

class CurlStreamHub;

// Also the HttpProber of services' health checks: probes share the logs and stats thread.
class CurlDockerEngine final : public DockerEngine, public HttpProber {
 public:
  explicit CurlDockerEngine(std::string socket_path,
                            std::chrono::seconds call_timeout = std::chrono::seconds(30));
  ~CurlDockerEngine() override;

  Result<EngineVersion> Connect() override;
  Result<bool> ImageExists(const std::string& tag) override;
  Result<ImageInfo> InspectImage(const std::string& reference) override;
  Result<std::vector<ImageInfo>> ListImages(const std::string& label_key,
                                            const std::string& label_value) override;
  Status RemoveImage(const std::string& reference) override;
  std::unique_ptr<Stream> Build(const BuildRequest& request, BuildOutput on_output,
                                Done on_done) override;
  Status EnsureNetwork(const std::string& name) override EXCLUDES(network_mu_);
  Result<std::string> CreateContainer(const ContainerSpec& spec) override;
  Status PutArchive(const std::string& id, const std::string& dir, const std::string& tar) override;
  Status StartContainer(const std::string& id) override;
  Status StopContainer(const std::string& id, std::chrono::seconds timeout) override;
  Status RestartContainer(const std::string& id, std::chrono::seconds timeout) override;
  Status KillContainer(const std::string& id, const std::string& signal) override;
  Status RemoveContainer(const std::string& id, bool force) override;
  Status RenameContainer(const std::string& id, const std::string& new_name) override;
  Result<ContainerInfo> InspectContainer(const std::string& id_or_name) override;
  Result<std::vector<ContainerInfo>> ListContainers(const std::string& label_key,
                                                    const std::string& label_value) override;
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

  void Probe(const HttpProbe& probe, ProbeDone done) override;

  // Creates the named volume unless it exists.
  Status EnsureVolume(const std::string& name);

  // FollowStats asks each container for one sample per `interval` (0: every second). A one-shot
  // sample is cheap for the engine; following its stream of a sample a second per container cost
  // the engine (and spawnd) far more than the heartbeats that use the samples. Set before the
  // first FollowStats.
  void SetStatsInterval(std::chrono::milliseconds interval) { stats_interval_ = interval; }

  // At most this many stats samples are asked of the engine at once; the polls of more containers
  // that fall due together wait in line and go out as answers come back. A hundred containers
  // polled together would otherwise hold a hundred transfers and connections at the same moment,
  // and make the engine gather a hundred samples at once. A sample takes milliseconds, so a few
  // slots serve hundreds of containers within an interval, and each slot keeps a spare transfer.
  static constexpr int kStatsPollsAtOnce = 8;

  struct Response {
    long code = 0;
    std::string body;
  };
  // One short HTTP call; kUnavailable/kTimeout when the engine cannot be reached in time. `path` is
  // relative to the API version prefix ("/containers/json").
  Result<Response> Call(const std::string& method, const std::string& path,
                        const std::string& body = "", const std::string& content_type = "",
                        std::chrono::seconds timeout = std::chrono::seconds(0));

 private:
  std::chrono::milliseconds stats_interval_{0};
  // One EnsureNetwork at a time: the engine checks for a network of the same name and makes one
  // without a lock between the two, so two creations racing make two networks of one name.
  Mutex network_mu_;
  const std::string socket_path_;
  const std::chrono::seconds call_timeout_;
  std::unique_ptr<CurlStreamHub> hub_;  // the logs and stats streams of every container
};

}  // namespace spawn
