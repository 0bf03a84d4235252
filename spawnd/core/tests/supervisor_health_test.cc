// The supervisor's health checks (healthCheck of deploy.yml), with the fake engine, the fake
// prober and the manual clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spawn/common/tar.h"
#include "spawn/common/units.h"
#include "spawn/core/executor.h"
#include "spawn/core/fake_service_secrets.h"
#include "spawn/core/state_store.h"
#include "spawn/core/supervisor.h"
#include "spawn/engine/fake_docker_engine.h"
#include "spawn/engine/fake_http_prober.h"

namespace spawn {
namespace {

using proto::ServiceState;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;

class Observer : public SupervisorObserver {
 public:
  void OnServiceChanged(const ServiceSnapshot& s) override {
    if (!s.health.empty()) healths.push_back(s.health);
  }
  void OnServicePurged(const std::string&) override {}
  void OnServiceLog(const std::string&, const std::string&, const std::string& line) override {
    logs += line + "\n";
  }
  void OnServiceAction(const std::string& name, const std::string& action,
                       const std::string& reason) override {
    actions.push_back(name + " " + action + ": " + reason);
  }
  std::vector<std::string> healths;  // each heartbeat's Health, when it has one
  std::string logs;
  std::vector<std::string> actions;
};

class SupervisorHealthTest : public ::testing::Test {
 protected:
  SupervisorHealthTest() {
    config_.path = "test/sp";
    config_.alias = "sp";
    config_.mem_alloc_bytes = 1024 * kMiB;
    config_.cpu_shares = 1024;
    config_.allow_host_net = true;
    supervisor_ = MakeSupervisor(
        config_, engine_, loop_, store_, secrets_, executor_, observer_, [] { return 1.0; },
        &prober_);
    EXPECT_TRUE(supervisor_->Start().ok());
    loop_.RunPending();
  }

  static ServiceConfig Config(HealthCheck check) {
    ServiceConfig c;
    c.name = "web";
    c.image = "spawnpoint/busybox";
    c.run = {"httpd", "-f"};
    c.mem_alloc_bytes = 64 * kMiB;
    c.cpu_shares = 128;
    c.auto_restart = true;
    c.restart_interval = seconds(1);
    c.health_check = std::move(check);
    return c;
  }

  static HealthCheck Http() {
    HealthCheck h;
    h.http = "http://127.0.0.1:8080/health";
    h.expect = "ok";
    h.interval = seconds(10);
    h.timeout = seconds(2);
    h.retries = 3;
    return h;
  }

  Status Deploy(const ServiceConfig& c) {
    proto::DeployRequest request;
    request.config = c;
    request.archive = TarWriter().Finish();
    Status s = supervisor_->Deploy(request);
    loop_.RunPending();
    return s;
  }

  ServiceSnapshot Get() { return supervisor_->Services().at(0); }

  // One probe interval passes and the probe it starts is answered.
  void ProbeAnswers(bool healthy, const std::string& output = "") {
    loop_.AdvanceBy(seconds(10));
    ASSERT_EQ(prober_.Answer({healthy, output}), 1u);
    loop_.RunPending();
  }

  SpawndConfig config_;
  FakeDockerEngine engine_;
  FakeHttpProber prober_;
  ManualEventLoop loop_;
  MemoryStateStore store_;
  FakeServiceSecrets secrets_;
  InlineExecutor executor_;
  Observer observer_;
  std::unique_ptr<Supervisor> supervisor_;
};

TEST_F(SupervisorHealthTest, HttpProbesTheContainerAtItsAddressEveryInterval) {
  ASSERT_TRUE(Deploy(Config(Http())).ok());
  EXPECT_EQ(Get().state, ServiceState::kRunning);
  EXPECT_EQ(Get().health, "starting");
  loop_.AdvanceBy(seconds(10) - milliseconds(1));
  EXPECT_EQ(prober_.Probes().size(), 0u);
  loop_.AdvanceBy(milliseconds(1));
  ASSERT_EQ(prober_.Probes().size(), 1u);
  const HttpProbe probe = prober_.Probes()[0];
  EXPECT_EQ(probe.host, "172.17.0.2");  // the container's address on its network
  EXPECT_EQ(probe.port, 8080);
  EXPECT_EQ(probe.path, "/health");
  EXPECT_EQ(probe.timeout, seconds(2));
  EXPECT_EQ(probe.expect, "ok");
  prober_.Answer({true, ""});
  loop_.RunPending();
  EXPECT_EQ(Get().health, "healthy");
  EXPECT_EQ(observer_.healths.back(), "healthy");
  EXPECT_THAT(observer_.logs, HasSubstr("[INFO] Service is healthy"));
}

TEST_F(SupervisorHealthTest, HostNetworkProbesLoopback) {
  ServiceConfig c = Config(Http());
  c.use_host_net = true;
  ASSERT_TRUE(Deploy(c).ok());
  loop_.AdvanceBy(seconds(10));
  ASSERT_EQ(prober_.Probes().size(), 1u);
  EXPECT_EQ(prober_.Probes()[0].host, "127.0.0.1");
}

TEST_F(SupervisorHealthTest, RetriesFailuresInARowMakeItUnhealthyAndItIsRestartedWithBackoff) {
  ASSERT_TRUE(Deploy(Config(Http())).ok());
  const std::string id = Get().container_id;
  ProbeAnswers(true);
  const size_t beats = observer_.healths.size();
  ProbeAnswers(false, "connection refused");
  ProbeAnswers(false, "HTTP 500");  // a changed output alone is no heartbeat
  EXPECT_EQ(observer_.healths.size(), beats);
  EXPECT_EQ(Get().health, "healthy");
  EXPECT_EQ(Get().health_output, "HTTP 500");
  const size_t stops = engine_.CountCalls("StopContainer");
  ProbeAnswers(false, "connection refused");
  // Unhealthy: heartbeat, log, and a restart like a death's.
  EXPECT_THAT(observer_.healths, ::testing::Contains("unhealthy"));
  EXPECT_THAT(observer_.logs,
              HasSubstr("[WARN] Service is unhealthy: its health check failed 3 times in a row: "
                        "connection refused"));
  ASSERT_EQ(observer_.actions.size(), 1u);
  EXPECT_THAT(observer_.actions[0], HasSubstr("web restart: unhealthy:"));
  EXPECT_EQ(engine_.CountCalls("StopContainer"), stops + 1);
  EXPECT_EQ(Get().state, ServiceState::kRestarting);
  EXPECT_EQ(Get().health, "");
  loop_.AdvanceBy(seconds(1));
  EXPECT_EQ(Get().state, ServiceState::kRunning);
  EXPECT_EQ(Get().container_id, id);
  EXPECT_EQ(Get().restarts, 1);
  EXPECT_EQ(Get().health, "starting");
  // Unhealthy again soon after: the back-off grows as for deaths in a row.
  EXPECT_EQ(prober_.Waiting(), 0u);  // the old run's probe schedule is gone
  for (int i = 0; i < 3; ++i) ProbeAnswers(false, "down");
  EXPECT_EQ(Get().state, ServiceState::kRestarting);
  EXPECT_EQ(Get().backoff, seconds(2));
  EXPECT_THAT(observer_.logs, HasSubstr("backing off to 2s"));
}

TEST_F(SupervisorHealthTest, WithoutAutoRestartUnhealthyIsOnlyReported) {
  ServiceConfig c = Config(Http());
  c.auto_restart = false;
  ASSERT_TRUE(Deploy(c).ok());
  for (int i = 0; i < 3; ++i) ProbeAnswers(false, "down");
  EXPECT_EQ(Get().state, ServiceState::kRunning);
  EXPECT_EQ(Get().health, "unhealthy");
  EXPECT_EQ(engine_.CountCalls("StopContainer"), 0u);
  ProbeAnswers(true);
  EXPECT_EQ(Get().health, "healthy");
}

TEST_F(SupervisorHealthTest, FailuresWithinTheStartPeriodDoNotCount) {
  HealthCheck h = Http();
  h.start_period = seconds(25);
  ASSERT_TRUE(Deploy(Config(h)).ok());
  ProbeAnswers(false, "starting up");  // t=10s
  ProbeAnswers(false, "starting up");  // t=20s
  ProbeAnswers(false, "down");         // t=30s: 1
  ProbeAnswers(false, "down");         // 2
  EXPECT_EQ(Get().health, "starting");
  EXPECT_EQ(Get().health_output, "down");
  ProbeAnswers(false, "down");  // 3
  EXPECT_EQ(Get().state, ServiceState::kRestarting);
}

TEST_F(SupervisorHealthTest, CmdCheckGoesToTheEngineAndFollowsItsEvents) {
  HealthCheck h;
  h.cmd = {"test", "-f", "/tmp/ok"};
  h.interval = seconds(5);
  h.timeout = seconds(1);
  h.retries = 2;
  h.start_period = seconds(3);
  ServiceConfig c = Config(h);
  c.auto_restart = false;
  ASSERT_TRUE(Deploy(c).ok());
  const ContainerSpec spec = engine_.Containers().begin()->second.spec;
  EXPECT_EQ(spec.healthcheck.test, (std::vector<std::string>{"test", "-f", "/tmp/ok"}));
  EXPECT_EQ(spec.healthcheck.interval, seconds(5));
  EXPECT_EQ(spec.healthcheck.timeout, seconds(1));
  EXPECT_EQ(spec.healthcheck.start_period, seconds(3));
  EXPECT_EQ(spec.healthcheck.retries, 2);
  EXPECT_EQ(Get().health, "starting");
  EngineEvent e;
  e.kind = EngineEvent::Kind::kHealthStatus;
  e.container_id = Get().container_id;
  e.labels = spec.labels;
  e.action = "health_status: unhealthy";
  engine_.EmitEvent(e);
  loop_.RunPending();
  EXPECT_EQ(Get().health, "unhealthy");
  EXPECT_THAT(observer_.logs, HasSubstr("[WARN] Service is unhealthy"));
  e.action = "health_status: healthy";
  engine_.EmitEvent(e);
  loop_.RunPending();
  EXPECT_EQ(Get().health, "healthy");
  EXPECT_EQ(prober_.Probes().size(), 0u);  // spawnd never probes a cmd check itself
}

TEST_F(SupervisorHealthTest, NoHealthCheckNoHealth) {
  ServiceConfig c = Config(Http());
  c.health_check.reset();
  ASSERT_TRUE(Deploy(c).ok());
  EXPECT_EQ(Get().health, "");
  EXPECT_TRUE(engine_.Containers().begin()->second.spec.healthcheck.test.empty());
  loop_.AdvanceBy(minutes(1));
  EXPECT_EQ(prober_.Probes().size(), 0u);
}

TEST_F(SupervisorHealthTest, AnInvalidCheckIsRefusedNamingTheKey) {
  HealthCheck h = Http();
  h.cmd = {"true"};
  Status s = Deploy(Config(h));
  EXPECT_EQ(s.code(), Code::kBadRequest);
  EXPECT_THAT(s.message(), HasSubstr("healthCheck: has both cmd and http"));
  h = Http();
  h.expect = "(";
  s = Deploy(Config(h));
  EXPECT_THAT(s.message(), HasSubstr("healthCheck.expect: \"(\" is not a valid regular"));
}

TEST_F(SupervisorHealthTest, StoppingEndsTheProbes) {
  ASSERT_TRUE(Deploy(Config(Http())).ok());
  ASSERT_TRUE(supervisor_->Stop("web").ok());
  loop_.RunPending();
  loop_.AdvanceBy(minutes(1));
  EXPECT_EQ(prober_.Probes().size(), 0u);
}

// ---- rollback ----

class SupervisorRollbackTest : public SupervisorHealthTest {
 protected:
  static ServiceConfig Version(const std::string& v, std::optional<HealthCheck> check = {}) {
    ServiceConfig c = Config(Http());
    c.health_check = std::move(check);
    c.run = {"httpd", "-f", "-v" + v};
    c.build = {"echo " + v + " > /version"};  // each version has an image of its own
    return c;
  }
  Status Replace(const ServiceConfig& c) {
    proto::DeployRequest request;
    request.config = c;
    request.archive = TarWriter().Finish();
    request.replace = true;
    Status s = supervisor_->Deploy(request);
    loop_.RunPending();
    return s;
  }
  const FakeDockerEngine::Container* ContainerNamed(const std::string& name) {
    containers_ = engine_.Containers();
    for (const auto& [id, c] : containers_) {
      if (c.spec.name == name) return &c;
    }
    return nullptr;
  }
  std::map<std::string, FakeDockerEngine::Container> containers_;
};

TEST_F(SupervisorRollbackTest, ReplaceKeepsThePreviousContainerAndRollbackBringsItBack) {
  ASSERT_TRUE(Deploy(Version("1")).ok());
  const std::string v1 = Get().container_id;
  ASSERT_TRUE(Replace(Version("2")).ok());
  const std::string v2 = Get().container_id;
  ASSERT_NE(v1, v2);
  const auto* kept = ContainerNamed("spawnpoint_sp_web_previous");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->id, v1);
  EXPECT_FALSE(kept->running);
  ASSERT_TRUE(store_.records.at("web").previous.has_value());  // it survives a restart
  EXPECT_EQ(store_.records.at("web").previous->container_id, v1);

  const size_t builds = engine_.CountCalls("Build") + engine_.CountCalls("ImageExists");
  ASSERT_TRUE(supervisor_->Rollback("web").ok());
  loop_.RunPending();
  EXPECT_EQ(Get().state, ServiceState::kRunning);
  EXPECT_EQ(Get().container_id, v1);
  EXPECT_EQ(Get().config.run, Version("1").run);
  EXPECT_EQ(engine_.CountCalls("Build") + engine_.CountCalls("ImageExists"), builds);  // no build
  EXPECT_EQ(engine_.Containers().count(v2), 0u);  // the replacement is gone
  ASSERT_NE(ContainerNamed("spawnpoint_sp_web"), nullptr);
  EXPECT_EQ(ContainerNamed("spawnpoint_sp_web")->id, v1);
  EXPECT_TRUE(ContainerNamed("spawnpoint_sp_web")->running);
  EXPECT_THAT(observer_.logs,
              HasSubstr("[WARN] Rolling back to the previous deployment: on request"));
  EXPECT_EQ(supervisor_->Rollback("web").code(), Code::kConflict);  // nothing left to go back to
}

TEST_F(SupervisorRollbackTest, RollbackRefusals) {
  EXPECT_EQ(supervisor_->Rollback("nobody").code(), Code::kNotFound);
  ASSERT_TRUE(Deploy(Version("1")).ok());
  EXPECT_EQ(supervisor_->Rollback("web").code(), Code::kConflict);
}

TEST_F(SupervisorRollbackTest, AReplacementNotHealthyInTimeIsRevertedByItself) {
  ASSERT_TRUE(Deploy(Version("1", Http())).ok());
  const std::string v1 = Get().container_id;
  ProbeAnswers(true);
  ASSERT_TRUE(Replace(Version("2", Http())).ok());
  EXPECT_THAT(observer_.logs, HasSubstr("must be healthy within 30s"));
  // Probes go unanswered (a hung endpoint): never healthy.
  loop_.AdvanceBy(seconds(30) - milliseconds(1));
  EXPECT_NE(Get().container_id, v1);
  loop_.AdvanceBy(milliseconds(1));
  EXPECT_EQ(Get().container_id, v1);
  EXPECT_EQ(Get().state, ServiceState::kRunning);
  EXPECT_EQ(Get().config.run, Version("1").run);
  ASSERT_EQ(observer_.actions.size(), 1u);
  EXPECT_EQ(observer_.actions[0], "web revert: the new deployment was not healthy within 30s");
  EXPECT_THAT(observer_.logs, HasSubstr("[WARN] Rolling back to the previous deployment: the new "
                                        "deployment was not healthy within 30s"));
}

TEST_F(SupervisorRollbackTest, TheTrialWindowGoesOnAcrossARestartOfSpawnd) {
  ASSERT_TRUE(Deploy(Version("1", Http())).ok());
  const std::string v1 = Get().container_id;
  ASSERT_TRUE(Replace(Version("2", Http())).ok());
  loop_.AdvanceBy(seconds(20));  // 10s of its 30s window left
  supervisor_->Shutdown();
  supervisor_.reset();
  supervisor_ = MakeSupervisor(
      config_, engine_, loop_, store_, secrets_, executor_, observer_, [] { return 1.0; },
      &prober_);
  ASSERT_TRUE(supervisor_->Start().ok());
  loop_.RunPending();
  EXPECT_THAT(observer_.logs, HasSubstr("must still be healthy within 10s (of its 30s)"));
  loop_.AdvanceBy(seconds(10) - milliseconds(1));
  EXPECT_NE(Get().container_id, v1);
  loop_.AdvanceBy(milliseconds(1));
  EXPECT_EQ(Get().container_id, v1);  // not a fresh 30s
  EXPECT_EQ(store_.records.at("web").trial_deadline_unix_ns, 0);
}

TEST_F(SupervisorRollbackTest, AReplacementThatKeepsDyingIsReverted) {
  ASSERT_TRUE(Deploy(Version("1", Http())).ok());
  const std::string v1 = Get().container_id;
  ASSERT_TRUE(Replace(Version("2", Http())).ok());
  const std::string v2 = Get().container_id;
  for (int i = 0; i < 2; ++i) {
    engine_.Die(v2, 1);
    loop_.RunPending();
    loop_.AdvanceBy(seconds(2));  // restarted after its (short) back-off
    ASSERT_EQ(Get().container_id, v2);
  }
  engine_.Die(v2, 1);
  loop_.RunPending();
  EXPECT_EQ(Get().container_id, v1);
  EXPECT_THAT(observer_.actions.at(0), HasSubstr("died 3 times before it was healthy"));
}

TEST_F(SupervisorRollbackTest, AReplacementWhoseBuildFailsIsReverted) {
  ASSERT_TRUE(Deploy(Version("1", Http())).ok());
  const std::string v1 = Get().container_id;
  engine_.HoldBuilds(true);
  ASSERT_TRUE(Replace(Version("2", Http())).ok());
  EXPECT_EQ(Get().state, ServiceState::kBuilding);
  engine_.CompleteBuild(0, Status::Internal("apt-get failed"));
  loop_.RunPending();
  EXPECT_EQ(Get().state, ServiceState::kRunning);
  EXPECT_EQ(Get().container_id, v1);
  EXPECT_THAT(observer_.actions.at(0), HasSubstr("the new deployment's image build failed"));
}

TEST_F(SupervisorRollbackTest, AHealthyReplacementIsAcceptedAndThePreviousDropped) {
  ASSERT_TRUE(Deploy(Version("1", Http())).ok());
  const std::string v1 = Get().container_id;
  ASSERT_TRUE(Replace(Version("2", Http())).ok());
  const std::string v2 = Get().container_id;
  ProbeAnswers(true);
  EXPECT_EQ(engine_.Containers().count(v1), 0u);
  EXPECT_FALSE(store_.records.at("web").previous.has_value());
  loop_.AdvanceBy(minutes(5));  // no revert later
  EXPECT_EQ(Get().container_id, v2);
  EXPECT_TRUE(observer_.actions.empty());
  EXPECT_EQ(supervisor_->Rollback("web").code(), Code::kConflict);
}

TEST_F(SupervisorRollbackTest, AdoptionKeepsThePreviousAndPurgeDropsIt) {
  ASSERT_TRUE(Deploy(Version("1")).ok());
  const std::string v1 = Get().container_id;
  ASSERT_TRUE(Replace(Version("2")).ok());
  supervisor_->Shutdown();
  supervisor_.reset();
  // A new spawnd on the same state and engine.
  supervisor_ = MakeSupervisor(
      config_, engine_, loop_, store_, secrets_, executor_, observer_, [] { return 1.0; },
      &prober_);
  ASSERT_TRUE(supervisor_->Start().ok());
  loop_.RunPending();
  ASSERT_EQ(engine_.Containers().count(v1), 1u);  // not taken for a stray
  EXPECT_NE(Get().container_id, v1);              // nor for the live one
  ASSERT_TRUE(supervisor_->Stop("web").ok());
  loop_.RunPending();
  loop_.AdvanceBy(minutes(3));  // purged
  EXPECT_EQ(engine_.Containers().count(v1), 0u);
  EXPECT_TRUE(engine_.Containers().empty());
}

TEST_F(SupervisorRollbackTest, RecoveryFromLabelsNeverTakesThePreviousForTheLiveOne) {
  ASSERT_TRUE(Deploy(Version("1")).ok());
  const std::string v1 = Get().container_id;
  ASSERT_TRUE(Replace(Version("2")).ok());
  const std::string v2 = Get().container_id;
  supervisor_->Shutdown();
  supervisor_.reset();
  engine_.DieSilently(v2, 0);
  store_.records.clear();  // the state is lost: recovered from labels
  supervisor_ = MakeSupervisor(
      config_, engine_, loop_, store_, secrets_, executor_, observer_, [] { return 1.0; },
      &prober_);
  ASSERT_TRUE(supervisor_->Start().ok());
  loop_.RunPending();
  EXPECT_EQ(Get().container_id, v2);
  EXPECT_EQ(Get().config.run, Version("2").run);
}

}  // namespace
}  // namespace spawn
