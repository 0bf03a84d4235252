#include "spawn/engine/curl_docker_engine.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "spawn/engine/dockerfile.h"
#include "spawn/engine/engine_codec.h"

namespace spawn {
namespace {

using json = nlohmann::json;
constexpr const char* kApiPrefix = "http://localhost/v1.41";

// libcurl's process-wide set-up runs on the first handle, not when the program loads, so that a
// program can set OpenSSL up its own way first (spawnd does: see spawn/daemon/openssl_setup.h).
CURL* NewEasyHandle() {
  static const CURLcode initialised = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)initialised;  // on failure curl_easy_init tries again itself
  return curl_easy_init();
}

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
// cancelled. Bodies of answers outside 2xx go to `error_body`, never to `on_data`, so stream
// parsers only ever see the stream itself.
struct Transfer {
  CURL* curl = NewEasyHandle();
  curl_slist* headers = nullptr;
  std::function<bool(std::string_view)> on_data;  // false stops the transfer
  std::string collected;                          // the answer, for a CollectingGet
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

  // Clears every setting and what the last request left, for another request on the same easy
  // handle (which keeps its buffers; making and cleaning up a handle per stats poll was 5% of
  // spawnd's CPU).
  void Recycle() {
    curl_easy_reset(curl);
    curl_slist_free_all(headers);
    headers = nullptr;
    on_data = nullptr;
    on_connected = nullptr;
    control = nullptr;
    collected.clear();
    error_body.clear();
    error_text.assign(CURL_ERROR_SIZE, '\0');
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
    Configure(socket, method, url, body, content_type, limits);
    CURLcode rc = control ? PerformCancellable() : curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, code);
    return rc;
  }

  // Sets every option of the request; `body` must outlive the transfer.
  void Configure(const std::string& socket, const std::string& method, const std::string& url,
                 const std::string* body, const std::string& content_type, Limits limits) {
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
  explicit JsonLines(std::function<void(const json&)> sink) : sink_(std::move(sink)) {}
  void Feed(std::string_view data) {
    buffer_.append(data);
    size_t nl;
    while ((nl = buffer_.find('\n')) != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      try {
        sink_(json::parse(line));
      } catch (const json::exception& e) {
        spdlog::debug("engine: unparsable stream line: {}", e.what());
      }
    }
  }

 private:
  std::function<void(const json&)> sink_;
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

// Runs the long-lived streams of many containers (logs, stats) on one thread, in one libcurl multi
// handle driven by epoll (curl_multi_socket_action): a hundred services then cost one thread, and a
// log line wakes only the transfer it belongs to, not a scan of two hundred sockets. A flow is a
// chain of transfers (FollowLogs inspects, then follows); the transfers' callbacks and the `finish`
// of each run on the hub's thread, which holds dispatch_mu_ meanwhile. Cancel() from another
// thread returns once none of the flow's callbacks runs or will run; from the hub's own thread (in
// a callback) it marks the flow, and the hub drops its transfer before calling anything else of it.
// Polls (stats samples) take turns: at most kPollSlots run at once, the rest wait in line without
// a transfer of their own yet.
class CurlStreamHub {
 public:
  struct Flow {
    std::atomic<bool> cancelled{false};
  };
  // Called when a transfer ended by itself (a cancelled flow's transfer is dropped silently).
  using Finish = std::function<void(Transfer& transfer, CURLcode rc, long http_code)>;

  CurlStreamHub()
      : multi_(curl_multi_init()),
        epoll_(epoll_create1(EPOLL_CLOEXEC)),
        wake_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlStreamHub::OnSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlStreamHub::OnTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  }
  ~CurlStreamHub() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    Wake();
    if (thread_.joinable()) thread_.join();
    for (auto& [curl, active] : active_) curl_multi_remove_handle(multi_, curl);
    active_.clear();
    curl_multi_cleanup(multi_);
    close(wake_);
    close(epoll_);
  }
  CurlStreamHub(const CurlStreamHub&) = delete;
  CurlStreamHub& operator=(const CurlStreamHub&) = delete;

  using ConfigurePoll = std::function<void(Transfer&)>;
  // At most this many polls run at once.
  static constexpr int kPollSlots = CurlDockerEngine::kStatsPollsAtOnce;

  // Adds a configured transfer to `flow`, to start after `delay`. Any thread; from a `finish` it
  // chains the next one.
  void Add(std::shared_ptr<Flow> flow, std::unique_ptr<Transfer> transfer, Finish finish,
           std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
    Schedule(Active{std::move(flow), std::move(transfer), nullptr, std::move(finish),
                    std::chrono::steady_clock::now() + delay});
  }

  // Adds a poll (a short request made again and again, such as a stats sample) to `flow`: after
  // `delay` it waits for one of kPollSlots, in the order the polls fell due, and only then gets a
  // transfer (one that an earlier poll left, when there is one) for `configure` to set up, so a
  // poll waiting for its turn holds none. Any thread; from a `finish` it chains the next poll.
  void AddPoll(std::shared_ptr<Flow> flow, ConfigurePoll configure, Finish finish,
               std::chrono::milliseconds delay) {
    Schedule(Active{std::move(flow), nullptr, std::move(configure), std::move(finish),
                    std::chrono::steady_clock::now() + delay});
  }

  void Cancel(const std::shared_ptr<Flow>& flow) {
    flow->cancelled = true;
    bool on_hub_thread = false;
    {
      std::lock_guard lock(mu_);
      cancel_requested_ = true;
      on_hub_thread = std::this_thread::get_id() == thread_.get_id();
    }
    Wake();
    if (on_hub_thread) return;
    // Whatever callback of the flow was running has returned; later ones see the flag.
    std::lock_guard wait(dispatch_mu_);
  }

 private:
  struct Active {
    std::shared_ptr<Flow> flow;
    std::unique_ptr<Transfer> transfer;  // a poll's comes when it starts
    ConfigurePoll configure;             // set for polls only
    Finish finish;
    std::chrono::steady_clock::time_point not_before;
    bool poll() const { return configure != nullptr; }
  };

  void Schedule(Active added) {
    bool on_hub_thread = false;
    {
      std::lock_guard lock(mu_);
      on_hub_thread = std::this_thread::get_id() == thread_.get_id();
      if (!on_hub_thread) {
        pending_.push_back(std::move(added));
        if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
      }
    }
    if (on_hub_thread) {
      // From a `finish` (a stats poll chaining the next): straight into the schedule, which Run
      // consults before it next waits, with no wake-up of itself.
      delayed_.emplace(added.not_before, std::move(added));
      return;
    }
    Wake();
  }

  // Wakes Run from its wait for sockets or its pause for more data.
  void Wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_, &one, sizeof one);
    changed_.notify_one();
  }

  // libcurl tells which sockets to watch and for what; epoll keeps that set.
  static int OnSocket(CURL*, curl_socket_t socket, int what, void* self, void*) {
    auto* hub = static_cast<CurlStreamHub*>(self);
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(hub->epoll_, EPOLL_CTL_DEL, socket, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    ev.data.fd = socket;
    if (epoll_ctl(hub->epoll_, EPOLL_CTL_MOD, socket, &ev) != 0 && errno == ENOENT)
      epoll_ctl(hub->epoll_, EPOLL_CTL_ADD, socket, &ev);
    return 0;
  }
  // libcurl's own timers (connect, low speed, total): when it next wants to be called anyway.
  static int OnTimer(CURLM*, long timeout_ms, void* self) {
    auto* hub = static_cast<CurlStreamHub*>(self);
    hub->deadline_ = timeout_ms < 0 ? std::nullopt
                                    : std::optional(std::chrono::steady_clock::now() +
                                                    std::chrono::milliseconds(timeout_ms));
    return 0;
  }

  // Until libcurl's next timer or the next delayed transfer, whichever comes first (-1: none).
  int WaitMillis() const {
    std::optional<std::chrono::steady_clock::time_point> wake = deadline_;
    if (!delayed_.empty() && (!wake || delayed_.begin()->first < *wake))
      wake = delayed_.begin()->first;
    if (!wake) return -1;
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(*wake - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
  }

  void Run() {
    std::array<epoll_event, 64> events{};
    int ready = 0;
    while (true) {
      std::vector<Active> added;
      bool check_cancelled = false;
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        added.swap(pending_);
        check_cancelled = std::exchange(cancel_requested_, false);
      }
      {
        std::lock_guard dispatch(dispatch_mu_);  // not held while waiting: Cancel takes it
        Dispatch(added, check_cancelled, events.data(), ready);
      }
      // Data that arrives meanwhile waits a moment, to be read with whatever else came: a
      // hundred services' logs then wake this thread four times a second, not hundreds, and a
      // line reaches the bus within a quarter of a second. A new transfer, a cancellation or the
      // destructor cuts the wait short.
      bool go_round = false;
      {
        std::unique_lock lock(mu_);
        auto asked = [this] { return stopping_ || cancel_requested_ || !pending_.empty(); };
        // Polls waiting for a slot are not kept waiting too: the answers that free their slots
        // are read as they come.
        if (ready > 0 && waiting_polls_.empty()) changed_.wait_for(lock, kCoalesce, asked);
        // Dispatch may have drained the eventfd of a Wake whose request came before: looked at
        // here, under the lock, it is not slept through.
        go_round = asked();
      }
      ready = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()),
                         go_round ? 0 : WaitMillis());
      if (ready < 0) ready = 0;  // EINTR: go round again
    }
  }

  // Adds and drops transfers, then lets libcurl act on the sockets that are ready and on its
  // timers, which runs the transfers' callbacks.
  void Dispatch(std::vector<Active>& added, bool check_cancelled, const epoll_event* events,
                int ready) {
    if (check_cancelled) {
      std::erase_if(active_, [this](auto& entry) {
        if (!entry.second.flow->cancelled) return false;
        curl_multi_remove_handle(multi_, entry.first);
        if (entry.second.poll()) --polls_running_;
        return true;
      });
      std::erase_if(delayed_, [](auto& entry) { return entry.second.flow->cancelled.load(); });
      std::erase_if(waiting_polls_, [](const Active& a) { return a.flow->cancelled.load(); });
    }
    for (auto& a : added) {
      if (!a.flow->cancelled) delayed_.emplace(a.not_before, std::move(a));
    }
    // What falls due within one pause starts now, with what is due: the stats polls of a hundred
    // containers, each on a cycle of its own, then share a few wake-ups a second.
    const auto horizon = std::chrono::steady_clock::now() + kCoalesce;
    while (!delayed_.empty() && delayed_.begin()->first <= horizon) {
      Active a = std::move(delayed_.begin()->second);
      delayed_.erase(delayed_.begin());
      if (a.poll())
        waiting_polls_.push_back(std::move(a));
      else
        Start(std::move(a));
    }
    StartWaitingPolls();
    int running = 0;
    for (int i = 0; i < ready; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_) {
        uint64_t count = 0;
        [[maybe_unused]] ssize_t n = read(wake_, &count, sizeof count);
        continue;
      }
      const uint32_t e = events[i].events;
      const int mask = ((e & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                       ((e & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                       ((e & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
      curl_multi_socket_action(multi_, fd, mask, &running);
    }
    if (deadline_ && *deadline_ <= std::chrono::steady_clock::now()) {
      deadline_.reset();
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    FinishDone();
    // The slots that freed go to the polls next in line, which start at once (a transfer just
    // added is due on libcurl's timer right away), not after the next wait.
    while (StartWaitingPolls()) {
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      FinishDone();
    }
  }

  void Start(Active a) {
    if (a.poll()) {
      ++polls_running_;
      if (spare_polls_.empty()) {
        a.transfer = std::make_unique<Transfer>();
      } else {
        a.transfer = std::move(spare_polls_.back());
        spare_polls_.pop_back();
        a.transfer->Recycle();
      }
      a.configure(*a.transfer);
    }
    // Stream buffers, not bulk downloads: lines of log and JSON samples of a few KiB. Cancelling
    // goes through the flow, so the per-call progress callback is not needed.
    CURL* curl = a.transfer->curl;
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 4096L);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 1L);
    curl_multi_add_handle(multi_, curl);
    active_.emplace(curl, std::move(a));
  }

  // Starts waiting polls while slots are free; true if it started any.
  bool StartWaitingPolls() {
    bool started = false;
    while (polls_running_ < kPollSlots && !waiting_polls_.empty()) {
      Active a = std::move(waiting_polls_.front());
      waiting_polls_.pop_front();
      if (a.flow->cancelled) continue;
      Start(std::move(a));
      started = true;
    }
    return started;
  }

  // Hands each transfer that ended to its flow's `finish` (unless the flow was cancelled).
  void FinishDone() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* curl = msg->easy_handle;  // `msg` dies with the removal below
      const CURLcode rc = msg->data.result;
      auto it = active_.find(curl);
      if (it == active_.end()) continue;
      Active done = std::move(it->second);
      active_.erase(it);
      curl_multi_remove_handle(multi_, curl);
      long code = 0;
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
      if (!done.flow->cancelled) done.finish(*done.transfer, rc, code);
      if (done.poll()) {
        --polls_running_;
        // Never more spare than there are slots: what a turn of polls used, and no more.
        if (spare_polls_.size() < kPollSlots) spare_polls_.push_back(std::move(done.transfer));
      }
    }
  }

  static constexpr std::chrono::milliseconds kCoalesce{250};

  CURLM* const multi_;
  const int epoll_;
  const int wake_;  // an eventfd: Add, Cancel and the destructor write to it to wake Run
  std::mutex mu_;
  std::condition_variable changed_;  // pending_, cancel_requested_ or stopping_ changed
  std::vector<Active> pending_;      // guarded by mu_
  bool cancel_requested_ = false;    // guarded by mu_
  bool stopping_ = false;            // guarded by mu_
  std::thread thread_;               // started by the first Add, under mu_
  std::mutex dispatch_mu_;           // held by the hub's thread while transfers and finishes run
  std::map<CURL*, Active> active_;   // the hub's thread only (and the destructor, after it)
  std::multimap<std::chrono::steady_clock::time_point, Active> delayed_;  // the hub's thread only
  std::deque<Active> waiting_polls_;  // due, waiting for a slot; the hub's thread only
  int polls_running_ = 0;             // the hub's thread only
  std::vector<std::unique_ptr<Transfer>> spare_polls_;  // finished polls' transfers; hub's only
  std::optional<std::chrono::steady_clock::time_point> deadline_;  // the hub's thread only
};

namespace {

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

// A stream of the hub: cancelling it drops its flow.
class HubStream final : public Stream {
 public:
  HubStream(CurlStreamHub& hub, std::shared_ptr<CurlStreamHub::Flow> flow)
      : hub_(hub), flow_(std::move(flow)) {}
  ~HubStream() override { Cancel(); }
  void Cancel() override { hub_.Cancel(flow_); }

 private:
  CurlStreamHub& hub_;
  std::shared_ptr<CurlStreamHub::Flow> flow_;
};

}  // namespace

CurlDockerEngine::CurlDockerEngine(std::string socket_path, std::chrono::seconds call_timeout)
    : socket_path_(std::move(socket_path)),
      call_timeout_(call_timeout),
      hub_(std::make_unique<CurlStreamHub>()) {}

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
        bool tty = false;
        try {
          tty = json::parse(t.collected).at("Config").value("Tty", false);
        } catch (const json::exception&) {
        }
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
        hub.Add(flow, std::move(follow),
                [this, flow, demux, id, on_end](Transfer& t, CURLcode rc, long code) {
                  demux->Flush();
                  if (!flow->cancelled)
                    on_end(StreamOutcome(rc, t, code, socket_path_, "logs of " + id));
                });
      });
  return std::make_unique<HubStream>(hub, flow);
}

namespace {

// A sample's size, give or take (2-3 KiB on cgroup v2): room for it up front, not grown in steps.
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

// Keeps, while a stats sample is parsed, only the members ComputeStats reads: the rest (pids,
// storage, names, read times, the one-shot's empty precpu_stats) is skipped instead of built.
bool KeepStatsMember(int depth, json::parse_event_t event, json& parsed) {
  if (depth != 1 || event != json::parse_event_t::key) return true;
  const auto& key = parsed.get_ref<const std::string&>();
  return key == "memory_stats" || key == "cpu_stats" || key == "networks" || key == "blkio_stats";
}

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
