// HttpProber: the port through which spawnd probes a service's HTTP health endpoint (deploy.yml's
// healthCheck.http). CurlDockerEngine is the real one: probes run as transfers on its stream
// thread (one libcurl multi handle), so a probe never blocks the caller and a hundred services'
// probes cost no thread of their own. FakeHttpProber (spawn::engine_testing) records probes and
// answers them when a test says so.
//
// Contract: Probe returns at once; `done` is called exactly once, on the prober's thread (it must
// only hand the result off), within about `timeout` — unless the prober is destroyed first, in
// which case it may never be called. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace spawn {

struct HttpProbe {
  std::string host;  // an IP address: 127.0.0.1 for a host-network service, else the container's
  int port = 80;
  std::string path = "/";
  std::chrono::milliseconds timeout{2000};
  std::string expect;  // extended regular expression the body must match; "" any body
};

struct HttpProbeResult {
  bool healthy = false;
  // Why it failed ("connection refused", "HTTP 500: <body>", "the body does not match ..."), cut
  // short; "" when healthy.
  std::string output;
};

class HttpProber {
 public:
  using ProbeDone = std::function<void(const HttpProbeResult&)>;
  virtual ~HttpProber() = default;
  // GET http://host:port/path: healthy on a 2xx or 3xx answer (redirects are not followed) whose
  // body matches `expect`, within `timeout`.
  virtual void Probe(const HttpProbe& probe, ProbeDone done) = 0;
};

}  // namespace spawn
