#include "spawn/gateway/api.h"

#include <nlohmann/json.hpp>

#include "spawn/client/format.h"
#include "spawn/common/config.h"
#include "spawn/common/units.h"
#include "spawn/gateway/metrics.h"

namespace spawn::gateway {
namespace {

using json = nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse FromStatus(const Status& s) { return ErrorResponse(s.http_code(), s.message()); }

HttpResponse FromReply(const Result<proto::Reply>& reply) {
  if (!reply.ok()) return FromStatus(reply.status());
  int status = reply->ok ? 200 : reply->code;
  if (status < 400 || status > 599) status = reply->ok ? 200 : 500;
  return JsonResponse(status, ToJson(*reply));
}

bool Truthy(const std::string& v) { return v == "1" || v == "true" || v == "yes"; }

}  // namespace

Api::Api(FleetState& state, FleetCommands& commands, AccessPolicy& access, const Assets& assets,
         Duration down_after)
    : state_(state),
      commands_(commands),
      access_(access),
      assets_(assets),
      down_after_(down_after) {}

std::optional<HttpResponse> Api::CheckStream(const HttpRequest& req) const {
  return access_.Check(req, true, false, false);
}

HttpResponse Api::Handle(const HttpRequest& req) {
  const std::string& p = req.path;
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool post = req.method == "POST";
  if (p == "/login" && post) return access_.Login(req);
  if (p == "/logout" && post) return access_.Logout(req);
  const bool api = p.starts_with("/api/") || p == "/metrics";
  if (!api) {
    if (!get) return ErrorResponse(405, req.method + " " + p + " is not allowed");
    if (auto refused = access_.Check(req, false, false, false)) return *refused;
    return Static(req);
  }
  const bool command = p == "/api/v1/deploy" || p == "/api/v1/restart" || p == "/api/v1/stop";
  if (command && !post) return ErrorResponse(405, p + " takes POST");
  if (!command && !get) return ErrorResponse(405, p + " takes GET");
  if (auto refused = access_.Check(req, true, post, command)) return *refused;
  if (p == "/api/v1/info") return Info();
  if (p == "/api/v1/spawnpoints") return Spawnpoints();
  if (p == "/api/v1/service") return Service(req);
  if (p == "/api/v1/deploy") return Deploy(req);
  if (p == "/api/v1/restart") return Command(req, true);
  if (p == "/api/v1/stop") return Command(req, false);
  if (p == "/api/v1/logs") return Logs(req);
  if (p == "/api/v1/openapi.json") return JsonResponse(200, OpenApiJson());
  if (p == "/metrics") return Metrics();
  return ErrorResponse(404, "no such endpoint " + p + " (GET /api/v1/openapi.json lists them)");
}

HttpResponse Api::Info() const {
  return JsonResponse(200, Dump(json{{"Base", state_.base()},
                                     {"ReadOnly", access_.read_only()},
                                     {"TokenRequired", access_.token_required()},
                                     {"Version", SPAWN_VERSION}}));
}

HttpResponse Api::Spawnpoints() const {
  return JsonResponse(200, ToJson(state_.Spawnpoints(), state_.now_unix_ns(), down_after_));
}

HttpResponse Api::Service(const HttpRequest& req) const {
  const std::string path = req.Param("spawnpoint"), name = req.Param("name");
  if (path.empty() || name.empty())
    return ErrorResponse(400, "expected the query parameters spawnpoint=PATH and name=NAME");
  auto sp = state_.Spawnpoint(path);
  if (!sp) return ErrorResponse(404, "no spawnpoint at " + path + " under " + state_.base());
  auto it = sp->services.find(name);
  if (it == sp->services.end())
    return ErrorResponse(404, "no service named " + name + " at " + path);
  json j = json::parse(ToJson(it->second));
  j["Up"] = it->second.state == proto::ServiceState::kRunning &&
            !IsDown(*sp, state_.now_unix_ns(), down_after_);
  json history = json::array();
  for (const auto& point : state_.History(path, name))
    history.push_back(
        json::array({point.time_unix_ns / 1000000, point.cpu_percent, point.mem_usage_mib}));
  j["History"] = std::move(history);
  return JsonResponse(200, Dump(j));
}

HttpResponse Api::Deploy(const HttpRequest& req) {
  const std::string path = req.Param("spawnpoint");
  if (path.empty()) return ErrorResponse(400, "expected the query parameter spawnpoint=PATH");
  if (!state_.Spawnpoint(path))
    return ErrorResponse(404, "no spawnpoint at " + path + " under " + state_.base());
  const bool multipart = !req.parts.empty();
  auto part = [&](const char* name) {
    auto it = req.parts.find(name);
    return it == req.parts.end() ? std::string() : it->second;
  };
  const std::string yaml = multipart ? part("config") : req.body;
  if (yaml.empty()) {
    return ErrorResponse(400, "expected a deploy.yml as the body (or a multipart part \"config\")");
  }
  const std::string name = req.Param("name");
  auto config =
      ParseServiceConfig(yaml, "deploy.yml", name.empty() ? std::nullopt : std::optional(name));
  if (!config.ok()) return FromStatus(config.status());
  proto::DeployRequest request;
  request.request_id = NewRequestId();
  request.config = std::move(*config);
  request.replace = Truthy(req.Param("replace"));
  if (multipart) {
    request.archive = part("archive");
    request.entity = part("entity");
  }
  if (request.archive.size() > proto::kMaxArchiveBytes) {
    return ErrorResponse(400, "the archive is " + std::to_string(request.archive.size() / kMiB) +
                                  " MiB; the limit is " +
                                  std::to_string(proto::kMaxArchiveBytes / kMiB) + " MiB");
  }
  return FromReply(commands_.Deploy(path, std::move(request)));
}

HttpResponse Api::Command(const HttpRequest& req, bool restart) {
  const std::string path = req.Param("spawnpoint"), name = req.Param("name");
  if (path.empty() || name.empty())
    return ErrorResponse(400, "expected the query parameters spawnpoint=PATH and name=NAME");
  if (!state_.Spawnpoint(path))
    return ErrorResponse(404, "no spawnpoint at " + path + " under " + state_.base());
  return FromReply(restart ? commands_.Restart(path, name) : commands_.Stop(path, name));
}

HttpResponse Api::Logs(const HttpRequest& req) {
  const std::string path = req.Param("spawnpoint"), name = req.Param("name");
  if (path.empty() || name.empty())
    return ErrorResponse(400, "expected the query parameters spawnpoint=PATH and name=NAME");
  int64_t since = 0;
  if (const std::string text = req.Param("since"); !text.empty()) {
    auto d = ParseDuration(text);
    if (!d.ok()) return ErrorResponse(400, "since: " + d.status().message());
    if (d->count() > 0)
      since =
          state_.now_unix_ns() - std::chrono::duration_cast<std::chrono::nanoseconds>(*d).count();
  }
  if (!state_.Spawnpoint(path))
    return ErrorResponse(404, "no spawnpoint at " + path + " under " + state_.base());
  auto lines = commands_.Logs(path, name, since);
  if (!lines.ok()) return FromStatus(lines.status());
  json out = json::array();
  for (const auto& line : *lines) out.push_back(json::parse(ToJson(line)));
  return JsonResponse(200, Dump(out));
}

HttpResponse Api::Metrics() const {
  HttpResponse r;
  r.content_type = kMetricsContentType;
  r.body = RenderMetrics(state_.Spawnpoints(), state_.now_unix_ns(), down_after_);
  return r;
}

HttpResponse Api::Static(const HttpRequest& req) const {
  auto it = assets_.find(req.path == "/index.html" ? "/" : req.path);
  if (it == assets_.end()) return ErrorResponse(404, "no such page " + req.path);
  HttpResponse r;
  r.content_type = std::string(it->second.content_type);
  r.body = std::string(it->second.bytes);
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                         "frame-ancestors 'none'");
  return r;
}

}  // namespace spawn::gateway
