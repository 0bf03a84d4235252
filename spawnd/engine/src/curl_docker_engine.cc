#include "spawn/engine/curl_docker_engine.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "build_context.h"
#include "curl_http_prober.h"
#include "curl_transfer.h"
#include "engine_codec.h"
#include "stream_hub.h"
#include "thread_stream.h"

namespace spawn {
namespace {

using json = nlohmann::json;
constexpr const char* kApiPrefix = "http://localhost/v1.41";
constexpr long kFollowBufferBytes = 2048;  // per followed container; see FollowLogs

// The engine takes `since` as seconds with a nanosecond fraction.
std::string Since(int64_t unix_ns) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "since=%lld.%09lld", static_cast<long long>(unix_ns / 1000000000),
                static_cast<long long>(unix_ns % 1000000000));
  return buf;
}

// Makes `t` a short GET for the hub whose answer is collected into its `collected` (read it in the
// `finish`), with room for `expected_bytes` up front; it stops reading once `flow` is cancelled.
void ConfigureCollectingGet(Transfer& t, const std::shared_ptr<CurlStreamHub::Flow>& flow,
                            const std::string& socket, const std::string& url,
                            std::chrono::seconds timeout, size_t expected_bytes = 0) {
  t.collected.reserve(expected_bytes);
  t.on_data = [flow, collected = &t.collected](std::string_view data) {
    if (flow->cancelled) return false;
    collected->append(data);
    return true;
  };
  t.Configure(socket, "GET", url, nullptr, "", Limits{timeout, {}});
}

std::unique_ptr<Transfer> CollectingGet(const std::shared_ptr<CurlStreamHub::Flow>& flow,
                                        const std::string& socket, const std::string& url,
                                        std::chrono::seconds timeout) {
  auto t = std::make_unique<Transfer>();
  ConfigureCollectingGet(*t, flow, socket, url, timeout);
  return t;
}

}  // namespace

CurlDockerEngine::CurlDockerEngine(std::string socket_path, std::chrono::seconds call_timeout)
    : socket_path_(std::move(socket_path)),
      call_timeout_(call_timeout),
      hub_(std::make_unique<CurlStreamHub>(kStatsPollsAtOnce)) {}

CurlDockerEngine::~CurlDockerEngine() = default;

Result<CurlDockerEngine::Response> CurlDockerEngine::Call(const std::string& method,
                                                          const std::string& path,
                                                          const std::string& body,
                                                          const std::string& content_type,
                                                          std::chrono::seconds timeout) {
  Transfer t;
  Response response;
  t.on_data = [&](std::string_view data) {
    response.body.append(data);
    return true;
  };
  const bool has_body = method == "POST" || method == "PUT";
  CURLcode rc = t.Run(socket_path_, method, kApiPrefix + path, has_body ? &body : nullptr,
                      content_type.empty() && has_body ? "application/json" : content_type,
                      Limits{timeout.count() ? timeout : call_timeout_, {}}, &response.code);
  if (rc != CURLE_OK) return TransportError(rc, t.Error(rc), socket_path_);
  if (response.body.empty()) response.body = std::move(t.error_body);
  return response;
}

Result<EngineVersion> CurlDockerEngine::Connect() {
  auto ping = Call("GET", "/_ping");
  if (!ping.ok()) return ping.status();
  SPAWN_RETURN_IF_ERROR(StatusFromHttp(ping->code, ping->body, "ping"));
  auto version = Call("GET", "/version");
  if (!version.ok()) return version.status();
  SPAWN_RETURN_IF_ERROR(StatusFromHttp(version->code, version->body, "version"));
  EngineVersion v;
  try {
    auto j = json::parse(version->body);
    v.version = j.value("Version", "");
    v.api_version = j.value("ApiVersion", "");
  } catch (const json::exception& e) {
    return Status::Internal(std::string("the engine's version answer is not JSON: ") + e.what());
  }
  int major = 0, minor = 0;
  if (std::sscanf(v.api_version.c_str(), "%d.%d", &major, &minor) != 2 ||
      major * 1000 + minor < 1041) {
    return Status::Internal("the Docker engine speaks API " + v.api_version +
                            "; spawnd needs 1.41 or newer (Docker 20.10+)");
  }
  return v;
}

Result<bool> CurlDockerEngine::ImageExists(const std::string& tag) {
  auto r = Call("GET", "/images/" + Escape(tag) + "/json");
  if (!r.ok()) return r.status();
  if (r->code == 404) return false;
  SPAWN_RETURN_IF_ERROR(StatusFromHttp(r->code, r->body, "image " + tag));
  return true;
}

Result<ImageInfo> CurlDockerEngine::InspectImage(const std::string& reference) {
  auto r = Call("GET", "/images/" + Escape(reference) + "/json");
  if (!r.ok()) return r.status();
  SPAWN_RETURN_IF_ERROR(StatusFromHttp(r->code, r->body, "image " + reference));
  try {
    return ParseImage(json::parse(r->body));
  } catch (const json::exception& e) {
    return Status::Internal(std::string("unexpected image inspect answer: ") + e.what());
  }
}

Result<std::vector<ImageInfo>> CurlDockerEngine::ListImages(const std::string& key,
                                                            const std::string& value) {
  const json filters = {{"label", {key + "=" + value}}};
  auto r = Call("GET", "/images/json?filters=" + Escape(filters.dump()));
  if (!r.ok()) return r.status();
  SPAWN_RETURN_IF_ERROR(StatusFromHttp(r->code, r->body, "list images"));
  std::vector<ImageInfo> out;
  try {
    for (const auto& image : json::parse(r->body)) out.push_back(ParseImage(image));
  } catch (const json::exception& e) {
    return Status::Internal(std::string("unexpected image list answer: ") + e.what());
  }
  return out;
}

Status CurlDockerEngine::RemoveImage(const std::string& reference) {
  auto r = Call("DELETE", "/images/" + Escape(reference));
  if (!r.ok()) return r.status();
  return StatusFromHttp(r->code, r->body, "image " + reference);
}

std::unique_ptr<Stream> CurlDockerEngine::Build(const BuildRequest& request, BuildOutput on_output,
                                                Done on_done) {
  auto context = MakeBuildContext(request.dockerfile, request.context_tar);
  return std::make_unique<ThreadStream>(
      [this, request, context = std::move(context), on_output, on_done](StreamControl& control) {
        const auto& cancelled = control.cancelled();
        if (!context.ok()) {
          if (!cancelled) on_done(context.status());
          return;
        }
        std::string error;
        JsonLines lines([&](const json& j) {
          BuildLine line = ParseBuildLine(j);
          if (line.error)
            error = std::move(*line.error);
          else if (!line.text.empty() && !cancelled)
            on_output(line.text);
        });
        Transfer t;
        t.control = &control;
        t.on_data = [&](std::string_view data) {
          lines.Feed(data);
          return true;
        };
        std::string url = std::string(kApiPrefix) + "/build?t=" + Escape(request.tag) +
                          "&dockerfile=" + Escape(kDockerfileName) + "&rm=1&forcerm=1";
        if (request.host_network) url += "&networkmode=host";
        if (!request.labels.empty()) url += "&labels=" + Escape(json(request.labels).dump());
        long code = 0;
        // A RUN step may stay silent for a long time (a quiet compile): only a very long silence is
        // taken for a stuck build.
        CURLcode rc = t.Run(socket_path_, "POST", url, &*context, "application/x-tar",
                            Limits{{}, std::chrono::minutes(30)}, &code);
        if (cancelled) return;
        Status outcome = StreamOutcome(rc, t, code, socket_path_, "build of " + request.tag);
        if (outcome.ok() && !error.empty())
          outcome = Status::BadRequest("image build failed: " + error);
        on_done(outcome);
      });
}

Status CurlDockerEngine::EnsureVolume(const std::string& name) {
  auto existing = Call("GET", "/volumes/" + Escape(name));
  if (!existing.ok()) return existing.status();
  if (existing->code == 200) return Status::Ok();
  auto created = Call("POST", "/volumes/create", json{{"Name", name}}.dump());
  if (!created.ok()) return created.status();
  return StatusFromHttp(created->code, created->body, "volume " + name);
}

Status CurlDockerEngine::EnsureNetwork(const std::string& name) {
  MutexLock lock(network_mu_);
  auto existing = Call("GET", "/networks/" + Escape(name));
  if (!existing.ok()) return existing.status();
  if (existing->code == 200) {
    // The engine also finds a network by the start of its id: only one of this name will do.
    try {
      if (json::parse(existing->body).value("Name", "") == name) return Status::Ok();
    } catch (const json::exception& e) {
      return Status::Internal(std::string("unexpected network inspect answer: ") + e.what());
    }
  } else if (existing->code != 404) {
    return StatusFromHttp(existing->code, existing->body, "network " + name);
  }
  auto info = Call("GET", "/info");
  if (!info.ok()) return info.status();
  SPAWN_RETURN_IF_ERROR(StatusFromHttp(info->code, info->body, "engine info"));
  bool swarm = false;
  try {
    swarm = SwarmActive(json::parse(info->body));
  } catch (const json::exception& e) {
    return Status::Internal(std::string("unexpected engine info answer: ") + e.what());
  }
  auto created = Call("POST", "/networks/create", CreateNetworkBody(name, swarm).dump());
  if (!created.ok()) return created.status();
  if (created->code == 409) return Status::Ok();  // made meanwhile by another caller
  return StatusFromHttp(
      created->code, created->body,
      std::string("create ") + (swarm ? "overlay" : "bridge") + " network " + name);
}

Result<std::string> CurlDockerEngine::CreateContainer(const ContainerSpec& spec) {
  for (const auto& volume : spec.volumes) SPAWN_RETURN_IF_ERROR(EnsureVolume(volume));
  auto r = Call("POST", "/containers/create?name=" + Escape(spec.name),
                CreateContainerBody(spec).dump());
  if (!r.ok()) return r.status();
  SPAWN_RETURN_IF_ERROR(StatusFromHttp(r->code, r->body, "create container " + spec.name));
  try {
    const json answer = json::parse(r->body);
    for (const auto& warning : CreateWarnings(answer)) {
      spdlog::warn("engine: creating container {}: {}", spec.name, warning);
    }
    return answer.at("Id").get<std::string>();
  } catch (const json::exception& e) {
    return Status::Internal(std::string("unexpected answer to create: ") + e.what());
  }
}

Status CurlDockerEngine::PutArchive(const std::string& id, const std::string& dir,
                                    const std::string& tar) {
  auto r = Call("PUT", "/containers/" + Escape(id) + "/archive?path=" + Escape(dir), tar,
                "application/x-tar");
  if (!r.ok()) return r.status();
  return StatusFromHttp(r->code, r->body, "copy into container " + id);
}

Status CurlDockerEngine::StartContainer(const std::string& id) {
  auto r = Call("POST", "/containers/" + Escape(id) + "/start");
  if (!r.ok()) return r.status();
  if (r->code == 304) return Status::Ok();  // already running
  return StatusFromHttp(r->code, r->body, "start container " + id);
}

Status CurlDockerEngine::StopContainer(const std::string& id, std::chrono::seconds timeout) {
  auto r = Call("POST", "/containers/" + Escape(id) + "/stop?t=" + std::to_string(timeout.count()),
                "", "", call_timeout_ + timeout);
  if (!r.ok()) return r.status();
  if (r->code == 304) return Status::Ok();  // already stopped
  return StatusFromHttp(r->code, r->body, "stop container " + id);
}

Status CurlDockerEngine::RestartContainer(const std::string& id, std::chrono::seconds timeout) {
  auto r =
      Call("POST", "/containers/" + Escape(id) + "/restart?t=" + std::to_string(timeout.count()),
           "", "", call_timeout_ + timeout);
  if (!r.ok()) return r.status();
  return StatusFromHttp(r->code, r->body, "restart container " + id);
}

Status CurlDockerEngine::KillContainer(const std::string& id, const std::string& signal) {
  auto r = Call("POST", "/containers/" + Escape(id) + "/kill?signal=" + Escape(signal));
  if (!r.ok()) return r.status();
  return StatusFromHttp(r->code, r->body, "kill container " + id);
}

Status CurlDockerEngine::RemoveContainer(const std::string& id, bool force) {
  auto r = Call("DELETE", "/containers/" + Escape(id) + "?v=0&force=" + (force ? "1" : "0"));
  if (!r.ok()) return r.status();
  return StatusFromHttp(r->code, r->body, "remove container " + id);
}

Status CurlDockerEngine::RenameContainer(const std::string& id, const std::string& new_name) {
  auto r = Call("POST", "/containers/" + Escape(id) + "/rename?name=" + Escape(new_name));
  if (!r.ok()) return r.status();
  return StatusFromHttp(r->code, r->body, "rename container " + id);
}

Result<ContainerInfo> CurlDockerEngine::InspectContainer(const std::string& id_or_name) {
  auto r = Call("GET", "/containers/" + Escape(id_or_name) + "/json");
  if (!r.ok()) return r.status();
  SPAWN_RETURN_IF_ERROR(StatusFromHttp(r->code, r->body, "container " + id_or_name));
  try {
    return ParseInspect(json::parse(r->body));
  } catch (const json::exception& e) {
    return Status::Internal(std::string("unexpected inspect answer: ") + e.what());
  }
}

Result<std::vector<ContainerInfo>> CurlDockerEngine::ListContainers(const std::string& key,
                                                                    const std::string& value) {
  const json filters = {{"label", {key + "=" + value}}};
  auto r = Call("GET", "/containers/json?all=1&filters=" + Escape(filters.dump()));
  if (!r.ok()) return r.status();
  SPAWN_RETURN_IF_ERROR(StatusFromHttp(r->code, r->body, "list containers"));
  std::vector<ContainerInfo> out;
  try {
    for (const auto& c : json::parse(r->body)) {
      // The list's summary lacks exit codes and limits: inspect each for the whole picture.
      auto info = InspectContainer(c.at("Id").get<std::string>());
      if (info.ok())
        out.push_back(*info);
      else if (info.status().code() != Code::kNotFound)
        return info.status();
    }
  } catch (const json::exception& e) {
    return Status::Internal(std::string("unexpected list answer: ") + e.what());
  }
  return out;
}

std::unique_ptr<Stream> CurlDockerEngine::FollowEvents(
    std::function<void(const EngineEvent&)> on_event, std::function<void()> on_reconnect) {
  const int64_t start_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  return std::make_unique<ThreadStream>([this, on_event, on_reconnect,
                                         start_ns](StreamControl& control) {
    const auto& cancelled = control.cancelled();
    // `since` replays what happened while the stream was (re)connecting; it moves past every event
    // delivered so that a reconnection repeats none.
    int64_t since_ns = start_ns;
    bool first = true;
    auto backoff = std::chrono::milliseconds(250);
    while (!cancelled) {
      JsonLines lines([&](const json& j) {
        if (cancelled) return;
        EngineEvent e = ParseEvent(j);
        since_ns = std::max(since_ns, e.time_unix_ns + 1);
        on_event(e);
      });
      Transfer t;
      t.control = &control;
      // The engine sends its headers at once and events as they happen: connected means the
      // headers came, so a resync is not delayed until the next event.
      t.on_connected = [&] {
        backoff = std::chrono::milliseconds(250);
        if (!first && !cancelled) on_reconnect();
        first = false;
      };
      t.on_data = [&](std::string_view data) {
        lines.Feed(data);
        return true;
      };
      const json filters = {{"type", {"container"}},
                            {"event", {"start", "die", "oom", "health_status"}}};
      const std::string url = std::string(kApiPrefix) + "/events?" + Since(since_ns) +
                              "&filters=" + Escape(filters.dump());
      long code = 0;
      // The engine sends headers at once but may then stay silent for hours: no time limit. A
      // dying engine closes the socket, which ends the transfer.
      CURLcode rc = t.Run(socket_path_, "GET", url, nullptr, "", Limits{}, &code);
      if (cancelled) return;
      first = false;  // whatever happened, the next connection is a reconnection
      spdlog::warn("engine: event stream ended ({}); reconnecting in {} ms",
                   StreamOutcome(rc, t, code, socket_path_, "events").ToString(), backoff.count());
      if (!control.SleepFor(backoff)) return;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
    }
  });
}

std::unique_ptr<Stream> CurlDockerEngine::FollowLogs(const std::string& id, int64_t since_unix_ns,
                                                     std::function<void(const LogLine&)> on_line,
                                                     Done on_end) {
  auto flow = std::make_shared<CurlStreamHub::Flow>();
  // TTY containers have one raw stream; the others are framed, and only inspect tells which.
  CurlStreamHub& hub = *hub_;
  hub.Add(
      flow,
      CollectingGet(flow, socket_path_,
                    std::string(kApiPrefix) + "/containers/" + Escape(id) + "/json", call_timeout_),
      [this, &hub, flow, id, since_unix_ns, on_line, on_end](Transfer& t, CURLcode rc, long code) {
        if (rc != CURLE_OK || code != 200) {
          on_end(StreamOutcome(rc, t, code, socket_path_, "container " + id));
          return;
        }
        const bool tty = InspectSaysTty(t.collected);
        auto demux = std::make_shared<LogDemultiplexer>(tty, [flow, on_line](const LogLine& l) {
          if (!flow->cancelled) on_line(l);
        });
        auto follow = std::make_unique<Transfer>();
        follow->on_data = [flow, demux](std::string_view data) {
          if (flow->cancelled) return false;
          demux->Feed(data);
          return true;
        };
        // A quiet service is normal: no time limit; the engine ends the stream when the
        // container stops.
        follow->Configure(socket_path_, "GET",
                          std::string(kApiPrefix) + "/containers/" + Escape(id) +
                              "/logs?follow=1&stdout=1&stderr=1&" +
                              (since_unix_ns > 0 ? Since(since_unix_ns) : "tail=0"),
                          nullptr, "", Limits{});
        // One of these stays open per running container, and most carry a line now and then:
        // a small receive buffer (libcurl's default is 16 KiB a transfer) keeps a hundred of them
        // cheap; a burst of output is only read in more pieces.
        curl_easy_setopt(follow->curl, CURLOPT_BUFFERSIZE, kFollowBufferBytes);
        hub.Add(flow, std::move(follow),
                [this, flow, demux, id, on_end](Transfer& t, CURLcode rc, long code) {
                  demux->Flush();
                  if (!flow->cancelled)
                    on_end(StreamOutcome(rc, t, code, socket_path_, "logs of " + id));
                });
      });
  return std::make_unique<HubStream>(hub, flow);
}

Result<std::vector<LogLine>> CurlDockerEngine::ReadLogs(const std::string& id,
                                                        int64_t since_unix_ns, size_t max_lines) {
  // TTY containers have one raw stream; the others are framed, and only inspect tells which.
  auto inspect = Call("GET", "/containers/" + Escape(id) + "/json");
  if (!inspect.ok()) return inspect.status();
  SPAWN_RETURN_IF_ERROR(StatusFromHttp(inspect->code, inspect->body, "container " + id));
  const bool tty = InspectSaysTty(inspect->body);
  auto answer = Call("GET", "/containers/" + Escape(id) + "/logs?stdout=1&stderr=1&timestamps=1&" +
                                "tail=" + std::to_string(max_lines) +
                                (since_unix_ns > 0 ? "&" + Since(since_unix_ns) : ""));
  if (!answer.ok()) return answer.status();
  SPAWN_RETURN_IF_ERROR(StatusFromHttp(answer->code, answer->body, "logs of " + id));
  std::vector<LogLine> lines;
  LogDemultiplexer demux(tty, [&](const LogLine& l) {
    LogLine line{l.stream, "", 0};
    std::string_view text;
    if (SplitLogTimestamp(l.text, &line.time_unix_ns, &text))
      line.text = std::string(text);
    else
      line.text = l.text;  // a continuation the engine split without a time: keep it as it is
    lines.push_back(std::move(line));
  });
  demux.Feed(answer->body);
  demux.Flush();
  return lines;
}

namespace {

// A sample's size, give or take: room for it up front, not grown in steps.
constexpr size_t kStatsSampleBytes = 4096;

// Where a container's stats polls go and what they report to.
struct StatsPoll {
  CurlStreamHub& hub;
  std::shared_ptr<CurlStreamHub::Flow> flow;
  std::string socket;
  std::chrono::seconds call_timeout;
  std::string id;
  std::chrono::milliseconds every;
  std::function<void(const ContainerStats&)> on_stats;
  DockerEngine::Done on_end;
  json previous_cpu;  // the last sample's cpu_stats; the hub's thread only
};

// Asks for one sample after `delay`, then chains the next. A one-shot sample comes at once, with
// no previous CPU reading: the previous poll's stands in, which makes the CPU percentage the
// average over the interval rather than over the last second.
void PollStats(std::shared_ptr<StatsPoll> poll, std::chrono::milliseconds delay) {
  poll->hub.AddPoll(
      poll->flow,
      [poll](Transfer& t) {
        ConfigureCollectingGet(t, poll->flow, poll->socket,
                               std::string(kApiPrefix) + "/containers/" + Escape(poll->id) +
                                   "/stats?stream=0&one-shot=1",
                               poll->call_timeout, kStatsSampleBytes);
        // A sample is a few KiB: libcurl's default receive buffer (16 KiB) would sit mostly unused
        // in each spare transfer the hub keeps.
        curl_easy_setopt(t.curl, CURLOPT_BUFFERSIZE, static_cast<long>(kStatsSampleBytes));
      },
      [poll](Transfer& t, CURLcode rc, long code) {
        if (rc != CURLE_OK || code != 200) {
          poll->on_end(StreamOutcome(rc, t, code, poll->socket, "stats of " + poll->id));
          return;
        }
        try {
          json sample = json::parse(t.collected, KeepStatsMember);
          // A stopped container's sample has no memory figures: nothing to report.
          if (sample.contains("memory_stats") && !sample["memory_stats"].empty()) {
            json cpu = sample.value("cpu_stats", json::object());
            // The first poll has no baseline: it reports no CPU rather than the average since
            // the container started.
            sample["precpu_stats"] = poll->previous_cpu.is_null() ? cpu : poll->previous_cpu;
            poll->previous_cpu = std::move(cpu);
            if (!poll->flow->cancelled) poll->on_stats(ComputeStats(sample));
          }
        } catch (const json::exception& e) {
          spdlog::debug("engine: unparsable stats of {}: {}", poll->id, e.what());
        }
        PollStats(poll, poll->every);
      },
      delay);
}

}  // namespace

std::unique_ptr<Stream> CurlDockerEngine::FollowStats(
    const std::string& id, std::function<void(const ContainerStats&)> on_stats, Done on_end) {
  auto flow = std::make_shared<CurlStreamHub::Flow>();
  const auto every = stats_interval_.count() > 0 ? stats_interval_ : std::chrono::seconds(1);
  PollStats(
      std::make_shared<StatsPoll>(StatsPoll{*hub_, flow, socket_path_, call_timeout_, id, every,
                                            std::move(on_stats), std::move(on_end), json()}),
      std::chrono::milliseconds(0));
  return std::make_unique<HubStream>(*hub_, flow);
}

}  // namespace spawn

namespace spawn {

void CurlDockerEngine::Probe(const HttpProbe& probe, ProbeDone done) {
  StartHttpProbe(*hub_, probe, std::move(done));
}

}  // namespace spawn
