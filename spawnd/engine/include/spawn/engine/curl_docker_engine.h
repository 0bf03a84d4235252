// CurlDockerEngine: the real DockerEngine, speaking the Engine's HTTP API (pinned to v1.41) over
// its unix socket with libcurl. Short calls use one easy handle per call with connect and total
// timeouts; each long call (build, events, logs, stats) runs on its own thread, in a libcurl multi
// handle that Cancel() wakes (curl_multi_wakeup), so cancelling even a silent stream is prompt and
// joins the thread before it returns. Streams have no total timeout: builds and stats end after a
// long silence (30 min, 30 s), events and logs may be silent for good and end when the engine
// closes them. Answers outside 2xx never reach a stream's parser; they end it with the mapped
// Status. Thread-safe; see docker_engine.h for the contracts. Streams must be destroyed before the
// engine that made them.
#pragma once

#include <chrono>
#include <string>

#include "spawn/engine/docker_engine.h"

namespace spawn {

class CurlDockerEngine final : public DockerEngine {
 public:
  explicit CurlDockerEngine(std::string socket_path,
                            std::chrono::seconds call_timeout = std::chrono::seconds(30));

  Result<EngineVersion> Connect() override;
  Result<bool> ImageExists(const std::string& tag) override;
  std::unique_ptr<Stream> Build(const BuildRequest& request, BuildOutput on_output,
                                Done on_done) override;
  Result<std::string> CreateContainer(const ContainerSpec& spec) override;
  Status PutArchive(const std::string& id, const std::string& dir, const std::string& tar) override;
  Status StartContainer(const std::string& id) override;
  Status StopContainer(const std::string& id, std::chrono::seconds timeout) override;
  Status RestartContainer(const std::string& id, std::chrono::seconds timeout) override;
  Status KillContainer(const std::string& id, const std::string& signal) override;
  Status RemoveContainer(const std::string& id, bool force) override;
  Result<ContainerInfo> InspectContainer(const std::string& id_or_name) override;
  Result<std::vector<ContainerInfo>> ListContainers(const std::string& label_key,
                                                    const std::string& label_value) override;
  std::unique_ptr<Stream> FollowEvents(std::function<void(const EngineEvent&)> on_event,
                                       std::function<void()> on_reconnect) override;
  std::unique_ptr<Stream> FollowLogs(const std::string& id, int64_t since_unix_ns,
                                     std::function<void(const LogLine&)> on_line,
                                     Done on_end) override;
  std::unique_ptr<Stream> FollowStats(const std::string& id,
                                      std::function<void(const ContainerStats&)> on_stats,
                                      Done on_end) override;

  // Creates the named volume unless it exists.
  Status EnsureVolume(const std::string& name);

  // FollowStats delivers at most one sample per `interval` per container (0: every sample, about
  // one a second). The engine's samples carry the previous CPU reading, so each one alone gives an
  // exact CPU percentage; the lines in between are skipped before they are parsed, which is most
  // of what following many containers' stats costs. Set before the first FollowStats.
  void SetStatsInterval(std::chrono::milliseconds interval) { stats_interval_ = interval; }

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
  const std::string socket_path_;
  const std::chrono::seconds call_timeout_;
};

}  // namespace spawn
