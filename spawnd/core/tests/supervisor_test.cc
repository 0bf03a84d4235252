// The supervisor on the SupervisorTest fixture (supervisor_fixture.h): deploys, restarts, zombies,
// refusals, persistence, logs and networks.
#include "supervisor_fixture.h"

namespace spawn::core_testing {
namespace {

TEST_F(SupervisorTest, DeployBuildsCreatesAndRunsWithinLimits) {
  Make();
  ServiceConfig c = Config("web");
  c.env = {"MODE=test"};
  c.volumes = {"data"};
  ASSERT_TRUE(Deploy(c).ok());
  EXPECT_EQ(StateOf("web"), ServiceState::kRunning);
  EXPECT_EQ(observer_.states["web"],
            (std::vector<ServiceState>{ServiceState::kBuilding, ServiceState::kStarting,
                                       ServiceState::kRunning}));
  EXPECT_TRUE(observer_.Logged("web", "[INFO] Launching service..."));
  EXPECT_TRUE(observer_.Logged("web", "[SUCCESS] Service container has started"));
  auto containers = engine_.Containers();
  ASSERT_EQ(containers.size(), 1u);
  const ContainerSpec& spec = containers.begin()->second.spec;
  EXPECT_EQ(spec.name, "spawnpoint_sp_web");
  EXPECT_EQ(spec.memory_bytes, 64 * kMiB);
  EXPECT_EQ(spec.cpu_shares, 128);
  EXPECT_EQ(spec.network_mode, "");  // the engine's default
  EXPECT_EQ(spec.labels.at(kAliasLabel), "sp");
  EXPECT_EQ(ParseServiceConfig(spec.labels.at(kConfigLabel), "label").value(), c);
  EXPECT_THAT(spec.env, Contains("SPAWNPOINT_PATH=test/sp"));
  EXPECT_TRUE(observer_.Logged("web", "spawnd: Step 1/1 : FROM fake"));  // build output
  EXPECT_EQ(spec.labels.at(kPathLabel), "test/sp");
  EXPECT_EQ(spec.labels.at(kServiceLabel), "web");
  EXPECT_THAT(spec.env, Contains("SPAWNPOINT_SERVICE_TOPIC=test/sp/s.spawnpoint/web"));
  EXPECT_THAT(spec.env, Contains("SPAWNPOINT_ALIAS=sp"));
  EXPECT_THAT(spec.env, Contains("MODE=test"));
  EXPECT_EQ(spec.volumes, std::vector<std::string>{"data"});
  EXPECT_EQ(supervisor_->Pool().free_mem_bytes, (1024 - 64) * kMiB);
  EXPECT_EQ(supervisor_->Pool().free_cpu_shares, 1024 - 128);
}

TEST_F(SupervisorTest, UnchangedImageIsNotRebuilt) {
  Make();
  ASSERT_TRUE(Deploy(Config("a")).ok());
  ASSERT_TRUE(supervisor_->Stop("a").ok());
  loop_.RunPending();
  loop_.AdvanceBy(minutes(3));  // purged
  ASSERT_TRUE(Deploy(Config("a")).ok());
  EXPECT_EQ(engine_.CountCalls("Build"), 1u);
  EXPECT_TRUE(observer_.Logged("a", "is up to date"));
}

TEST_F(SupervisorTest, RefusalCodes) {
  Make();
  ServiceConfig host = Config("host");
  host.use_host_net = true;
  EXPECT_EQ(Deploy(host).code(), Code::kForbidden);
  EXPECT_THAT(Deploy(host).message(), HasSubstr("allowHostNet"));
  ServiceConfig dev = Config("dev");
  dev.devices = {"/dev/null"};
  EXPECT_EQ(Deploy(dev).code(), Code::kForbidden);
  TarWriter unsafe;
  unsafe.AddFile("../../etc/passwd", "x");
  EXPECT_EQ(Deploy(Config("bad"), false, unsafe.Finish()).code(), Code::kBadRequest);
  EXPECT_EQ(Deploy(Config("bad"), false, "not a tar at all, not even close......").code(),
            Code::kBadRequest);
  ASSERT_TRUE(Deploy(Config("one")).ok());
  Status dup = Deploy(Config("one"));
  EXPECT_EQ(dup.code(), Code::kConflict);
  EXPECT_THAT(dup.message(), HasSubstr("already exists"));
  Status big = Deploy(Config("big", 2048, 2048));
  EXPECT_EQ(big.code(), Code::kUnavailable);
  EXPECT_EQ(
      big.message(),
      "Insufficient resources for service. CPU: Have 896, Want 2048. Mem: Have 960, Want 2048");
  EXPECT_EQ(supervisor_->Restart("nope").code(), Code::kNotFound);
  EXPECT_EQ(supervisor_->Stop("nope").code(), Code::kNotFound);
  ExpectPoolAddsUp();
  EXPECT_EQ(supervisor_->Services().size(), 1u);
}

TEST_F(SupervisorTest, PermissionsGrantedBySpawndAreHonoured) {
  config_.allow_host_net = true;
  config_.allow_device_mappings = true;
  Make();
  ServiceConfig c = Config("hw");
  c.use_host_net = true;
  c.devices = {"/dev/null"};
  ASSERT_TRUE(Deploy(c).ok());
  EXPECT_EQ(engine_.Containers().begin()->second.spec.network_mode, "host");
}

TEST_F(SupervisorTest, AutoRestartWaitsExactlyRestartInt) {
  Make();
  ServiceConfig c = Config("svc");
  c.auto_restart = true;
  c.restart_interval = seconds(2);
  ASSERT_TRUE(Deploy(c).ok());
  loop_.AdvanceBy(minutes(20));  // stays up long enough that this death is not a failure streak
  const std::string id = ContainerOf("svc");
  engine_.Die(id, 1);
  loop_.RunPending();
  EXPECT_EQ(StateOf("svc"), ServiceState::kRestarting);
  EXPECT_EQ(Get("svc")->exit_code, 1);
  const size_t starts = engine_.CountCalls("StartContainer");
  loop_.AdvanceBy(milliseconds(1999));
  EXPECT_EQ(engine_.CountCalls("StartContainer"), starts);
  EXPECT_EQ(StateOf("svc"), ServiceState::kRestarting);
  loop_.AdvanceBy(milliseconds(1));
  EXPECT_EQ(engine_.CountCalls("StartContainer"), starts + 1);
  EXPECT_EQ(StateOf("svc"), ServiceState::kRunning);
  EXPECT_EQ(Get("svc")->restarts, 1);
  EXPECT_EQ(ContainerOf("svc"), id);  // the same container, restarted
  ExpectPoolAddsUp();
}

TEST_F(SupervisorTest, QuickDeathsBackOffExponentiallyToTheCapAndResetAfterStayingUp) {
  Make();
  ServiceConfig c = Config("flaky");
  c.auto_restart = true;
  c.restart_interval = seconds(1);
  c.max_restart_interval = seconds(10);
  ASSERT_TRUE(Deploy(c).ok());
  std::vector<Duration> delays;
  for (int i = 0; i < 6; ++i) {
    engine_.Die(ContainerOf("flaky"), 2);
    loop_.RunPending();
    const SteadyTime died = loop_.Now();
    Duration seen = Get("flaky")->backoff;
    while (StateOf("flaky") != ServiceState::kRunning) loop_.AdvanceBy(milliseconds(100));
    delays.push_back(std::chrono::duration_cast<Duration>(loop_.Now() - died));
    if (i > 0) {
      EXPECT_EQ(seen, delays.back());
    }
  }
  EXPECT_EQ(delays, (std::vector<Duration>{seconds(1), seconds(2), seconds(4), seconds(8),
                                           seconds(10), seconds(10)}));
  EXPECT_TRUE(observer_.Logged("flaky", "backing off to 8s"));
  loop_.AdvanceBy(minutes(10));  // stays up: failures forgotten
  engine_.Die(ContainerOf("flaky"), 2);
  loop_.RunPending();
  EXPECT_EQ(Get("flaky")->backoff, Duration(0));
  const SteadyTime died = loop_.Now();
  while (StateOf("flaky") != ServiceState::kRunning) loop_.AdvanceBy(milliseconds(100));
  EXPECT_EQ(loop_.Now() - died, seconds(1));
}

TEST_F(SupervisorTest, DeathWithoutAutoRestartIsAZombieThenPurged) {
  Make();
  ASSERT_TRUE(Deploy(Config("once")).ok());
  const std::string id = ContainerOf("once");
  engine_.Die(id, 0);
  loop_.RunPending();
  EXPECT_EQ(StateOf("once"), ServiceState::kZombie);
  EXPECT_EQ(supervisor_->Pool().free_mem_bytes, 1024 * kMiB);  // released
  loop_.AdvanceBy(minutes(2) - milliseconds(1));
  EXPECT_TRUE(observer_.purged.empty());
  EXPECT_TRUE(Get("once").has_value());
  loop_.AdvanceBy(milliseconds(1));
  EXPECT_EQ(observer_.purged, std::vector<std::string>{"once"});
  EXPECT_FALSE(Get("once").has_value());
  EXPECT_EQ(engine_.Containers().count(id), 0u);  // container removed
  EXPECT_EQ(store_.records.count("once"), 0u);
}

TEST_F(SupervisorTest, StopNowKillsWithoutTheGrace) {
  Make();
  ASSERT_TRUE(Deploy(Config("k", 600)).ok());
  loop_.RunPending();
  ASSERT_EQ(StateOf("k"), ServiceState::kRunning);
  const std::string id = Get("k")->container_id;
  ASSERT_TRUE(supervisor_->StopNow("k").ok());
  loop_.RunPending();
  EXPECT_EQ(StateOf("k"), ServiceState::kZombie);
  EXPECT_THAT(engine_.Calls(), Contains("KillContainer " + id + " KILL"));
  EXPECT_THAT(engine_.Calls(), Not(Contains(HasSubstr("StopContainer"))));
  EXPECT_EQ(supervisor_->StopNow("ghost").code(), Code::kNotFound);
  ExpectPoolAddsUp();
}

TEST_F(SupervisorTest, ZombieRevivesWithinItsPeriodIfItStillFits) {
  Make();
  ASSERT_TRUE(Deploy(Config("z", 600)).ok());
  ASSERT_TRUE(supervisor_->Stop("z").ok());
  loop_.RunPending();
  EXPECT_EQ(StateOf("z"), ServiceState::kZombie);
  EXPECT_THAT(engine_.Calls(), Contains(HasSubstr("StopContainer")));
  ASSERT_TRUE(Deploy(Config("other", 600)).ok());  // takes the memory the zombie gave back
  Status revive = supervisor_->Restart("z");
  EXPECT_EQ(revive.code(), Code::kUnavailable);
  EXPECT_THAT(revive.message(), HasSubstr("Insufficient resources"));
  ASSERT_TRUE(supervisor_->Stop("other").ok());
  loop_.RunPending();
  ASSERT_TRUE(supervisor_->Restart("z").ok());
  loop_.RunPending();
  EXPECT_EQ(StateOf("z"), ServiceState::kRunning);
  loop_.AdvanceBy(minutes(5));
  EXPECT_EQ(StateOf("z"), ServiceState::kRunning);  // the revival cancelled the purge
  ExpectPoolAddsUp();
}

TEST_F(SupervisorTest, StopAndRestartDuringABuild) {
  Make();
  engine_.HoldBuilds(true);
  ASSERT_TRUE(Deploy(Config("slow")).ok());
  EXPECT_EQ(StateOf("slow"), ServiceState::kBuilding);
  EXPECT_TRUE(supervisor_->Restart("slow").ok());  // absorbed: it will start when built
  // Another service is not held up by the build.
  engine_.HoldBuilds(false);
  ASSERT_TRUE(Deploy(Config("fast")).ok());
  EXPECT_EQ(StateOf("fast"), ServiceState::kRunning);
  ASSERT_TRUE(supervisor_->Stop("slow").ok());
  loop_.RunPending();
  EXPECT_EQ(StateOf("slow"), ServiceState::kZombie);
  engine_.CompleteBuild(0, Status::Ok());  // a cancelled build's result is ignored
  loop_.RunPending();
  EXPECT_EQ(StateOf("slow"), ServiceState::kZombie);
  EXPECT_EQ(engine_.Containers().size(), 1u);
  ExpectPoolAddsUp();
}

TEST_F(SupervisorTest, BuildFailureReleasesTheReservation) {
  Make();
  engine_.FailNext("Build", Status::BadRequest("image build failed: RUN exit 7"));
  ASSERT_TRUE(Deploy(Config("broken", 512)).ok());
  EXPECT_EQ(StateOf("broken"), ServiceState::kZombie);
  EXPECT_TRUE(observer_.Logged("broken", "[ERROR 400] image build failed"));
  EXPECT_EQ(supervisor_->Pool().free_mem_bytes, 1024 * kMiB);
}

TEST_F(SupervisorTest, ReplaceStopsTheOldThenDeploysTheNew) {
  Make();
  ASSERT_TRUE(Deploy(Config("svc", 600)).ok());
  const std::string old_id = ContainerOf("svc");
  // 600 + 600 would not fit, but a replacement gets the old reservation back first.
  ASSERT_TRUE(Deploy(Config("svc", 600, 200), true).ok());
  EXPECT_EQ(StateOf("svc"), ServiceState::kRunning);
  EXPECT_NE(ContainerOf("svc"), old_id);
  // The old container is stopped and kept, renamed, for a rollback (issue 22).
  ASSERT_EQ(engine_.Containers().count(old_id), 1u);
  EXPECT_FALSE(engine_.Containers().at(old_id).running);
  EXPECT_EQ(engine_.Containers().at(old_id).spec.name, "spawnpoint_sp_svc_previous");
  EXPECT_EQ(Get("svc")->config.cpu_shares, 200);
  ExpectPoolAddsUp();
  EXPECT_EQ(Deploy(Config("svc", 2000), true).code(), Code::kUnavailable);
  EXPECT_EQ(StateOf("svc"), ServiceState::kRunning);  // a refused replacement leaves the old alone
}

TEST_F(SupervisorTest, RestartOfARunningServiceRestartsItsContainer) {
  Make();
  ServiceConfig c = Config("r");
  c.auto_restart = true;
  ASSERT_TRUE(Deploy(c).ok());
  ASSERT_TRUE(supervisor_->Restart("r").ok());
  loop_.RunPending();
  EXPECT_EQ(engine_.CountCalls("RestartContainer"), 1u);
  EXPECT_EQ(StateOf("r"), ServiceState::kRunning);
  EXPECT_EQ(Get("r")->restarts, 1);
  loop_.AdvanceBy(minutes(1));  // the restart's own die event did not schedule another restart
  EXPECT_EQ(engine_.CountCalls("StartContainer"), 1u);
}

TEST_F(SupervisorTest, EveryChangeIsPersisted) {
  Make();
  ASSERT_TRUE(Deploy(Config("p")).ok());
  ASSERT_EQ(store_.records.count("p"), 1u);
  EXPECT_EQ(store_.records["p"].container_id, ContainerOf("p"));
  EXPECT_TRUE(store_.records["p"].reserved);
  const int saves = store_.saves;
  ASSERT_TRUE(supervisor_->Stop("p").ok());
  loop_.RunPending();
  EXPECT_GT(store_.saves, saves);
  EXPECT_TRUE(store_.records["p"].stopped);
  EXPECT_FALSE(store_.records["p"].reserved);
  EXPECT_GT(store_.records["p"].zombie_deadline_unix_ns, 0);
}

TEST_F(SupervisorTest, LogsAndStatsOfTheContainerAreFollowed) {
  Make();
  ASSERT_TRUE(Deploy(Config("chatty")).ok());
  engine_.EmitLog(ContainerOf("chatty"), {"stderr", "warning: low disk"});
  ContainerStats stats;
  stats.memory_usage_bytes = 5 * kMiB;
  engine_.EmitStats(ContainerOf("chatty"), stats);
  loop_.RunPending();
  EXPECT_TRUE(observer_.Logged("chatty", "stderr: warning: low disk"));
  EXPECT_EQ(Get("chatty")->usage.memory_usage_bytes, 5 * kMiB);
}

TEST_F(SupervisorTest, ReadOutputAsksTheEngineForTheCurrentContainersOutputSince) {
  Make();
  ASSERT_TRUE(Deploy(Config("chatty")).ok());
  engine_.EmitLog(ContainerOf("chatty"), {"stdout", "old", 100});
  engine_.EmitLog(ContainerOf("chatty"), {"stderr", "new", 200});
  std::vector<Result<std::vector<LogLine>>> answers;
  auto keep = [&](Result<std::vector<LogLine>> r) { answers.push_back(std::move(r)); };
  supervisor_->ReadOutput("chatty", 150, 10, keep);
  supervisor_->ReadOutput("chatty", 0, 1, keep);
  supervisor_->ReadOutput("nobody", 0, 10, keep);  // none, at once
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(answers[0].ok() && answers[0]->empty());
  Settle();
  ASSERT_EQ(answers.size(), 3u);
  ASSERT_TRUE(answers[1].ok());
  ASSERT_EQ(answers[1]->size(), 1u);
  EXPECT_EQ((*answers[1])[0].text, "new");
  EXPECT_EQ((*answers[1])[0].stream, "stderr");
  EXPECT_EQ((*answers[1])[0].time_unix_ns, 200);
  ASSERT_TRUE(answers[2].ok());
  ASSERT_EQ(answers[2]->size(), 1u);  // the last line only
  EXPECT_EQ((*answers[2])[0].text, "new");

  // Its container gone (removed behind spawnd's back): none, not an error.
  ASSERT_TRUE(engine_.RemoveContainer(ContainerOf("chatty"), true).ok());
  supervisor_->ReadOutput("chatty", 0, 10, keep);
  Settle();
  ASSERT_EQ(answers.size(), 4u);
  ASSERT_TRUE(answers[3].ok());
  EXPECT_TRUE(answers[3]->empty());
}

TEST_F(SupervisorTest, EngineReconnectionResyncsMissedDeaths) {
  Make();
  ServiceConfig c = Config("missed");
  c.auto_restart = true;
  c.restart_interval = seconds(1);
  ASSERT_TRUE(Deploy(c).ok());
  // The container dies while the event stream is down: no event reaches the supervisor.
  engine_.DieSilently(ContainerOf("missed"), 137);
  loop_.RunPending();
  EXPECT_EQ(StateOf("missed"), ServiceState::kRunning);  // nothing told it yet
  engine_.ReconnectEvents();
  loop_.RunPending();
  EXPECT_EQ(StateOf("missed"), ServiceState::kRestarting);
  EXPECT_EQ(Get("missed")->exit_code, 137);
  loop_.AdvanceBy(seconds(1));
  EXPECT_EQ(StateOf("missed"), ServiceState::kRunning);
}

TEST_F(SupervisorTest, RandomInterleavingsNeverOversubscribeOrLeak) {
  Make();
  RandomSoak(20261123, {"a", "b", "c", "d", "e", "f"}, 3000, 8);
}

// ---- more refusals, entity, persistence failures ----

TEST_F(SupervisorTest, InvalidConfigsAreRefusedWithTheReason) {
  Make();
  ServiceConfig no_run = Config("norun");
  no_run.run.clear();
  Status s = Deploy(no_run);
  EXPECT_EQ(s.code(), Code::kBadRequest);
  EXPECT_THAT(s.message(), HasSubstr("run is required"));
  ServiceConfig tiny = Config("tiny");
  tiny.mem_alloc_bytes = 0;
  EXPECT_EQ(Deploy(tiny).code(), Code::kBadRequest);
  ServiceConfig env = Config("env");
  env.env = {"NOEQUALS"};
  EXPECT_THAT(Deploy(env).message(), HasSubstr("KEY=value"));
  EXPECT_EQ(Deploy(Config("bad/name")).code(), Code::kBadRequest);
  EXPECT_TRUE(supervisor_->Services().empty());
  EXPECT_EQ(engine_.CountCalls("CreateContainer"), 0u);
  ExpectPoolAddsUp();
}

TEST_F(SupervisorTest, EntityReachesTheContainerThroughItsSecretsDirectory) {
  Make();
  proto::DeployRequest request;
  request.config = Config("secret");
  request.archive = TarWriter().Finish();
  request.entity = "private key bytes";
  ASSERT_TRUE(supervisor_->Deploy(request).ok());
  loop_.RunPending();
  ASSERT_EQ(StateOf("secret"), ServiceState::kRunning);
  // Written before the container exists; never copied into its filesystem.
  ASSERT_EQ(secrets_.services.count("secret"), 1u);
  EXPECT_EQ(secrets_.services["secret"].files,
            (ServiceSecrets::Files{{"entity.key", "private key bytes"}}));
  EXPECT_EQ(engine_.CountCalls("PutArchive"), 0u);
  const ContainerSpec spec = engine_.Containers().begin()->second.spec;
  ASSERT_EQ(spec.binds.size(), 1u);
  EXPECT_EQ(spec.binds[0].host_dir, "/fake/secrets/secret");
  EXPECT_EQ(spec.binds[0].container_dir, "/run/spawnpoint");
  EXPECT_TRUE(spec.binds[0].read_only);
  EXPECT_THAT(spec.env, Contains("SPAWNPOINT_ENTITY=/run/spawnpoint/entity.key"));
  // Where services written for the original Spawnpoint look for their entity.
  EXPECT_THAT(spec.env, Contains("BW2_DEFAULT_ENTITY=/run/spawnpoint/entity.key"));
  EXPECT_EQ(store_.records["secret"].entity, "private key bytes");
}

TEST_F(SupervisorTest, WithoutAnEntityNoEntityVariableIsSet) {
  Make();
  ASSERT_TRUE(Deploy(Config("plain")).ok());
  const auto containers = engine_.Containers();
  for (const auto& e : containers.begin()->second.spec.env) {
    EXPECT_THAT(e, Not(HasSubstr("ENTITY")));
  }
}

// ---- overlayNet ----

TEST_F(SupervisorTest, OverlayNetIsEnsuredBeforeCreateWithTheServiceNameAsAlias) {
  Make();
  ServiceConfig a = Config("a"), b = Config("b");
  a.overlay_net = b.overlay_net = "svcnet";
  ASSERT_TRUE(Deploy(a).ok());
  ASSERT_TRUE(Deploy(b).ok());
  EXPECT_EQ(StateOf("a"), ServiceState::kRunning);
  EXPECT_EQ(StateOf("b"), ServiceState::kRunning);
  std::vector<std::string> network_calls;
  for (const auto& call : engine_.Calls()) {
    if (call.find("Network") != std::string::npos || call.rfind("CreateContainer", 0) == 0)
      network_calls.push_back(call);
  }
  EXPECT_EQ(network_calls,
            (std::vector<std::string>{"EnsureNetwork svcnet", "CreateContainer spawnpoint_sp_a",
                                      "EnsureNetwork svcnet", "CreateContainer spawnpoint_sp_b"}));
  std::map<std::string, ContainerSpec> specs;
  for (const auto& [id, c] : engine_.Containers()) specs[c.spec.labels.at(kServiceLabel)] = c.spec;
  EXPECT_EQ(specs["a"].network_mode, "svcnet");
  EXPECT_EQ(specs["a"].network_aliases, std::vector<std::string>{"a"});
  EXPECT_EQ(specs["b"].network_aliases, std::vector<std::string>{"b"});
  // The config label, from which a later spawnd may recover the service, keeps the network.
  EXPECT_EQ(ParseServiceConfig(specs["a"].labels.at(kConfigLabel), "label").value(), a);
  EXPECT_EQ(engine_.Networks(), std::vector<std::string>{"svcnet"});

  // The last service on the network is purged: the network stays.
  ASSERT_TRUE(supervisor_->Stop("a").ok());
  ASSERT_TRUE(supervisor_->Stop("b").ok());
  loop_.RunPending();
  loop_.AdvanceBy(minutes(3));
  EXPECT_EQ(observer_.purged, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(engine_.Containers().empty());
  EXPECT_EQ(engine_.Networks(), std::vector<std::string>{"svcnet"});
  EXPECT_EQ(engine_.CountCalls("EnsureNetwork"), 2u);
  for (const auto& call : engine_.Calls()) {
    if (call.rfind("EnsureNetwork", 0) != 0) {
      EXPECT_THAT(call, Not(HasSubstr("svcnet")));
    }
  }
}

TEST_F(SupervisorTest, ServicesWithoutOverlayNetEnsureNoNetwork) {
  Make();
  ASSERT_TRUE(Deploy(Config("plain")).ok());
  EXPECT_EQ(engine_.CountCalls("EnsureNetwork"), 0u);
  EXPECT_TRUE(engine_.Containers().begin()->second.spec.network_aliases.empty());
}

TEST_F(SupervisorTest, ANetworkThatCannotBeMadeFailsTheStartWithTheEnginesReason) {
  Make();
  ServiceConfig c = Config("lonely");
  c.overlay_net = "svcnet";
  engine_.FailNext("EnsureNetwork", Status::Internal("This node is not a swarm manager"));
  ASSERT_TRUE(Deploy(c).ok());
  EXPECT_EQ(StateOf("lonely"), ServiceState::kZombie);
  EXPECT_TRUE(
      observer_.Logged("lonely", "[ERROR 500] network svcnet: This node is not a swarm manager"));
  EXPECT_EQ(engine_.CountCalls("CreateContainer"), 0u);
  ExpectPoolAddsUp();
}

TEST_F(SupervisorTest, ANetworkRemovedWhileTheServiceWasDownIsMadeAgainWithANewContainer) {
  Make();
  ServiceConfig c = Config("phoenix");
  c.overlay_net = "svcnet";
  c.auto_restart = true;
  c.restart_interval = seconds(1);
  ASSERT_TRUE(Deploy(c).ok());
  const std::string first = ContainerOf("phoenix");
  engine_.Die(first, 1);
  loop_.RunPending();
  // What the engine answers when starting a container whose network was removed.
  engine_.FailNext("StartContainer", Status::NotFound("network svcnet not found"));
  loop_.AdvanceBy(seconds(1));
  EXPECT_EQ(StateOf("phoenix"), ServiceState::kRunning);
  EXPECT_NE(ContainerOf("phoenix"), first);
  EXPECT_EQ(engine_.CountCalls("EnsureNetwork"), 2u);
  EXPECT_EQ(engine_.Containers().size(), 1u);
}

TEST_F(SupervisorTest, OverlayNetWithHostNetOrABadNameIsRefusedNamingTheKeys) {
  config_.allow_host_net = true;
  Make();
  ServiceConfig both = Config("both");
  both.overlay_net = "svcnet";
  both.use_host_net = true;
  Status s = Deploy(both);
  EXPECT_EQ(s.code(), Code::kBadRequest);
  EXPECT_THAT(s.message(), HasSubstr("overlayNet"));
  EXPECT_THAT(s.message(), HasSubstr("useHostNet"));
  ServiceConfig bad = Config("bad");
  bad.overlay_net = "no such/net";
  s = Deploy(bad);
  EXPECT_EQ(s.code(), Code::kBadRequest);
  EXPECT_THAT(s.message(), HasSubstr("overlayNet: \"no such/net\" is not a network name"));
  EXPECT_TRUE(supervisor_->Services().empty());
  EXPECT_EQ(engine_.CountCalls("EnsureNetwork"), 0u);
}

TEST_F(SupervisorTest, AFailingStateStoreIsLoggedAndServicesGoOn) {
  Make();
  store_.fail_writes = true;
  ASSERT_TRUE(Deploy(Config("w")).ok());
  EXPECT_EQ(StateOf("w"), ServiceState::kRunning);
  ExpectPoolAddsUp();
}

TEST_F(SupervisorTest, OomIsReportedInTheServiceLog) {
  Make();
  ASSERT_TRUE(Deploy(Config("hungry")).ok());
  engine_.EmitEvent({EngineEvent::Kind::kOom, "oom", ContainerOf("hungry"), 0,
                     engine_.Containers()[ContainerOf("hungry")].spec.labels, 0});
  loop_.RunPending();
  EXPECT_TRUE(observer_.Logged("hungry", "ran out of memory"));
}

TEST_F(SupervisorTest, RestartDuringABuildStartsOnceBuiltAndRestartWhileWaitingRestartsNow) {
  Make();
  engine_.HoldBuilds(true);
  ServiceConfig c = Config("b");
  c.auto_restart = true;
  c.restart_interval = minutes(1);
  ASSERT_TRUE(Deploy(c).ok());
  ASSERT_TRUE(supervisor_->Restart("b").ok());  // never a 404 while building
  loop_.RunPending();
  engine_.CompleteBuild(0, Status::Ok());
  loop_.RunPending();
  EXPECT_EQ(StateOf("b"), ServiceState::kRunning);
  EXPECT_EQ(engine_.CountCalls("StartContainer"), 1u);
  loop_.AdvanceBy(minutes(20));
  engine_.Die(ContainerOf("b"), 1);
  loop_.RunPending();
  EXPECT_EQ(StateOf("b"), ServiceState::kRestarting);
  ASSERT_TRUE(supervisor_->Restart("b").ok());  // no need to wait out restartInt
  loop_.RunPending();
  EXPECT_EQ(StateOf("b"), ServiceState::kRunning);
  loop_.AdvanceBy(minutes(2));  // the cancelled timer does not start it a second time
  EXPECT_EQ(engine_.CountCalls("StartContainer"), 2u);
}

TEST_F(SupervisorTest, RestartLogsTheDelayAndAttempt) {
  Make();
  ServiceConfig c = Config("s");
  c.auto_restart = true;
  c.restart_interval = seconds(2);
  ASSERT_TRUE(Deploy(c).ok());
  engine_.Die(ContainerOf("s"), 1);
  loop_.RunPending();
  EXPECT_TRUE(observer_.Logged("s", "spawnd: [INFO] Restarting in 2s (attempt 1)"));
}

TEST_F(SupervisorTest, ZombieWhoseContainerVanishedGetsANewOneOnRevival) {
  Make();
  ASSERT_TRUE(Deploy(Config("v")).ok());
  ASSERT_TRUE(supervisor_->Stop("v").ok());
  loop_.RunPending();
  const std::string old_id = ContainerOf("v");
  ASSERT_TRUE(engine_.RemoveContainer(old_id, true).ok());  // someone ran docker rm
  ASSERT_TRUE(supervisor_->Restart("v").ok());
  loop_.RunPending();
  EXPECT_EQ(StateOf("v"), ServiceState::kRunning);
  EXPECT_NE(ContainerOf("v"), old_id);
  ExpectPoolAddsUp();
}

}  // namespace
}  // namespace spawn::core_testing
