#include "curl_http_prober.h"

#include <algorithm>
#include <memory>

#include "spawn/common/config.h"

namespace spawn {
namespace {

// A failing probe's output goes into every heartbeat: a line, not a page.
constexpr size_t kMaxOutput = 200;
// What is kept of a body for `expect`: a health endpoint answers in a few lines.
constexpr size_t kMaxBody = 64 * 1024;

std::string Cut(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s.size() > kMaxOutput ? s.substr(0, kMaxOutput) + "..." : s;
}

}  // namespace

HttpProbeResult ProbeOutcome(CURLcode rc, const std::string& error, long code,
                             const std::string& body, const std::string& expect) {
  if (rc != CURLE_OK) return {false, Cut(error)};
  if (code < 200 || code >= 400) {
    return {false, Cut("HTTP " + std::to_string(code) + (body.empty() ? "" : ": " + body))};
  }
  if (!expect.empty() && !MatchesExtendedRegex(expect, body)) {
    return {false, Cut("the body does not match \"" + expect + "\": " + body)};
  }
  return {true, ""};
}

void StartHttpProbe(CurlStreamHub& hub, const HttpProbe& probe, HttpProber::ProbeDone done) {
  auto transfer = std::make_unique<Transfer>();
  Transfer& t = *transfer;
  const std::string url = "http://" + probe.host + ":" + std::to_string(probe.port) + probe.path;
  t.on_data = [&t](std::string_view data) {
    if (t.collected.size() < kMaxBody)
      t.collected.append(data.substr(0, kMaxBody - t.collected.size()));
    return true;
  };
  t.Configure("", "GET", url, nullptr, "", Limits{});
  // Configure is made for the engine's socket: this one is TCP, direct, and bounded in ms.
  curl_easy_setopt(t.curl, CURLOPT_UNIX_SOCKET_PATH, nullptr);
  curl_easy_setopt(t.curl, CURLOPT_NOPROXY, "*");
  const long ms = std::max<long>(1, static_cast<long>(probe.timeout.count()));
  curl_easy_setopt(t.curl, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(t.curl, CURLOPT_CONNECTTIMEOUT_MS, ms);
  hub.Add(
      std::make_shared<CurlStreamHub::Flow>(), std::move(transfer),
      [expect = probe.expect, done = std::move(done)](Transfer& finished, CURLcode rc, long code) {
        const bool ok = code >= 200 && code < 300;
        done(ProbeOutcome(rc, finished.Error(rc), code,
                          ok ? finished.collected : finished.error_body, expect));
      });
}

}  // namespace spawn
