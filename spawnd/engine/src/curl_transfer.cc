#include "curl_transfer.h"

#include "engine_codec.h"

namespace spawn {
namespace {

// libcurl's process-wide set-up runs on the first handle, not when the program loads, so that a
// program can set OpenSSL up its own way first (spawnd does: see
// spawnd/daemon/process/process_setup.h).
CURL* NewEasyHandle() {
  static const CURLcode initialised = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)initialised;  // on failure curl_easy_init tries again itself
  return curl_easy_init();
}

bool Success(long code) { return code >= 200 && code < 300; }

}  // namespace

std::string Escape(const std::string& s) {
  char* out = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  std::string escaped(out);
  curl_free(out);
  return escaped;
}

void StreamControl::Cancel() {
  {
    MutexLock lock(mu_);
    cancelled_ = true;
    if (multi_) curl_multi_wakeup(multi_);  // documented as callable from any thread
  }
  wake_.NotifyAll();
}

bool StreamControl::SleepFor(std::chrono::milliseconds d) {
  MutexLock lock(mu_);
  return !wake_.WaitFor(lock, d, [this] { return cancelled_.load(); });
}

void StreamControl::Attach(CURLM* multi) {
  MutexLock lock(mu_);
  multi_ = multi;
}

Transfer::Transfer() : curl(NewEasyHandle()) {}

Transfer::~Transfer() {
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
}

void Transfer::Recycle() {
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

size_t Transfer::Write(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<Transfer*>(self);
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  if (!Success(code)) {
    t->error_body.append(data, size * n);
    return size * n;
  }
  return t->on_data(std::string_view(data, size * n)) ? size * n : 0;
}

size_t Transfer::Header(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<Transfer*>(self);
  const std::string_view line(data, size * n);
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  if ((line == "\r\n" || line == "\n") && Success(code) && t->on_connected) t->on_connected();
  return size * n;
}

// Stops a transfer that is busy moving data when it is cancelled; a silent one is woken by
// StreamControl::Cancel instead.
int Transfer::Progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(self);
  return t->control && t->control->cancelled() ? 1 : 0;
}

CURLcode Transfer::Run(const std::string& socket, const std::string& method, const std::string& url,
                       const std::string* body, const std::string& content_type, Limits limits,
                       long* code) {
  Configure(socket, method, url, body, content_type, limits);
  CURLcode rc = control ? PerformCancellable() : curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, code);
  return rc;
}

void Transfer::Configure(const std::string& socket, const std::string& method,
                         const std::string& url, const std::string* body,
                         const std::string& content_type, Limits limits) {
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

CURLcode Transfer::PerformCancellable() {
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

std::string Transfer::Error(CURLcode rc) const {
  std::string text(error_text.c_str());
  return text.empty() ? curl_easy_strerror(rc) : text;
}

Status StatusFromHttp(long code, const std::string& body, const std::string& what) {
  if (Success(code)) return Status::Ok();
  const std::string message = what + ": " + EngineMessage(body);
  if (code == 404) return Status::NotFound(message);
  if (code == 409) return Status::Conflict(message);
  if (code == 400) return Status::BadRequest(message);
  return Status::Internal(message + " (engine answered " + std::to_string(code) + ")");
}

Status TransportError(CURLcode rc, const std::string& detail, const std::string& socket) {
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return Status::Timeout("the Docker engine at " + socket + " did not answer in time: " + detail);
  return Status::Unavailable("cannot reach the Docker engine at " + socket + ": " + detail);
}

Status StreamOutcome(CURLcode rc, const Transfer& t, long code, const std::string& socket,
                     const std::string& what) {
  if (rc != CURLE_OK) return TransportError(rc, t.Error(rc), socket);
  return StatusFromHttp(code, t.error_body, what);
}

}  // namespace spawn
