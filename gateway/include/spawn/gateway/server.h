// GatewayServer: the HTTP listener (cpp-httplib) in front of an Api, plus the event stream
// GET /api/v1/events, which sends FleetState's events as Server-Sent Events (a snapshot first, a
// comment line every keepalive so that a closed browser is noticed).
//
// cpp-httplib serves each connection on one thread of a fixed pool, and a stream holds its thread
// for as long as it lasts: beyond max_streams open streams a new one gets 503, so that the pool
// always has threads for the API.
//
// Threading: Start() serves on a thread of its own; Stop() (or the destructor) closes the streams
// and ends it. Both from the owner's thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "spawn/common/status.h"
#include "spawn/gateway/api.h"
#include "spawn/gateway/fleet_state.h"

namespace httplib {
class Server;
}

namespace spawn::gateway {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (port() says which)
  size_t threads = 16;
  size_t max_streams = 10;
  Duration keepalive = std::chrono::seconds(10);
};

class GatewayServer {
 public:
  GatewayServer(Api& api, FleetState& state, ServerOptions options);
  ~GatewayServer();

  // Binds the listening socket and serves; returns once requests are answered. kUnavailable
  // naming the address when it cannot listen.
  Status Start();
  int port() const { return port_; }
  void Stop();
  size_t open_streams() const { return streams_.load(); }

 private:
  void Stream(const struct HttpRequest& req, void* response);

  Api& api_;
  FleetState& state_;
  const ServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::atomic<size_t> streams_{0};
  std::thread thread_;
};

// "HOST:PORT", "[V6]:PORT" or ":PORT" (loopback) into host and port; kBadRequest otherwise.
Status ParseListen(const std::string& text, std::string* host, int* port);
// Whether `host` is a loopback address or "localhost".
bool IsLoopback(const std::string& host);

}  // namespace spawn::gateway
