#include "spawn/gateway/api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_fleet.h"
#include "spawn/gateway/server.h"

namespace spawn::gateway {
namespace {

using gateway_testing::FakeFleetCommands;
using gateway_testing::kSecond;
using gateway_testing::Retained;
using gateway_testing::ServiceBeat;
using gateway_testing::SpawnpointBeat;
using json = nlohmann::json;

const std::string kToken = "0123456789abcdef0123";

HttpRequest Get(std::string path, std::map<std::string, std::string> params = {}) {
  HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  r.params = std::move(params);
  r.headers["host"] = "127.0.0.1:8080";
  return r;
}

HttpRequest Post(std::string path, std::map<std::string, std::string> params = {},
                 std::string body = "") {
  HttpRequest r = Get(std::move(path), std::move(params));
  r.method = "POST";
  r.body = std::move(body);
  return r;
}

class GatewayApiTest : public ::testing::Test {
 protected:
  GatewayApiTest() { Feed(state_); }
  static void Feed(FleetState& state) {
    state.Apply(Retained(topics::Heartbeat("fleet/a"),
                         proto::Encode(SpawnpointBeat("alpha", 100 * kSecond, {"web"}))),
                100 * kSecond);
    state.Apply(Retained(topics::ServiceHeartbeat("fleet/a", "web"),
                         proto::Encode(ServiceBeat("fleet/a", "web", 90 * kSecond,
                                                   proto::ServiceState::kRunning))),
                101 * kSecond);
  }
  Api MakeApi(AccessPolicy& access) { return Api(state_, commands_, access, assets_); }

  FleetState state_{"fleet"};
  FakeFleetCommands commands_;
  AccessPolicy open_{{}};
  Assets assets_{{"/", {"text/html; charset=utf-8", "<html>dashboard</html>"}}};
  Api api_{state_, commands_, open_, assets_};
};

TEST_F(GatewayApiTest, SpawnpointsAreScanJson) {
  auto r = api_.Handle(Get("/api/v1/spawnpoints"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["Path"], "fleet/a");
  EXPECT_EQ(j[0]["Alias"], "alpha");
  EXPECT_EQ(j[0]["Down"], false);
  EXPECT_EQ(j[0]["Services"]["web"]["State"], "running");
  EXPECT_EQ(j[0]["Services"]["web"]["Restarts"], 2);
}

TEST_F(GatewayApiTest, ServiceByQueryParameters) {
  auto r = api_.Handle(Get("/api/v1/service", {{"spawnpoint", "fleet/a"}, {"name", "web"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["Name"], "web");
  EXPECT_EQ(j["Up"], true);  // its own heartbeat is old; the spawnpoint's is fresh
  EXPECT_EQ(j["History"].size(), 1u);
  EXPECT_NE(j["OriginalConfig"].get<std::string>().find("busybox"), std::string::npos);

  r = api_.Handle(Get("/api/v1/service", {{"spawnpoint", "fleet/a"}, {"name", "db"}}));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["Message"], "no service named db at fleet/a");
  r = api_.Handle(Get("/api/v1/service", {{"spawnpoint", "fleet/zz"}, {"name", "web"}}));
  EXPECT_EQ(r.status, 404);
  r = api_.Handle(Get("/api/v1/service", {{"spawnpoint", "fleet/a"}}));
  EXPECT_EQ(r.status, 400);
}

TEST_F(GatewayApiTest, DeployParsesTheYamlAndSendsIt) {
  auto r =
      api_.Handle(Post("/api/v1/deploy", {{"spawnpoint", "fleet/a"}, {"replace", "true"}},
                       "name: web\nimage: busybox\nrun: [sh]\nmemAlloc: 64M\ncpuShares: 128\n"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["Message"], "deployed");
  ASSERT_EQ(commands_.calls.size(), 1u);
  EXPECT_EQ(commands_.calls[0].what, "deploy");
  EXPECT_EQ(commands_.calls[0].spawnpoint, "fleet/a");
  EXPECT_EQ(commands_.calls[0].deploy.config.image, "busybox");
  EXPECT_EQ(commands_.calls[0].deploy.config.mem_alloc_bytes, 64 * 1024 * 1024);
  EXPECT_TRUE(commands_.calls[0].deploy.replace);
  EXPECT_EQ(commands_.calls[0].deploy.request_id.size(), 32u);
}

TEST_F(GatewayApiTest, DeployMultipartCarriesTheArchive) {
  HttpRequest req = Post("/api/v1/deploy", {{"spawnpoint", "fleet/a"}, {"name", "other"}});
  req.parts["config"] = "name: web\nimage: busybox\nrun: [sh]\nmemAlloc: 64M\ncpuShares: 128\n";
  req.parts["archive"] = "TARBYTES";
  auto r = api_.Handle(req);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(commands_.calls.size(), 1u);
  EXPECT_EQ(commands_.calls[0].deploy.config.name, "other");
  EXPECT_EQ(commands_.calls[0].deploy.archive, "TARBYTES");
}

TEST_F(GatewayApiTest, ABadDeployYmlIs400WithTheParserMessageAndNothingSent) {
  auto r = api_.Handle(Post("/api/v1/deploy", {{"spawnpoint", "fleet/a"}},
                            "name: web\nimage: busybox\nmemAlloc: lots\n"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(json::parse(r.body)["Message"].get<std::string>().find("memAlloc"), std::string::npos)
      << r.body;
  EXPECT_TRUE(commands_.calls.empty());
  EXPECT_EQ(api_.Handle(Post("/api/v1/deploy", {{"spawnpoint", "fleet/a"}}, "")).status, 400);
}

TEST_F(GatewayApiTest, ASpawnpointsRefusalKeepsItsCodeAndMessage) {
  commands_.reply = proto::Reply{"r2", false, 409, "a service named web exists (use --replace)"};
  auto r =
      api_.Handle(Post("/api/v1/deploy", {{"spawnpoint", "fleet/a"}},
                       "name: web\nimage: busybox\nrun: [sh]\nmemAlloc: 64M\ncpuShares: 128\n"));
  EXPECT_EQ(r.status, 409);
  auto j = json::parse(r.body);
  EXPECT_EQ(j["Ok"], false);
  EXPECT_EQ(j["Code"], 409);
  EXPECT_EQ(j["Message"], "a service named web exists (use --replace)");

  commands_.reply = Status::Timeout("no spawnpoint answered within 30s");
  r = api_.Handle(Post("/api/v1/restart", {{"spawnpoint", "fleet/a"}, {"name", "web"}}));
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(json::parse(r.body)["Message"], "no spawnpoint answered within 30s");
}

TEST_F(GatewayApiTest, RestartAndStop) {
  EXPECT_EQ(
      api_.Handle(Post("/api/v1/restart", {{"spawnpoint", "fleet/a"}, {"name", "web"}})).status,
      200);
  EXPECT_EQ(api_.Handle(Post("/api/v1/stop", {{"spawnpoint", "fleet/a"}, {"name", "web"}})).status,
            200);
  ASSERT_EQ(commands_.calls.size(), 2u);
  EXPECT_EQ(commands_.calls[0].what, "restart");
  EXPECT_EQ(commands_.calls[1].what, "stop");
  EXPECT_EQ(commands_.calls[1].service, "web");
  // Commands take POST only; unknown spawnpoints are 404 without asking anyone.
  EXPECT_EQ(api_.Handle(Get("/api/v1/stop", {{"spawnpoint", "fleet/a"}, {"name", "web"}})).status,
            405);
  EXPECT_EQ(api_.Handle(Post("/api/v1/stop", {{"spawnpoint", "x"}, {"name", "web"}})).status, 404);
  EXPECT_EQ(commands_.calls.size(), 2u);
}

TEST_F(GatewayApiTest, LogsSinceADurationBeforeNow) {
  commands_.logs = std::vector<proto::LogMessage>{{5, "alpha", "web", "stdout", "hi"}};
  auto r = api_.Handle(
      Get("/api/v1/logs", {{"spawnpoint", "fleet/a"}, {"name", "web"}, {"since", "10s"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)[0]["Contents"], "hi");
  ASSERT_EQ(commands_.calls.size(), 1u);
  EXPECT_EQ(commands_.calls[0].since, 91 * kSecond);  // state's now (101 s) - 10 s
  EXPECT_EQ(api_.Handle(Get("/api/v1/logs",
                            {{"spawnpoint", "fleet/a"}, {"name", "web"}, {"since", "soon"}}))
                .status,
            400);
}

TEST_F(GatewayApiTest, ReadOnlyRefusesCommandsButServesReads) {
  AccessPolicy read_only({.token = "", .read_only = true});
  Api api = MakeApi(read_only);
  auto r = api.Handle(Post("/api/v1/stop", {{"spawnpoint", "fleet/a"}, {"name", "web"}}));
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("read-only"), std::string::npos);
  EXPECT_TRUE(commands_.calls.empty());
  EXPECT_EQ(api.Handle(Get("/api/v1/spawnpoints")).status, 200);
  EXPECT_EQ(json::parse(api.Handle(Get("/api/v1/info")).body)["ReadOnly"], true);
}

TEST_F(GatewayApiTest, TheTokenIsEnforcedByBearerOrSessionCookie) {
  AccessPolicy access({.token = kToken});
  Api api = MakeApi(access);
  EXPECT_EQ(api.Handle(Get("/api/v1/spawnpoints")).status, 401);
  EXPECT_EQ(api.Handle(Get("/metrics")).status, 401);
  EXPECT_TRUE(api.CheckStream(Get("/api/v1/events")).has_value());
  HttpRequest bearer = Get("/api/v1/spawnpoints");
  bearer.headers["authorization"] = "Bearer wrong";
  EXPECT_EQ(api.Handle(bearer).status, 401);
  bearer.headers["authorization"] = "Bearer " + kToken;
  EXPECT_EQ(api.Handle(bearer).status, 200);
  // The page itself needs no token (it holds no data).
  EXPECT_EQ(api.Handle(Get("/")).status, 200);

  HttpRequest login = Post("/login", {}, json{{"token", "wrong"}}.dump());
  login.headers["content-type"] = "application/json";
  EXPECT_EQ(api.Handle(login).status, 401);
  login.body = json{{"token", kToken}}.dump();
  auto r = api.Handle(login);
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.headers.size(), 1u);
  const std::string cookie = r.headers[0].second;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  const std::string session = cookie.substr(0, cookie.find(';'));
  HttpRequest with_cookie = Get("/api/v1/spawnpoints");
  with_cookie.headers["cookie"] = "other=1; " + session;
  EXPECT_EQ(api.Handle(with_cookie).status, 200);
  with_cookie.path = "/api/v1/events";
  EXPECT_FALSE(api.CheckStream(with_cookie).has_value());
  with_cookie.headers["cookie"] = std::string(AccessPolicy::kCookie) + "=forged";
  EXPECT_TRUE(api.CheckStream(with_cookie).has_value());
  with_cookie.path = "/api/v1/spawnpoints";
  EXPECT_EQ(api.Handle(with_cookie).status, 401);
  // Logging out forgets the session.
  HttpRequest logout = Post("/logout");
  logout.headers["cookie"] = session;
  EXPECT_EQ(api.Handle(logout).status, 200);
  with_cookie.headers["cookie"] = session;
  EXPECT_EQ(api.Handle(with_cookie).status, 401);
}

TEST_F(GatewayApiTest, CrossOriginChangesAndForeignHostsAreRefused) {
  HttpRequest req = Post("/api/v1/restart", {{"spawnpoint", "fleet/a"}, {"name", "web"}});
  req.headers["origin"] = "http://evil.example";
  EXPECT_EQ(api_.Handle(req).status, 403);
  req.headers["origin"] = "http://127.0.0.1:8080";
  EXPECT_EQ(api_.Handle(req).status, 200);
  req.headers["sec-fetch-site"] = "cross-site";
  EXPECT_EQ(api_.Handle(req).status, 403);
  EXPECT_EQ(commands_.calls.size(), 1u);

  HttpRequest rebound = Get("/api/v1/spawnpoints");
  rebound.headers["host"] = "attacker.example:8080";
  EXPECT_EQ(api_.Handle(rebound).status, 400);
  rebound.headers["host"] = "localhost:8080";
  EXPECT_EQ(api_.Handle(rebound).status, 200);
  rebound.headers["host"] = "[::1]:8080";
  EXPECT_EQ(api_.Handle(rebound).status, 200);
  AccessPolicy public_listener({.token = "", .read_only = false, .loopback = false});
  Api api = MakeApi(public_listener);
  rebound.headers["host"] = "gateway.example:8080";
  EXPECT_EQ(api.Handle(rebound).status, 200);
}

TEST_F(GatewayApiTest, OpenApiDescribesEveryEndpoint) {
  auto r = api_.Handle(Get("/api/v1/openapi.json"));
  ASSERT_EQ(r.status, 200);
  auto j = json::parse(r.body);
  EXPECT_EQ(j["openapi"], "3.0.3");
  for (const char* path :
       {"/api/v1/spawnpoints", "/api/v1/service", "/api/v1/deploy", "/api/v1/restart",
        "/api/v1/stop", "/api/v1/logs", "/api/v1/events", "/metrics", "/login"}) {
    EXPECT_TRUE(j["paths"].contains(path)) << path;
  }
}

TEST_F(GatewayApiTest, StaticFilesAndUnknownPaths) {
  auto r = api_.Handle(Get("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<html>dashboard</html>");
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(api_.Handle(Get("/nope")).status, 404);
  EXPECT_EQ(api_.Handle(Get("/api/v1/nope")).status, 404);
  EXPECT_EQ(api_.Handle(Post("/")).status, 405);
}

TEST_F(GatewayApiTest, MetricsAreServedInTheExpositionFormat) {
  auto r = api_.Handle(Get("/metrics"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("spawnpoint_up{spawnpoint=\"fleet/a\",alias=\"alpha\"} 1\n"),
            std::string::npos)
      << r.body;
}

TEST(GatewayListenTest, Forms) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(ParseListen("127.0.0.1:8080", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(ParseListen("[::1]:9", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  ASSERT_TRUE(ParseListen(":0", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 0);
  EXPECT_FALSE(ParseListen("8080", &host, &port).ok());
  EXPECT_FALSE(ParseListen("h:99999", &host, &port).ok());
  EXPECT_TRUE(IsLoopback("127.0.0.1"));
  EXPECT_TRUE(IsLoopback("::1"));
  EXPECT_FALSE(IsLoopback("0.0.0.0"));
}

}  // namespace
}  // namespace spawn::gateway
