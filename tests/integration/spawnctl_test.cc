// spawnctl and spawnclient against the real Mosquitto at 127.0.0.1:1883, with a scripted fake
// spawnpoint that publishes retained heartbeats and answers commands over its own MQTT connection.
// Everything lives under a base topic unique to the run; retained messages are cleared at the end.
//
// spawnctl runs as the real binary (RunSpawnctl from the harness) with its own HOME. The end-to-end
// test with the real spawnd and engine is tests/acceptance/.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "harness.h"
#include "spawn/bus/paho_bus.h"
#include "spawn/client/client.h"
#include "spawn/common/mutex.h"
#include "spawn/common/tar.h"
#include "spawn/common/units.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using proto::ServiceState;
using ::testing::HasSubstr;
using namespace spawn::testing;

constexpr const char* kBroker = "tcp://127.0.0.1:1883";

// A spawnpoint's bus side, scripted. Paho's thread only queues; a worker answers.
class FakeSpawnpoint {
 public:
  explicit FakeSpawnpoint(std::string path) : path_(std::move(path)) {
    BusOptions o;
    o.uri = kBroker;
    bus_ = MakePahoBus(o);
    bus_->SetMessageHandler([this](const BusMessage& m) {
      MutexLock lock(mu_);
      inbox_.push_back(m);
      cv_.NotifyAll();
    });
    worker_ = std::thread([this] { Work(); });
  }
  ~FakeSpawnpoint() {
    {
      MutexLock lock(mu_);
      stop_ = true;
    }
    cv_.NotifyAll();
    worker_.join();
    ClearRetained();
    bus_->Disconnect().IgnoreError();
  }
  Status Start() {
    SPAWN_RETURN_IF_ERROR(bus_->Connect());
    for (const auto& slot : {topics::ConfigSlot(path_), topics::RestartSlot(path_),
                             topics::StopSlot(path_), topics::LogsSlot(path_)}) {
      SPAWN_RETURN_IF_ERROR(bus_->Subscribe(slot, 1));
    }
    return Status::Ok();
  }
  Bus& bus() { return *bus_; }

  void PublishHeartbeat(const std::string& path, const std::vector<std::string>& services) {
    proto::SpawnpointHeartbeat hb;
    hb.alias = path.substr(path.rfind('/') + 1);
    hb.time_unix_ns = ToUnixNanos(std::chrono::system_clock::now());
    hb.version = "test";
    hb.total_mem_mib = 4096;
    hb.available_mem_mib = 3072;
    hb.total_cpu_shares = 4096;
    hb.available_cpu_shares = 3584;
    hb.services = services;
    PublishRetained(topics::Heartbeat(path), proto::Encode(hb));
  }
  void PublishService(const std::string& name, ServiceState state) {
    proto::ServiceHeartbeat hb;
    hb.spawnpoint_uri = path_;
    hb.name = name;
    hb.time_unix_ns = ToUnixNanos(std::chrono::system_clock::now());
    hb.state = state;
    hb.mem_alloc_mib = 64;
    hb.cpu_shares = 512;
    hb.mem_usage_mib = 3.5;
    hb.original_config.name = name;
    hb.original_config.image = "busybox";
    hb.original_config.run = {"sh", "-c", "echo hi"};
    hb.original_config.mem_alloc_bytes = 64 * kMiB;
    hb.original_config.cpu_shares = 512;
    PublishRetained(topics::ServiceHeartbeat(path_, name), proto::Encode(hb));
  }
  void PublishRetained(const std::string& topic, const std::string& payload) {
    {
      MutexLock lock(mu_);
      retained_.insert(topic);
    }
    EXPECT_TRUE(bus_->Publish({topic, payload, 1, true}).ok());
  }
  void ClearRetained() {
    std::set<std::string> topics;
    {
      MutexLock lock(mu_);
      topics.swap(retained_);
    }
    for (const auto& t : topics) bus_->Publish({t, "", 1, true}).IgnoreError();
  }

  // Scripted answers (set before the command is sent).
  void SetReply(bool ok, int code, std::string message) {
    MutexLock lock(mu_);
    reply_ = {"", ok, code, std::move(message)};
  }
  std::vector<proto::LogMessage> history;

  std::vector<proto::DeployRequest> Deploys() {
    MutexLock lock(mu_);
    return deploys_;
  }
  std::vector<std::string> Commands() {
    MutexLock lock(mu_);
    return commands_;
  }

 private:
  void Work() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    while (true) {
      while (!stop_ && inbox_.empty()) cv_.Wait(lock);
      if (stop_) return;
      BusMessage m = std::move(inbox_.front());
      inbox_.pop_front();
      lock.Unlock();
      Handle(m);
      lock.Lock();
    }
  }
  void Reply(const std::string& id) {
    proto::Reply r;
    {
      MutexLock lock(mu_);
      r = reply_;
    }
    r.request_id = id;
    EXPECT_TRUE(bus_->Publish({topics::Reply(path_, id), proto::Encode(r), 1, false}).ok());
  }
  void Log(const std::string& service, const std::string& stream, const std::string& text) {
    proto::LogMessage m{ToUnixNanos(std::chrono::system_clock::now()), "alpha", service, stream,
                        text};
    bus_->Publish({topics::ServiceLog(path_, service), proto::Encode(m), 1, false}).IgnoreError();
  }
  void Handle(const BusMessage& m) {
    if (m.topic == topics::ConfigSlot(path_)) {
      auto request = proto::DecodeDeployRequest(m.payload);
      ASSERT_TRUE(request.ok()) << request.status().message();
      bool ok;
      {
        MutexLock lock(mu_);
        deploys_.push_back(*request);
        ok = reply_.ok;
      }
      if (ok) PublishService(request->config.name, ServiceState::kBuilding);
      Reply(request->request_id);
      if (!ok) return;
      Log(request->config.name, "spawnd", "[INFO] Building image...");
      PublishService(request->config.name, ServiceState::kStarting);
      PublishService(request->config.name, ServiceState::kRunning);
    } else if (m.topic == topics::LogsSlot(path_)) {
      auto request = proto::DecodeLogsRequest(m.payload);
      ASSERT_TRUE(request.ok());
      const std::string topic = topics::LogsReply(path_, request->request_id);
      bus_->Publish(
              {topic, proto::Encode(proto::LogsReply{request->request_id, history}), 1, false})
          .IgnoreError();
      bus_->Publish({topic, proto::Encode(proto::LogsReply{request->request_id, {}}), 1, false})
          .IgnoreError();
    } else {
      auto command = proto::DecodeServiceCommand(m.payload);
      ASSERT_TRUE(command.ok());
      const bool restart = m.topic == topics::RestartSlot(path_);
      {
        MutexLock lock(mu_);
        commands_.push_back((restart ? "restart " : "stop ") + command->service);
      }
      if (restart) PublishService(command->service, ServiceState::kRestarting);
      Reply(command->request_id);
      PublishService(command->service, restart ? ServiceState::kRunning : ServiceState::kZombie);
    }
  }

  std::string path_;
  std::unique_ptr<Bus> bus_;
  Mutex mu_;
  CondVar cv_;
  std::deque<BusMessage> inbox_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  proto::Reply reply_ GUARDED_BY(mu_) = {"", true, 200, "ok"};
  std::vector<proto::DeployRequest> deploys_ GUARDED_BY(mu_);
  std::vector<std::string> commands_ GUARDED_BY(mu_);
  std::set<std::string> retained_ GUARDED_BY(mu_);
  std::thread worker_;
};

class SpawnctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = "spawnctl-test/" + NewRequestId().substr(0, 12);
    path_ = base_ + "/alpha";
    home_ = std::filesystem::temp_directory_path() / ("spawnctl_test_" + NewRequestId());
    std::filesystem::create_directories(home_);
    spawnpoint_ = std::make_unique<FakeSpawnpoint>(path_);
    ASSERT_TRUE(spawnpoint_->Start().ok());
    spawnpoint_->PublishHeartbeat(path_, {"web"});
    spawnpoint_->PublishService("web", ServiceState::kRunning);
    spawnpoint_->PublishRetained(topics::Meta(path_, "arch"), "amd64");
    spawnpoint_->PublishRetained(topics::Presence(path_), "online");
  }
  void TearDown() override {
    spawnpoint_.reset();  // clears its retained messages
    std::filesystem::remove_all(home_);
  }
  CliRun Spawnctl(const std::vector<std::string>& args) {
    return RunSpawnctl(args, home_.string());
  }
  std::string WriteDeployYaml() {
    std::filesystem::create_directories(home_ / "svc" / "data");
    std::ofstream(home_ / "svc" / "params.yml") << "rate: 5\n";
    std::ofstream(home_ / "svc" / "data" / "x.txt") << "x";
    std::ofstream(home_ / "svc" / "deploy.yml")
        << "name: demo\nimage: busybox\nrun: [sh, -c, 'cat params.yml']\nmemAlloc: 64M\n"
           "cpuShares: 512\nincludedFiles: [params.yml]\nincludedDirs: [data]\n";
    return (home_ / "svc" / "deploy.yml").string();
  }

  std::string base_, path_;
  std::filesystem::path home_;
  std::unique_ptr<FakeSpawnpoint> spawnpoint_;
};

TEST_F(SpawnctlTest, ScanFindsTheSpawnpoint) {
  CliRun several = Spawnctl({"scan", base_});
  ASSERT_EQ(several.exit_code, 0) << several.err;
  EXPECT_THAT(several.out, HasSubstr("Discovered 1 SpawnPoint(s):"));
  EXPECT_THAT(several.out, HasSubstr("[alpha] seen "));
  EXPECT_THAT(several.out, HasSubstr(" ago at " + path_));
  EXPECT_THAT(several.out, HasSubstr("Available Memory: 3072/4096 MiB"));
  EXPECT_THAT(several.out, HasSubstr("• [web] running"));
  EXPECT_THAT(several.out, HasSubstr("• arch: amd64"));
  EXPECT_THAT(several.out, ::testing::Not(HasSubstr("DOWN")));

  CliRun json = Spawnctl({"--json", "scan", "-u", path_});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"Path\":\"" + path_ + "\""));
  // The JSON carries each service's original config; the listing above does not need it.
  EXPECT_THAT(json.out, HasSubstr("image: busybox"));
}

TEST_F(SpawnctlTest, ScanShowsAnOfflineSpawnpointAsDown) {
  spawnpoint_->PublishRetained(topics::Presence(path_), "offline");
  CliRun run = Spawnctl({"scan", base_});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("DOWN (offline)"));
}

TEST_F(SpawnctlTest, DeploySendsTheArchiveAndWaitsUntilRunning) {
  const std::string yaml = WriteDeployYaml();
  CliRun run = Spawnctl({"deploy", "-u", path_, "-c", yaml, "--no-follow", "--wait", "30s"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("[OK]"));
  EXPECT_THAT(run.out, HasSubstr("service demo is running"));
  auto deploys = spawnpoint_->Deploys();
  ASSERT_EQ(deploys.size(), 1u);
  EXPECT_EQ(deploys[0].config.name, "demo");
  // How to ask after the deploy's job later.
  EXPECT_THAT(run.err, HasSubstr("Job " + deploys[0].request_id + " (spawnctl job -u " + path_ +
                                 " " + deploys[0].request_id + " --wait)"));
  auto entries = ReadTar(deploys[0].archive);
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  std::set<std::string> paths;
  for (const auto& e : *entries) paths.insert(e.path);
  EXPECT_TRUE(paths.count("params.yml") && paths.count("data/x.txt"));

  // Recorded, so deploy-last sends it again (here with --replace).
  CliRun again = Spawnctl({"deploy-last", "--replace", "--no-follow"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  deploys = spawnpoint_->Deploys();
  ASSERT_EQ(deploys.size(), 2u);
  EXPECT_TRUE(deploys[1].replace);
  EXPECT_NE(deploys[0].request_id, deploys[1].request_id);
}

TEST_F(SpawnctlTest, RefusedDeployFailsWithTheReason) {
  spawnpoint_->SetReply(false, 409, "service demo already exists");
  CliRun run = Spawnctl({"deploy", "-u", path_, "-c", WriteDeployYaml(), "--no-follow"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("[ERROR 409] service demo already exists (use --replace"));
}

TEST_F(SpawnctlTest, InvalidConfigFailsBeforeSending) {
  std::ofstream(home_ / "bad.yml") << "name: demo\nrun: [x]\nmemAlloc: 12X\ncpuShares: 1\n";
  CliRun run = Spawnctl({"deploy", "-u", path_, "-c", (home_ / "bad.yml").string()});
  EXPECT_EQ(run.exit_code, 2);  // bad config
  EXPECT_THAT(run.err, HasSubstr("memAlloc"));
  EXPECT_TRUE(spawnpoint_->Deploys().empty());
}

TEST_F(SpawnctlTest, RestartAndStopGetTheirReplies) {
  CliRun restart = Spawnctl({"restart", "-u", path_, "-n", "web", "--no-follow"});
  ASSERT_EQ(restart.exit_code, 0) << restart.err;
  EXPECT_THAT(restart.out, HasSubstr("[OK]"));
  CliRun stop = Spawnctl({"stop", "-u", path_, "-n", "web", "--no-follow"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_THAT(spawnpoint_->Commands(), ::testing::ElementsAre("restart web", "stop web"));
}

TEST_F(SpawnctlTest, LogsReturnsTheHistory) {
  const int64_t now = ToUnixNanos(std::chrono::system_clock::now());
  spawnpoint_->history = {{now, "alpha", "web", "stdout", "hello from web"},
                          {now, "alpha", "web", "stderr", "a warning"}};
  CliRun run = Spawnctl({"logs", "-u", path_, "-n", "web", "--since", "10m"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("alpha::web > hello from web\n"));
  EXPECT_THAT(run.out, HasSubstr("alpha::web > a warning\n"));
}

TEST_F(SpawnctlTest, InspectPrintsConfigAndHeartbeat) {
  CliRun run = Spawnctl({"inspect", "-u", path_, "-n", "web"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("• [web] running"));
  EXPECT_THAT(run.out, HasSubstr("Original config:\n"));
  EXPECT_THAT(run.out, HasSubstr("memAlloc: 64M"));
  CliRun missing = Spawnctl({"inspect", "-u", path_, "-n", "nope"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no service named nope"));
}

TEST_F(SpawnctlTest, NoAnswerIsAOneLineFailure) {
  CliRun run = Spawnctl({"--timeout", "1s", "restart", "-u", base_ + "/nobody", "-n", "web"});
  EXPECT_EQ(run.exit_code, 69);  // no answer
  EXPECT_THAT(run.err, HasSubstr("no answer from the spawnpoint"));
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1);
}

// The exit codes of spawnclient's exit_codes.h, one case each (1 by a real spawnd is below).
TEST_F(SpawnctlTest, BadUsageExitsTwoWithoutSendingAnything) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"bogus"},
           {"deploy", "-u", path_},                               // no -c
           {"deploy", "-u", path_, "-c", "/no/such/deploy.yml"},  // not a file
           {"--timeout", "soon", "scan", base_},
           {"-b", "localhost", "scan", base_},  // not a URI
           {"--mqtt-version", "4", "scan", base_},
           {"restart", "-u", path_, "-n", "web", "--expire", "soon"},
           {"logs", "-u", path_, "-n", "web", "--since", "yesterday"},
           {"restart", "-n", "web"},  // no spawnpoint
           {"deploy-last"}}) {        // no history yet
    CliRun run = Spawnctl(args);
    EXPECT_EQ(run.exit_code, 2) << ::testing::PrintToString(args) << ": " << run.err;
    EXPECT_FALSE(run.err.empty());
  }
  EXPECT_TRUE(spawnpoint_->Deploys().empty());
  EXPECT_TRUE(spawnpoint_->Commands().empty());
}

TEST_F(SpawnctlTest, NoBrokerExitsSixtyNine) {
  CliRun scan = RunSpawnctl({"scan", base_}, home_.string(), "tcp://127.0.0.1:9");
  EXPECT_EQ(scan.exit_code, 69) << scan.err;
  EXPECT_THAT(scan.err, HasSubstr("cannot connect to the broker at tcp://127.0.0.1:9"));
  EXPECT_EQ(std::count(scan.err.begin(), scan.err.end(), '\n'), 1);
  CliRun deploy = RunSpawnctl({"deploy", "-u", path_, "-c", WriteDeployYaml(), "--no-follow"},
                              home_.string(), "tcp://127.0.0.1:9");
  EXPECT_EQ(deploy.exit_code, 69) << deploy.err;
}

// A broker of the test's own that lets user alice (password "secret") read everything and write
// nowhere: every command is refused.
TEST_F(SpawnctlTest, ACommandOrCredentialsTheBrokerRefusesExitSeventySeven) {
  const auto passwords = (home_ / "passwords").string();
  std::ofstream(passwords) << "alice:secret\n";
  std::ofstream(home_ / "acl") << "user alice\ntopic read #\n";
  std::ofstream(home_ / "password") << "secret\n";
  std::ofstream(home_ / "wrong-password") << "wrong\n";
  ASSERT_EQ(Shell("mosquitto_passwd -U " + Quote(passwords)).exit_code, 0);
  PrivateBroker broker(PrivateBrokerPort(18830), 0,
                       "allow_anonymous false\npassword_file " + passwords + "\nacl_file " +
                           (home_ / "acl").string() + "\n");
  (void)broker.Start();  // its anonymous readiness probe is refused: wait for alice instead
  auto as_alice = [&](const std::string& password_file, std::vector<std::string> args) {
    args.insert(args.begin(), {"--username", "alice", "--password-file",
                               (home_ / password_file).string(), "--timeout", "2s"});
    return RunSpawnctl(args, home_.string(), broker.uri());
  };
  for (int i = 0; i < 100 && as_alice("password", {"scan", base_}).exit_code != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));

  CliRun deploy = as_alice("password", {"deploy", "-u", path_, "-c", WriteDeployYaml()});
  EXPECT_EQ(deploy.exit_code, 77) << deploy.err;
  // After the "Deploying demo to PATH..." line, one line saying what was not authorised.
  EXPECT_THAT(deploy.err, ::testing::EndsWith("...\nspawnctl: not authorised to deploy to " +
                                              path_ + " (the broker refused the command)\n"));
  CliRun stop = as_alice("password", {"stop", "-u", path_, "-n", "web"});
  EXPECT_EQ(stop.exit_code, 77) << stop.err;
  EXPECT_EQ(stop.err, "spawnctl: not authorised to stop web on " + path_ +
                          " (the broker refused the command)\n");
  // MQTT 3.1.1: the broker drops the refused command without a word; the timeout says it may have.
  CliRun old =
      as_alice("password", {"--mqtt-version", "3.1.1", "restart", "-u", path_, "-n", "web"});
  EXPECT_EQ(old.exit_code, 69) << old.err;
  EXPECT_THAT(old.err, HasSubstr("the broker may have refused the command"));
  CliRun wrong = as_alice("wrong-password", {"scan", base_});
  EXPECT_EQ(wrong.exit_code, 77) << wrong.err;
  EXPECT_THAT(wrong.err, HasSubstr("refused the credentials of user alice"));
}

TEST_F(SpawnctlTest, CtrlCWhileWaitingForAnAnswerExits130) {
  // The command reaching the slot says spawnctl is waiting for the reply, which never comes.
  const std::string nobody = base_ + "/nobody";
  Probe probe;
  ASSERT_TRUE(probe.Subscribe(topics::RestartSlot(nobody)));
  // Everything the child needs is made before fork(): it only calls async-signal-safe functions.
  const std::string binary = SPAWN_BINARY_DIR "/spawnctl/spawnctl";
  std::vector<std::string> args = {"spawnctl", "restart", "-u", nobody, "-n", "web"};
  std::vector<std::string> env = {
      "HOME=" + home_.string(), std::string("SPAWNPOINT_BROKER=") + kBroker, "PATH=/usr/bin:/bin"};
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  for (auto& e : env) envp.push_back(e.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(
      probe.WaitFor([&](const BusMessage& m) { return m.topic == topics::RestartSlot(nobody); }));
  kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 130);
}

TEST_F(SpawnctlTest, TheExampleDeploysAsItIs) {
  CliRun example = Spawnctl({"example"});
  ASSERT_EQ(example.exit_code, 0) << example.err;
  std::ofstream(home_ / "example.yml") << example.out;
  CliRun run =
      Spawnctl({"deploy", "-u", path_, "-c", (home_ / "example.yml").string(), "--no-follow"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_EQ(spawnpoint_->Deploys().size(), 1u);
  EXPECT_EQ(spawnpoint_->Deploys()[0].config.name, "demosvc");
}

// A deploy the real spawnd refuses (over its budget: 503) exits 1 with its reason.
TEST(SpawnctlAndSpawndTest, ARefusedDeployExitsOne) {
  SpawndProcess spawnd;  // 512M to share
  Probe probe;
  probe.Subscribe(topics::Root(spawnd.path()) + "/#");
  ASSERT_TRUE(spawnd.StartAndWaitOnline(probe)) << spawnd.Log();
  TempDir home("spawnctl-home");
  const auto yml =
      home.Write("deploy.yml", std::string("name: huge\nimage: ") + SPAWN_TEST_IMAGE +
                                   "\nrun: [sleep, '60']\nmemAlloc: 4G\ncpuShares: 128\n");
  CliRun run =
      RunSpawnctl({"deploy", "-u", spawnd.path(), "-c", yml.string(), "--no-follow"}, home.str());
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.err, HasSubstr("[ERROR 503] Insufficient resources"));
}

TEST_F(SpawnctlTest, ScanOfTwoHundredSpawnpoints) {
  const std::string fleet = base_ + "/fleet";
  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i)
    spawnpoint_->PublishHeartbeat(fleet + "/sp" + std::to_string(i), {});
  auto client = SpawnClient::Connect(BusOptions{});
  ASSERT_TRUE(client.ok()) << client.status().message();
  auto found = (*client)->Scan(fleet, std::chrono::seconds(30));
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->size(), static_cast<size_t>(kCount));

  CliRun run = Spawnctl({"scan", fleet});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("Discovered 200 SpawnPoint(s):"));
}

}  // namespace
}  // namespace spawn
