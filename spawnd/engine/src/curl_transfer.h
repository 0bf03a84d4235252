// One HTTP request to the engine's unix socket on a libcurl easy handle (Transfer), its time
// limits, and how its outcome maps to a Status. Engine-private: CurlDockerEngine runs short calls
// with Transfer::Run, builds and the event stream with Run on a thread of their own (a
// StreamControl makes them cancellable), and hands configured transfers to the CurlStreamHub. A
// Transfer is used by one thread at a time; StreamControl is thread-safe.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "spawn/common/mutex.h"
#include "spawn/common/status.h"

namespace spawn {

// Percent-encodes `s` for a URL's path or query.
std::string Escape(const std::string& s);

// Time limits of one transfer. Short calls have a total timeout; streams have none (they may last
// for days); builds and stats have a low-speed limit instead, because their long silence means a
// stuck engine, while events and logs may rightly stay silent for hours.
struct Limits {
  std::chrono::seconds total{0};      // 0: none
  std::chrono::seconds low_speed{0};  // abort after this long below 1 byte/s; 0: none
};

// What a stream's body sees of its Stream: whether it was cancelled, and an interruptible sleep.
// Shared with the stream's thread so that a Stream destroyed from its own callback can let the
// thread finish on its own. Cancel() also wakes the transfer in progress (see Attach), so a silent
// stream ends at once instead of at libcurl's next progress tick.
class StreamControl {
 public:
  const std::atomic<bool>& cancelled() const { return cancelled_; }
  void Cancel() EXCLUDES(mu_);
  // Sleeps up to `d`; returns false if cancelled meanwhile.
  bool SleepFor(std::chrono::milliseconds d) EXCLUDES(mu_);
  // The multi handle the stream's thread is waiting in (nullptr: none). Detached before the handle
  // is freed, so Cancel never wakes a freed handle.
  void Attach(CURLM* multi) EXCLUDES(mu_);

 private:
  std::atomic<bool> cancelled_{false};
  Mutex mu_;
  CondVar wake_;  // cancelled_ became true
  CURLM* multi_ GUARDED_BY(mu_) = nullptr;
};

// Settings shared by every transfer; `control` (streams only, may be null) aborts the transfer when
// cancelled. Bodies of answers outside 2xx go to `error_body`, never to `on_data`, so stream
// parsers only ever see the stream itself.
struct Transfer {
  CURL* curl;
  curl_slist* headers = nullptr;
  std::function<bool(std::string_view)> on_data;  // false stops the transfer
  std::string collected;                          // the answer, for a collecting GET
  std::function<void()> on_connected;             // once the engine accepted the request (2xx)
  StreamControl* control = nullptr;
  std::string error_body;
  std::string error_text = std::string(CURL_ERROR_SIZE, '\0');

  Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer();

  // Clears every setting and what the last request left, for another request on the same easy
  // handle (which keeps its buffers: cheaper than a handle per stats poll).
  void Recycle();

  // Sets every option of the request; `body` must outlive the transfer.
  void Configure(const std::string& socket, const std::string& method, const std::string& url,
                 const std::string* body, const std::string& content_type, Limits limits);

  // Configures and performs the request on the calling thread, interruptibly when `control` is
  // set; `*code` gets the HTTP status (0 if none came).
  CURLcode Run(const std::string& socket, const std::string& method, const std::string& url,
               const std::string* body, const std::string& content_type, Limits limits, long* code);

  // libcurl's error text for `rc`, or its generic one.
  std::string Error(CURLcode rc) const;

 private:
  // curl_easy_perform, but in a multi handle whose wait StreamControl::Cancel can interrupt.
  CURLcode PerformCancellable();

  static size_t Write(char* data, size_t size, size_t n, void* self);
  static size_t Header(char* data, size_t size, size_t n, void* self);
  static int Progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
};

// The engine's HTTP answer as a Status: 2xx Ok, 404 kNotFound, 409 kConflict, 400 kBadRequest,
// anything else kInternal; the message is `what` and the engine's own message from `body`.
Status StatusFromHttp(long code, const std::string& body, const std::string& what);

// A transfer that got no answer: kTimeout if it ran out of time, else kUnavailable; the message
// names the socket.
Status TransportError(CURLcode rc, const std::string& detail, const std::string& socket);

// How a stream's transfer ended, as the Status its on_done/on_end reports.
Status StreamOutcome(CURLcode rc, const Transfer& t, long code, const std::string& socket,
                     const std::string& what);

}  // namespace spawn
