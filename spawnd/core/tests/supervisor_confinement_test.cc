// The supervisor's confinement of every container and its services' credentials.
#include "supervisor_fixture.h"

namespace spawn::core_testing {
namespace {

// ---- confinement and services' credentials ----

TEST_F(SupervisorTest, EveryContainerIsConfined) {
  Make();
  ServiceConfig limited = Config("limited");
  limited.pids_limit = 50;
  ASSERT_TRUE(Deploy(Config("plain")).ok());
  ASSERT_TRUE(Deploy(limited).ok());
  std::map<std::string, ContainerSpec> specs;
  for (const auto& [id, c] : engine_.Containers()) specs[c.spec.labels.at(kServiceLabel)] = c.spec;
  for (const auto& [name, spec] : specs) {
    EXPECT_TRUE(spec.no_new_privileges) << name;
    EXPECT_FALSE(spec.read_only_rootfs) << name;
    EXPECT_EQ(spec.user, "") << name;
  }
  EXPECT_EQ(specs["plain"].pids_limit, 1024);    // spawnd.yml's pidsLimit, by default 1024
  EXPECT_EQ(specs["limited"].pids_limit, 50);    // deploy.yml's own
  EXPECT_TRUE(supervisor_->Warnings().empty());  // the engine kept the limit
}

TEST_F(SupervisorTest, SpawndsPidsLimitIsTheDefault) {
  config_.pids_limit = 300;
  Make();
  ASSERT_TRUE(Deploy(Config("plain")).ok());
  EXPECT_EQ(engine_.Containers().begin()->second.spec.pids_limit, 300);
}

TEST_F(SupervisorTest, ReadOnlyServiceWithAUserGetsItsSecretsAsThatUser) {
  Make();
  ServiceConfig c = Config("ro");
  c.read_only = true;
  c.user = "1000:1001";
  proto::DeployRequest request{"r", c, TarWriter().Finish(), false, "the entity"};
  ASSERT_TRUE(supervisor_->Deploy(request).ok());
  Settle();
  ASSERT_EQ(StateOf("ro"), ServiceState::kRunning);
  const ContainerSpec spec = engine_.Containers().begin()->second.spec;
  EXPECT_TRUE(spec.read_only_rootfs);
  EXPECT_EQ(spec.user, "1000:1001");
  EXPECT_EQ(secrets_.services["ro"].uid, 1000);
  EXPECT_EQ(secrets_.services["ro"].gid, 1001);
  EXPECT_EQ(engine_.CountCalls("PutArchive"), 0u);  // a read-only root takes nothing in
}

TEST_F(SupervisorTest, ServicesIdentityAndCaReachEveryServiceAndNoLabel) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("supervisor-identity-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "services.password") << "services-password-bytes\n";
  std::ofstream(dir / "ca.crt") << "ca-bytes";
  config_.service_username = "sp-svc:test/sp";
  config_.service_password_file = (dir / "services.password").string();
  config_.container_broker = "ssl://broker:8883";
  config_.ca_file = (dir / "ca.crt").string();
  Make();
  proto::DeployRequest request{"r", Config("svc"), TarWriter().Finish(), false, "entity-bytes"};
  ASSERT_TRUE(supervisor_->Deploy(request).ok());
  Settle();
  ASSERT_EQ(StateOf("svc"), ServiceState::kRunning);
  EXPECT_EQ(secrets_.services["svc"].files,
            (ServiceSecrets::Files{{"broker.password", "services-password-bytes\n"},
                                   {"ca.pem", "ca-bytes"},
                                   {"entity.key", "entity-bytes"}}));
  const ContainerSpec spec = engine_.Containers().begin()->second.spec;
  EXPECT_THAT(spec.env, Contains("SPAWNPOINT_BROKER_USERNAME=sp-svc:test/sp"));
  EXPECT_THAT(spec.env,
              Contains("SPAWNPOINT_BROKER_PASSWORD_FILE=/run/spawnpoint/broker.password"));
  EXPECT_THAT(spec.env, Contains("SPAWNPOINT_BROKER_CA_FILE=/run/spawnpoint/ca.pem"));
  for (const char* secret : {"services-password-bytes", "entity-bytes", "ca-bytes"}) {
    for (const auto& [key, value] : spec.labels) {
      EXPECT_THAT(value, Not(HasSubstr(secret))) << key;
    }
    for (const auto& e : spec.env) EXPECT_THAT(e, Not(HasSubstr(secret)));
  }
  std::filesystem::remove_all(dir);
}

TEST_F(SupervisorTest, AnUnreadableServicesPasswordKeepsTheServiceFromStarting) {
  config_.service_username = "sp-svc:test/sp";
  config_.service_password_file = "/nonexistent/services.password";
  Make();
  ASSERT_TRUE(Deploy(Config("svc")).ok());
  EXPECT_EQ(StateOf("svc"), ServiceState::kZombie);
  EXPECT_EQ(engine_.CountCalls("CreateContainer"), 0u);
  EXPECT_TRUE(observer_.Logged("svc", "servicePasswordFile"));
}

TEST_F(SupervisorTest, SecretsAreWrittenAgainOnRestartAndRemovedOnPurge) {
  Make();
  ServiceConfig c = Config("svc");
  c.auto_restart = true;
  proto::DeployRequest request{"r", c, TarWriter().Finish(), false, "entity-bytes"};
  ASSERT_TRUE(supervisor_->Deploy(request).ok());
  Settle();
  const std::string id = ContainerOf("svc");
  secrets_.services.clear();  // e.g. a state directory restored without them
  engine_.Die(id, 1);
  loop_.AdvanceBy(seconds(1));
  Settle();
  ASSERT_EQ(StateOf("svc"), ServiceState::kRunning);
  EXPECT_EQ(ContainerOf("svc"), id);  // the same container, started again
  ASSERT_EQ(secrets_.services.count("svc"), 1u);
  EXPECT_EQ(secrets_.services["svc"].files.at("entity.key"), "entity-bytes");

  ASSERT_TRUE(supervisor_->Stop("svc").ok());
  Settle();
  EXPECT_EQ(secrets_.services.count("svc"), 1u);  // a zombie may be revived
  loop_.AdvanceBy(config_.zombie_period + seconds(1));
  Settle();
  EXPECT_TRUE(supervisor_->Services().empty());
  EXPECT_EQ(secrets_.services.count("svc"), 0u);
}

TEST_F(SupervisorTest, AnEngineThatDiscardsPidsLimitsIsReportedOnce) {
  engine_.EnforcePidsLimit(false);
  Make();
  ASSERT_TRUE(Deploy(Config("a")).ok());
  ASSERT_TRUE(Deploy(Config("b")).ok());
  ASSERT_EQ(supervisor_->Warnings().size(), 1u);
  EXPECT_THAT(supervisor_->Warnings()[0], HasSubstr("pidsLimit is not enforced"));
  EXPECT_THAT(supervisor_->Warnings()[0], HasSubstr("asked 1024"));
  EXPECT_EQ(engine_.CountCalls("InspectContainer"), 1u);  // read back once, not per container
  EXPECT_EQ(StateOf("a"), ServiceState::kRunning);        // services still run
}

TEST_F(SupervisorTest, NothingUncheckedReachesTheEngine) {
  Make();
  ServiceConfig image = Config("image");
  image.image = "busybox\nRUN touch /x";
  ServiceConfig apt = Config("apt");
  apt.apt_requires = {"jq", "jq; touch x"};
  ServiceConfig user = Config("user");
  user.user = "root";
  for (const auto& [c, key] : {std::pair{image, "image: "}, std::pair{apt, "aptRequires[1]: "},
                               std::pair{user, "user: "}}) {
    Status s = Deploy(c);
    EXPECT_EQ(s.code(), Code::kBadRequest) << c.name;
    EXPECT_THAT(s.message(), HasSubstr(key));
  }
  EXPECT_TRUE(supervisor_->Services().empty());
  EXPECT_EQ(engine_.CountCalls("Build"), 0u);
}

}  // namespace
}  // namespace spawn::core_testing
