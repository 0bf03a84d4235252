// `spawnctl serve` end to end: the real spawnctl binary as the gateway, a real spawnd on the real
// engine, the broker at 127.0.0.1:1883. The API lists and deploys, a bad deploy.yml comes back
// with spawnd's 400, the token is enforced, --read-only refuses a stop; and the dashboard in
// Chromium (gateway/tests/browser_test.cjs, when node, chromium and playwright-core are there).
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness.h"
#include "spawn/common/config.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using namespace spawn::testing;
using json = nlohmann::json;

const std::string kToken = "integration-token-0123456789";

// `spawnctl serve PATH --listen 127.0.0.1:0 ARGS...` as a child; the port from its first line.
class Gateway {
 public:
  Gateway(const std::string& base, std::vector<std::string> args, const std::string& home) {
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    std::vector<std::string> argv = {std::string(SPAWN_BINARY_DIR) + "/spawnctl/spawnctl", "serve",
                                     base, "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      setenv("HOME", home.c_str(), 1);
      setenv("SPAWNPOINT_BROKER", kDefaultBroker, 1);
      unsetenv("SPAWNPOINT_DEFAULT_URI");
      std::vector<char*> c;
      for (auto& a : argv) c.push_back(a.data());
      c.push_back(nullptr);
      execv(c[0], c.data());
      _exit(127);
    }
    close(out[1]);
    std::string line;
    pollfd p{out[0], POLLIN, 0};
    char ch;
    while (line.find('\n') == std::string::npos && poll(&p, 1, 30000) > 0 &&
           read(out[0], &ch, 1) == 1) {
      line += ch;
    }
    close(out[0]);
    const size_t at = line.find("127.0.0.1:");
    if (at != std::string::npos) port_ = std::atoi(line.c_str() + at + 10);
    EXPECT_GT(port_, 0) << "spawnctl serve said: " << line;
  }
  ~Gateway() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    return c;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// Polls `check` until it holds or `timeout` passes (the gateway hears the bus asynchronously).
bool Eventually(const std::function<bool()>& check,
                std::chrono::seconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return check();
}

httplib::Headers Bearer() { return {{"Authorization", "Bearer " + kToken}}; }

std::string Q(const std::string& s) { return httplib::detail::encode_query_param(s); }

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    probe_ = std::make_unique<Probe>();
    spawnd_ = std::make_unique<SpawndProcess>();
    ASSERT_TRUE(spawnd_->StartAndWaitOnline(*probe_)) << spawnd_->Log();
    token_file_ = home_.Write("token", kToken + "\n").string();
  }
  void TearDown() override {
    spawnd_.reset();
    probe_.reset();
  }
  const std::string& path() const { return spawnd_->path(); }
  std::string ServiceQuery(const std::string& name) const {
    return "spawnpoint=" + Q(path()) + "&name=" + Q(name);
  }
  // The service's state as the gateway shows it ("" when it does not know it).
  std::string StateOf(httplib::Client& c, const std::string& name,
                      const httplib::Headers& headers = {}) const {
    auto r = c.Get(("/api/v1/service?" + ServiceQuery(name)).c_str(), headers);
    if (!r || r->status != 200) return "";
    return json::parse(r->body)["State"].get<std::string>();
  }
  void DeployRunning(const std::string& name) {
    const std::string id = NewId();
    ASSERT_TRUE(DeployOverBus(*probe_, path(), Busybox(name), id));
    probe_->Subscribe(topics::ServiceHeartbeat(path(), name));
    ASSERT_TRUE(probe_->WaitFor(
        ServiceIn(topics::ServiceHeartbeat(path(), name), proto::ServiceState::kRunning)))
        << spawnd_->Log();
  }
  static std::string NewId() {
    static int n = 0;
    return "gw-" + std::to_string(getpid()) + "-" + std::to_string(++n);
  }

  TempDir home_{"gateway-home"};
  std::string token_file_;
  std::unique_ptr<Probe> probe_;
  std::unique_ptr<SpawndProcess> spawnd_;
};

TEST_F(GatewayTest, TheApiListsDeploysAndRefusesWithSpawndsMessage) {
  Gateway gw(path(), {"--token-file", token_file_}, home_.str());
  auto c = gw.Client();

  // The token is enforced.
  auto r = c.Get("/api/v1/spawnpoints");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  httplib::Headers wrong = {{"Authorization", "Bearer nope"}};
  EXPECT_EQ(c.Get("/api/v1/spawnpoints", wrong)->status, 401);
  EXPECT_TRUE(Eventually([&] {
    auto list = c.Get("/api/v1/spawnpoints", Bearer());
    return list && list->status == 200 && list->body.find(path()) != std::string::npos;
  }));

  // A deploy through the API runs.
  ServiceConfig web = Busybox("gwweb");
  r = c.Post(("/api/v1/deploy?spawnpoint=" + Q(path())).c_str(), Bearer(), ServiceConfigToYaml(web),
             "application/yaml");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["Ok"], true);
  EXPECT_TRUE(Eventually([&] { return StateOf(c, "gwweb", Bearer()) == "running"; }))
      << spawnd_->Log();
  auto list = json::parse(c.Get("/api/v1/spawnpoints", Bearer())->body);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["Path"], path());
  EXPECT_EQ(list[0]["Services"]["gwweb"]["State"], "running");
  EXPECT_EQ(list[0]["Metadata"]["room"], "lab 410");
  auto svc =
      json::parse(c.Get(("/api/v1/service?" + ServiceQuery("gwweb")).c_str(), Bearer())->body);
  EXPECT_EQ(svc["Up"], true);

  // Its log, from spawnd's history.
  EXPECT_TRUE(Eventually([&] {
    auto logs = c.Get(("/api/v1/logs?" + ServiceQuery("gwweb") + "&since=0s").c_str(), Bearer());
    return logs && logs->status == 200 && logs->body.find("hello from gwweb") != std::string::npos;
  }));

  // A deploy.yml that parses but spawnd refuses: its 400 and its message.
  web.name = "gwbad";
  web.cpu_shares = 1;
  r = c.Post(("/api/v1/deploy?spawnpoint=" + Q(path())).c_str(), Bearer(), ServiceConfigToYaml(web),
             "application/yaml");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_EQ(json::parse(r->body)["Ok"], false);
  EXPECT_NE(r->body.find("cpuShares 1 is too small"), std::string::npos) << r->body;

  // Prometheus sees the running service on a spawnpoint that is up.
  const std::string labels = "spawnpoint=\"" + path() + "\"";
  auto metrics = c.Get("/metrics", Bearer());
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("spawnpoint_service_up{" + labels), std::string::npos);
  EXPECT_NE(metrics->body.find("service=\"gwweb\"} 1\n"), std::string::npos) << metrics->body;

  // Another site's page cannot drive a command through a browser here.
  httplib::Headers cross = Bearer();
  cross.emplace("Origin", "http://evil.example");
  r = c.Post(("/api/v1/stop?" + ServiceQuery("gwweb")).c_str(), cross, "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(StateOf(c, "gwweb", Bearer()), "running");
}

TEST_F(GatewayTest, ReadOnlyRefusesAStop) {
  DeployRunning("gwro");
  Gateway gw(path(), {"--read-only"}, home_.str());
  auto c = gw.Client();
  ASSERT_TRUE(Eventually([&] { return StateOf(c, "gwro") == "running"; }));
  auto r = c.Post(("/api/v1/stop?" + ServiceQuery("gwro")).c_str(), "", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_NE(r->body.find("read-only"), std::string::npos) << r->body;
  EXPECT_EQ(json::parse(c.Get("/api/v1/info")->body)["ReadOnly"], true);
  probe_->Clear();
  EXPECT_FALSE(probe_->WaitFor(
      ServiceIn(topics::ServiceHeartbeat(path(), "gwro"), proto::ServiceState::kExited),
      std::chrono::seconds(2)));
  EXPECT_EQ(StateOf(c, "gwro"), "running");
}

// The dashboard in Chromium: the service shows, a `docker kill` shows up as a restart without a
// reload and without a request, the restart button works; a screenshot is saved.
TEST_F(GatewayTest, TheDashboardInChromium) {
  if (std::system("command -v chromium >/dev/null 2>&1") != 0 ||
      std::system("command -v node >/dev/null 2>&1") != 0 ||
      !std::filesystem::exists(std::string(SPAWN_NODE_MODULES) + "/playwright-core")) {
    GTEST_SKIP() << "needs chromium (Debian: apt-get install chromium), node and playwright-core "
                    "(the dashboard's npm packages, " SPAWN_NODE_MODULES ")";
  }
  auto svc = Busybox("gwdash", /*auto_restart=*/true);
  const std::string id = NewId();
  ASSERT_TRUE(DeployOverBus(*probe_, path(), svc, id));
  probe_->Subscribe(topics::ServiceHeartbeat(path(), "gwdash"));
  ASSERT_TRUE(probe_->WaitFor(
      ServiceIn(topics::ServiceHeartbeat(path(), "gwdash"), proto::ServiceState::kRunning)));
  Gateway gw(path(), {"--token-file", token_file_}, home_.str());
  const char* shot = std::getenv("SPAWN_DASHBOARD_SCREENSHOT");
  const std::string screenshot =
      shot ? shot : std::string(SPAWN_BINARY_DIR) + "/gateway-dashboard.png";
  const std::string command = "NODE_PATH='" SPAWN_NODE_MODULES "' node " SPAWN_BROWSER_TEST " '" +
                              gw.url() + "' '" + path() + "' gwdash '" + kToken + "' '" +
                              screenshot + "' 2>&1";
  FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  EXPECT_EQ(WEXITSTATUS(status), 0) << out << "\nspawnd:\n" << spawnd_->Log();
  std::cout << out;
}

}  // namespace
}  // namespace spawn
