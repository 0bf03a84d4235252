#include "spawn/engine/curl_docker_engine.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "spawn/engine/dockerfile.h"
#include "spawn/engine/engine_codec.h"

namespace spawn {
namespace {

using json = nlohmann::json;
constexpr const char* kApiPrefix = "http://localhost/v1.41";

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};
const CurlGlobal curl_global;

std::string Escape(const std::string& s) {
  char* out = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  std::string escaped(out);
  curl_free(out);
  return escaped;
}

// The engine's error message from a JSON body, or the body itself.
std::string EngineMessage(const std::string& body) {
  try {
    auto j = json::parse(body);
    if (j.contains("message")) return j["message"].get<std::string>();
  } catch (const std::exception&) {
  }
  return body.empty() ? "no message from the engine" : body;
}

Status StatusFromHttp(long code, const std::string& body, const std::string& what) {
  if (code >= 200 && code < 300) return Status::Ok();
  const std::string message = what + ": " + EngineMessage(body);
  if (code == 404) return Status::NotFound(message);
  if (code == 409) return Status::Conflict(message);
  if (code == 400) return Status::BadRequest(message);
  return Status::Internal(message + " (engine answered " + std::to_string(code) + ")");
}

// Time limits of one transfer. Short calls have a total timeout; streams have none (they may last
// for days); builds and stats have a low-speed limit instead, because their long silence means a
// stuck engine, while events and logs may rightly stay silent for hours.
struct Limits {
  std::chrono::seconds total{0};      // 0: none
  std::chrono::seconds low_speed{0};  // abort after this long below 1 byte/s; 0: none
};

// What a stream's body sees of its Stream: whether it was cancelled, and an interruptible sleep.
// Shared with the thread so that a Stream destroyed from its own callback can let the thread finish
// on its own. Cancel() also wakes the transfer in progress (see Attach), so a silent stream ends at
// once instead of at libcurl's next progress tick.
class StreamControl {
 public:
  const std::atomic<bool>& cancelled() const { return cancelled_; }
  void Cancel() {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      if (multi_) curl_multi_wakeup(multi_);  // documented as callable from any thread
    }
    wake_.notify_all();
  }
  // Sleeps up to `d`; returns false if cancelled meanwhile.
  bool SleepFor(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !wake_.wait_for(lock, d, [this] { return cancelled_.load(); });
  }
  // The multi handle the stream's thread is waiting in (nullptr: none). Detached before the handle
  // is freed, so Cancel never wakes a freed handle.
  void Attach(CURLM* multi) {
    std::lock_guard lock(mu_);
    multi_ = multi;
  }

 private:
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  CURLM* multi_ = nullptr;  // guarded by mu_
};

// Settings shared by every transfer; `control` (streams only, may be null) aborts the transfer when
// cancelled. Bodies
// of answers outside 2xx go to `error_body`, never to `on_data`, so stream parsers only ever see
// the stream itself.
struct Transfer {
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  std::function<bool(std::string_view)> on_data;  // false stops the transfer
  std::function<void()> on_connected;             // once the engine accepted the request (2xx)
  StreamControl* control = nullptr;
  std::string error_body;
  std::string error_text = std::string(CURL_ERROR_SIZE, '\0');

  Transfer() = default;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() {
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
  }

  static size_t Write(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code >= 300) {
      t->error_body.append(data, size * n);
      return size * n;
    }
    return t->on_data(std::string_view(data, size * n)) ? size * n : 0;
  }
  static size_t Header(char* data, size_t size, size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const std::string_view line(data, size * n);
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    if ((line == "\r\n" || line == "\n") && code >= 200 && code < 300 && t->on_connected) {
      t->on_connected();
    }
    return size * n;
  }
  // Stops a transfer that is busy moving data when it is cancelled; a silent one is woken by
  // StreamControl::Cancel instead.
  static int Progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(self);
    return t->control && t->control->cancelled() ? 1 : 0;
  }

  CURLcode Run(const std::string& socket, const std::string& method, const std::string& url,
               const std::string* body, const std::string& content_type, Limits limits,
               long* code) {
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket.c_str());
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text.data());
    if (limits.total.count() > 0)
      curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(limits.total.count()));
    if (limits.low_speed.count() > 0) {
      curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(limits.low_speed.count()));
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Transfer::Write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Transfer::Header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &Transfer::Progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, this);
    if (body) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    }
    if (!content_type.empty())
      headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    CURLcode rc = control ? PerformCancellable() : curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, code);
    return rc;
  }

  // curl_easy_perform, but in a multi handle whose wait Cancel() can interrupt.
  CURLcode PerformCancellable() {
    CURLM* multi = curl_multi_init();
    if (!multi) return CURLE_OUT_OF_MEMORY;
    curl_multi_add_handle(multi, curl);
    control->Attach(multi);
    CURLcode rc = CURLE_OK;
    while (true) {
      if (control->cancelled()) {
        rc = CURLE_ABORTED_BY_CALLBACK;
        break;
      }
      int running = 0;
      if (curl_multi_perform(multi, &running) != CURLM_OK) {
        rc = CURLE_RECV_ERROR;
        break;
      }
      if (running == 0) {
        int left = 0;
        rc = CURLE_RECV_ERROR;
        while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
          if (msg->msg == CURLMSG_DONE) rc = msg->data.result;
        }
        break;
      }
      // The timeout only bounds how long libcurl's own timers (connect, low speed) wait.
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    control->Attach(nullptr);
    curl_multi_remove_handle(multi, curl);
    curl_multi_cleanup(multi);
    return rc;
  }

  std::string Error(CURLcode rc) const {
    std::string text(error_text.c_str());
    return text.empty() ? curl_easy_strerror(rc) : text;
  }
};

Status TransportError(CURLcode rc, const std::string& detail, const std::string& socket) {
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return Status::Timeout("the Docker engine at " + socket + " did not answer in time: " + detail);
  return Status::Unavailable("cannot reach the Docker engine at " + socket + ": " + detail);
}

// How a stream's transfer ended, as the Status its on_done/on_end reports.
Status StreamOutcome(CURLcode rc, const Transfer& t, long code, const std::string& socket,
                     const std::string& what) {
  if (rc != CURLE_OK) return TransportError(rc, t.Error(rc), socket);
  return StatusFromHttp(code, t.error_body, what);
}

// A long call on its own thread. Cancel() sets the flag the transfer polls and joins the thread, so
// no callback runs after it returns. Called from the stream's own callback, it cannot join: the
// bodies check the flag before every callback instead, and the thread ends by itself.
class ThreadStream final : public Stream {
 public:
  using Body = std::function<void(StreamControl&)>;
  explicit ThreadStream(Body body) : control_(std::make_shared<StreamControl>()) {
    thread_ = std::thread([control = control_, body = std::move(body)] { body(*control); });
  }
  ~ThreadStream() override {
    Cancel();
    std::lock_guard lock(join_mu_);
    if (thread_.joinable()) thread_.detach();  // destroyed on its own thread: it ends by itself
  }
  void Cancel() override {
    control_->Cancel();
    if (std::this_thread::get_id() == thread_.get_id()) return;
    std::lock_guard lock(join_mu_);  // Cancel may race with the destructor or another Cancel
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::shared_ptr<StreamControl> control_;
  std::mutex join_mu_;
  std::thread thread_;
};

// Splits a byte stream into newline-terminated JSON documents.
class JsonLines {
 public:
  // With `min_interval`, a line that comes sooner than that after the last one parsed is dropped
  // unparsed.
  explicit JsonLines(std::function<void(const json&)> sink,
                     std::chrono::milliseconds min_interval = std::chrono::milliseconds(0))
      : sink_(std::move(sink)), min_interval_(min_interval) {}
  void Feed(std::string_view data) {
    buffer_.append(data);
    size_t nl;
    while ((nl = buffer_.find('\n')) != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      if (min_interval_.count() > 0) {
        const auto now = std::chrono::steady_clock::now();
        if (parsed_any_ && now - last_parsed_ < min_interval_) continue;
        parsed_any_ = true;
        last_parsed_ = now;
      }
      try {
        sink_(json::parse(line));
      } catch (const json::exception& e) {
        spdlog::debug("engine: unparsable stream line: {}", e.what());
      }
    }
  }

 private:
  std::function<void(const json&)> sink_;
  const std::chrono::milliseconds min_interval_;
  bool parsed_any_ = false;
  std::chrono::steady_clock::time_point last_parsed_;
  std::string buffer_;
};

// The engine takes `since` as seconds with a nanosecond fraction.
std::string Since(int64_t unix_ns) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "since=%lld.%09lld", static_cast<long long>(unix_ns / 1000000000),
                static_cast<long long>(unix_ns % 1000000000));
  return buf;
}

EngineEvent ParseEvent(const json& j) {
  EngineEvent e;
  e.action = j.value("Action", j.value("status", ""));
  const json actor = j.value("Actor", json::object());
  e.container_id = actor.value("ID", j.value("id", ""));
  if (actor.contains("Attributes") && actor["Attributes"].is_object()) {
    for (const auto& [k, v] : actor["Attributes"].items()) {
      if (v.is_string()) e.labels[k] = v.get<std::string>();
    }
  }
  e.time_unix_ns = j.value("timeNano", int64_t{0});
  if (e.action == "start")
    e.kind = EngineEvent::Kind::kStart;
  else if (e.action == "die")
    e.kind = EngineEvent::Kind::kDie;
  else if (e.action == "oom")
    e.kind = EngineEvent::Kind::kOom;
  else if (e.action.rfind("health_status", 0) == 0)
    e.kind = EngineEvent::Kind::kHealthStatus;
  // The engine mixes exitCode into the attributes next to the labels: it is not a label.
  if (auto it = e.labels.find("exitCode"); it != e.labels.end()) {
    if (e.kind == EngineEvent::Kind::kDie) e.exit_code = std::atoi(it->second.c_str());
    e.labels.erase(it);
  }
  return e;
}

ContainerInfo ParseInspect(const json& j) {
  ContainerInfo info;
  info.id = j.value("Id", "");
  info.name = j.value("Name", "");
  if (!info.name.empty() && info.name[0] == '/') info.name.erase(0, 1);
  const json config = j.value("Config", json::object());
  info.image = config.value("Image", "");
  if (config.contains("Labels") && config["Labels"].is_object()) {
    info.labels = config["Labels"].get<std::map<std::string, std::string>>();
  }
  const json state = j.value("State", json::object());
  info.status = state.value("Status", "");
  info.running = state.value("Running", false);
  info.exit_code = state.value("ExitCode", 0);
  info.oom_killed = state.value("OOMKilled", false);
  info.started_at = state.value("StartedAt", "");
  info.finished_at = state.value("FinishedAt", "");
  const json host = j.value("HostConfig", json::object());
  info.memory_bytes = host.value("Memory", int64_t{0});
  info.cpu_shares = host.value("CpuShares", int64_t{0});
  info.network_mode = host.value("NetworkMode", "");
  info.privileged = host.value("Privileged", false);
  return info;
}

}  // namespace

CurlDockerEngine::CurlDockerEngine(std::string socket_path, std::chrono::seconds call_timeout)
    : socket_path_(std::move(socket_path)), call_timeout_(call_timeout) {}

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
          if (j.contains("error")) {
            error = j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump();
            return;
          }
          std::string text = j.value("stream", "");
          if (text.empty() && j.contains("status")) text = j.value("status", "");
          while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
          if (!text.empty() && !cancelled) on_output(text);
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

Result<std::string> CurlDockerEngine::CreateContainer(const ContainerSpec& spec) {
  json mounts = json::array();
  for (const auto& volume : spec.volumes) {
    SPAWN_RETURN_IF_ERROR(EnsureVolume(volume));
    mounts.push_back({{"Type", "volume"}, {"Source", volume}, {"Target", "/srv/" + volume}});
  }
  json devices = json::array();
  for (const auto& d : spec.devices) {
    std::string host = d, container = d, perms = "rwm";
    const size_t first = d.find(':');
    if (first != std::string::npos) {
      host = d.substr(0, first);
      const size_t second = d.find(':', first + 1);
      container =
          d.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
      if (second != std::string::npos) perms = d.substr(second + 1);
    }
    devices.push_back(
        {{"PathOnHost", host}, {"PathInContainer", container}, {"CgroupPermissions", perms}});
  }
  json host_config = {
      {"Memory", spec.memory_bytes},
      {"CpuShares", spec.cpu_shares},
      {"Privileged", false},
      {"Mounts", mounts},
      {"Devices", devices},
      {"LogConfig", {{"Type", "json-file"}, {"Config", {{"max-size", spec.log_max_size}}}}}};
  if (!spec.network_mode.empty()) host_config["NetworkMode"] = spec.network_mode;
  json body = {{"Image", spec.image},
               {"Env", spec.env},
               {"Labels", spec.labels},
               {"HostConfig", host_config}};
  if (!spec.cmd.empty()) body["Cmd"] = spec.cmd;
  if (!spec.working_dir.empty()) body["WorkingDir"] = spec.working_dir;
  auto r = Call("POST", "/containers/create?name=" + Escape(spec.name), body.dump());
  if (!r.ok()) return r.status();
  SPAWN_RETURN_IF_ERROR(StatusFromHttp(r->code, r->body, "create container " + spec.name));
  try {
    return json::parse(r->body).at("Id").get<std::string>();
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
  return std::make_unique<ThreadStream>(
      [this, id, since_unix_ns, on_line, on_end](StreamControl& control) {
        const auto& cancelled = control.cancelled();
        // TTY containers have one raw stream; the others are framed, and only inspect tells which.
        auto info = Call("GET", "/containers/" + Escape(id) + "/json");
        if (!info.ok() || info->code != 200) {
          if (!cancelled)
            on_end(info.ok() ? StatusFromHttp(info->code, info->body, "container " + id)
                             : info.status());
          return;
        }
        bool tty = false;
        try {
          tty = json::parse(info->body).at("Config").value("Tty", false);
        } catch (const json::exception&) {
        }
        LogDemultiplexer demux(tty, [&](const LogLine& line) {
          if (!cancelled) on_line(line);
        });
        Transfer t;
        t.control = &control;
        t.on_data = [&](std::string_view data) {
          demux.Feed(data);
          return true;
        };
        const std::string url = std::string(kApiPrefix) + "/containers/" + Escape(id) +
                                "/logs?follow=1&stdout=1&stderr=1&" +
                                (since_unix_ns > 0 ? Since(since_unix_ns) : "tail=0");
        long code = 0;
        // A quiet service is normal: no time limit; the engine ends the stream when the container
        // stops.
        CURLcode rc = t.Run(socket_path_, "GET", url, nullptr, "", Limits{}, &code);
        if (cancelled) return;
        demux.Flush();
        if (!cancelled) on_end(StreamOutcome(rc, t, code, socket_path_, "logs of " + id));
      });
}

std::unique_ptr<Stream> CurlDockerEngine::FollowStats(
    const std::string& id, std::function<void(const ContainerStats&)> on_stats, Done on_end) {
  return std::make_unique<ThreadStream>([this, id, on_stats, on_end,
                                         every = stats_interval_](StreamControl& control) {
    const auto& cancelled = control.cancelled();
    JsonLines lines(
        [&](const json& j) {
          if (!cancelled && j.contains("memory_stats")) on_stats(ComputeStats(j));
        },
        every);
    Transfer t;
    t.control = &control;
    t.on_data = [&](std::string_view data) {
      lines.Feed(data);
      return true;
    };
    long code = 0;
    // A sample comes every second or two while the container runs; a long silence means it
    // stopped (the engine then keeps the stream open without samples) or the engine is stuck.
    CURLcode rc = t.Run(socket_path_, "GET",
                        std::string(kApiPrefix) + "/containers/" + Escape(id) + "/stats?stream=1",
                        nullptr, "", Limits{{}, std::chrono::seconds(30)}, &code);
    if (cancelled) return;
    on_end(StreamOutcome(rc, t, code, socket_path_, "stats of " + id));
  });
}

}  // namespace spawn
