// Api: the gateway's HTTP endpoints as a function from HttpRequest to HttpResponse, over the
// FleetState (what is known) and FleetCommands (what may be asked), behind an AccessPolicy.
//
//   GET  /api/v1/info                         the gateway: base, read-only, whether a token is
//   needed GET  /api/v1/spawnpoints                  what `spawnctl scan --json` shows GET
//   /api/v1/service?spawnpoint=P&name=N  one service's heartbeat (and usage history) POST
//   /api/v1/deploy?spawnpoint=P[&name=N][&replace=true]
//                                             a deploy.yml body, or multipart/form-data with the
//                                             parts "config" (the deploy.yml), "archive" (a tar of
//                                             the included files) and "entity"
//   POST /api/v1/restart?spawnpoint=P&name=N, POST /api/v1/stop?spawnpoint=P&name=N[&now=true]
//   GET  /api/v1/logs?spawnpoint=P&name=N[&since=10m]
//   GET  /api/v1/openapi.json                 this list as OpenAPI 3
//   GET  /metrics                             Prometheus (metrics.h)
//   POST /login, POST /logout                 AccessPolicy
//   GET  / and /assets/...                    the dashboard (the Assets given)
// The event stream (GET /api/v1/events) is the server's, which streams FleetState's events; Api
// only checks access to it (CheckStream).
//
// A spawnpoint's refusal comes back with its code (400, 403, 404, 409, 503) and its message, as
// {"RequestId", "Ok", "Code", "Message"}; the gateway's own errors as {"Code", "Message"}: 400 for
// a missing parameter or a deploy.yml that does not parse (the same message spawnd would give), 404
// for an unknown spawnpoint or service, 504 when the spawnpoint did not answer.
//
// Thread-safety: Handle may run on several threads at once.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "spawn/gateway/access.h"
#include "spawn/gateway/commands.h"
#include "spawn/gateway/fleet_state.h"
#include "spawn/gateway/http.h"

namespace spawn::gateway {

// A file of the dashboard: its content type and bytes (embedded in the binary).
struct Asset {
  std::string_view content_type;
  std::string_view bytes;
};
using Assets = std::map<std::string, Asset>;  // by URL path, "/" for the page

// The OpenAPI 3 document of the API.
const std::string& OpenApiJson();

class Api {
 public:
  // All must outlive the Api.
  Api(FleetState& state, FleetCommands& commands, AccessPolicy& access, const Assets& assets,
      Duration down_after = Duration::zero());

  HttpResponse Handle(const HttpRequest& req);
  // nullopt when GET /api/v1/events may be streamed to this request; else the refusal.
  std::optional<HttpResponse> CheckStream(const HttpRequest& req) const;

 private:
  HttpResponse Info() const;
  HttpResponse Spawnpoints() const;
  HttpResponse Service(const HttpRequest& req) const;
  HttpResponse Deploy(const HttpRequest& req);
  HttpResponse Command(const HttpRequest& req, bool restart);
  HttpResponse Logs(const HttpRequest& req);
  HttpResponse Metrics() const;
  HttpResponse Static(const HttpRequest& req) const;

  FleetState& state_;
  FleetCommands& commands_;
  AccessPolicy& access_;
  const Assets& assets_;
  const Duration down_after_;
};

}  // namespace spawn::gateway
