#include "spawn/gateway/server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>

namespace spawn::gateway {
namespace {

HttpRequest Convert(const httplib::Request& in) {
  HttpRequest out;
  out.method = in.method;
  out.path = in.path;
  for (const auto& [k, v] : in.params) out.params.emplace(k, v);
  for (const auto& [k, v] : in.headers) {
    std::string lower = k;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    out.headers.emplace(lower, v);
  }
  out.body = in.body;
  for (const auto& [name, file] : in.files) out.parts.emplace(name, file.content);
  return out;
}

void Apply(const HttpResponse& in, httplib::Response& out) {
  out.status = in.status;
  for (const auto& [k, v] : in.headers) out.set_header(k, v);
  out.set_content(in.body, in.content_type);
}

}  // namespace

Status ParseListen(const std::string& text, std::string* host, int* port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos)
    return Status::BadRequest("--listen \"" + text + "\": expected HOST:PORT, e.g. 127.0.0.1:8080");
  std::string h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) h = "127.0.0.1";
  const std::string p = text.substr(colon + 1);
  if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), ::isdigit) ||
      std::stoi(p) > 65535) {
    return Status::BadRequest("--listen \"" + text + "\": the port must be a number 0-65535");
  }
  *host = h;
  *port = std::stoi(p);
  return Status::Ok();
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

GatewayServer::GatewayServer(Api& api, FleetState& state, ServerOptions options)
    : api_(api), state_(state), options_(options), server_(std::make_unique<httplib::Server>()) {
  const size_t threads = options_.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  auto handle = [this](const httplib::Request& req, httplib::Response& res) {
    HttpRequest r = Convert(req);
    if (r.path == "/api/v1/events" && r.method == "GET") {
      Stream(r, &res);
      return;
    }
    Apply(api_.Handle(r), res);
  };
  server_->Get(".*", handle);
  server_->Post(".*", handle);
  server_->Put(".*", handle);
  server_->Delete(".*", handle);
}

GatewayServer::~GatewayServer() { Stop(); }

void GatewayServer::Stream(const HttpRequest& req, void* response) {
  auto& res = *static_cast<httplib::Response*>(response);
  if (auto refused = api_.CheckStream(req)) {
    Apply(*refused, res);
    return;
  }
  if (streams_.fetch_add(1) >= options_.max_streams) {
    streams_.fetch_sub(1);
    Apply(ErrorResponse(503, "too many event streams open (" +
                                 std::to_string(options_.max_streams) + "); try again later"),
          res);
    return;
  }
  std::shared_ptr<Subscription> sub = state_.Subscribe();
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  const Duration keepalive = options_.keepalive;
  auto first = std::make_shared<bool>(true);
  res.set_chunked_content_provider(
      "text/event-stream",
      [sub, keepalive, first](size_t, httplib::DataSink& sink) {
        std::string out;
        if (*first) {
          out = "retry: 2000\n\n";
          *first = false;
        }
        auto events = sub->Wait(keepalive);
        if (sub->closed()) return false;
        if (events.empty()) out += ": keepalive\n\n";
        for (const auto& e : events) out += "event: " + e.name + "\ndata: " + e.data + "\n\n";
        return sink.write(out.data(), out.size());
      },
      [this, sub](bool) {
        sub->Close();
        streams_.fetch_sub(1);
      });
}

Status GatewayServer::Start() {
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
  } else if (server_->bind_to_port(options_.host, options_.port)) {
    port_ = options_.port;
  }
  if (port_ <= 0) {
    return Status::Unavailable("cannot listen on " + options_.host + ":" +
                               std::to_string(options_.port) +
                               " (in use, or not an address of this host?)");
  }
  auto ended = std::make_shared<std::atomic<bool>>(false);
  thread_ = std::thread([this, ended] {
    server_->listen_after_bind();
    *ended = true;
  });
  // The socket listens already (connections queue); this only makes Stop() find it running.
  while (!server_->is_running() && !*ended)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return Status::Ok();
}

void GatewayServer::Stop() {
  state_.CloseAll();
  if (server_->is_running()) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace spawn::gateway
