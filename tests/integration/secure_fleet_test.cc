// A secured fleet end to end: a SecureBroker (TLS, no anonymous clients, the dynamic security
// plugin), identities made with the real `spawnctl access`, a real spawnd running as its host's
// identity and handing its services the services identity, and the real spawnctl as an operator
// and a viewer. What the broker delivers is observed with the admin's probe, which receives
// everything.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <sstream>
#include <tuple>

#include "harness.h"
#include "secure_broker.h"
#include "spawn/proto/topics.h"

namespace spawn::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// This file's broker runs on PrivateBrokerPort(22830).
class SecureFleetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    broker_ = new SecureBroker(PrivateBrokerPort(22830));
    ASSERT_TRUE(broker_->Start());
    home_ = new TempDir("secure-fleet");
    base_ = UniqueName("fleet");
    other_base_ = UniqueName("other");
    alias_ = UniqueName("alpha");
    path_ = base_ + "/" + alias_;

    const CliRun host = Admin({"access", "host", path_, "--out", home_->str() + "/alpha"});
    ASSERT_EQ(host.exit_code, 0) << host.err;
    for (const auto& [kind, name, base] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"operator", "ops", base_},
             {"viewer", "watcher", base_},
             {"operator", "elsewhere", other_base_}}) {
      const CliRun made =
          Admin({"access", kind, name, "--base", base, "--out", home_->str() + "/" + name});
      ASSERT_EQ(made.exit_code, 0) << made.err;
    }

    // spawnd with the lines `access host` printed (but `path`, which the harness writes), over
    // TLS.
    SpawndOptions options;
    options.broker = broker_->uri();
    options.path = path_;
    options.cleanup = broker_->RootOptions();
    std::istringstream lines(host.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("path:", 0) != 0) options.extra_yaml += line + "\n";
    }
    options.extra_yaml += "caFile: " + broker_->ca_file() + "\n";
    spawnd_ = new SpawndProcess(options);
    admin_probe_ = new Probe(broker_->AdminOptions());
    ASSERT_TRUE(spawnd_->StartAndWaitOnline(*admin_probe_)) << spawnd_->Log();
  }
  static void TearDownTestSuite() {
    delete spawnd_;
    delete admin_probe_;
    delete broker_;
    delete home_;
  }

  static CliRun Admin(const std::vector<std::string>& args) {
    std::vector<std::string> all = broker_->AdminSpawnctlArgs();
    all.insert(all.end(), args.begin(), args.end());
    return RunSpawnctl(all, home_->str(), broker_->uri());
  }
  // spawnctl as `user` (whose password file `access` wrote to home/<user>).
  static CliRun As(const std::string& user, const std::vector<std::string>& args) {
    std::vector<std::string> all = {
        "--broker",   broker_->uri(), "--ca-file",       broker_->ca_file(),
        "--username", user,           "--password-file", home_->str() + "/" + user,
        "--timeout",  "20s"};
    all.insert(all.end(), args.begin(), args.end());
    return RunSpawnctl(all, home_->str(), broker_->uri());
  }
  // A deploy.yml for a busybox service under home.
  static std::string WriteService(const std::string& name) {
    return home_
        ->Write(name + ".yml", "name: " + name + "\nrun: [sh, -c, 'echo hello from " + name +
                                   "; exec sleep 600']\nmemAlloc: 32M\ncpuShares: 64\n"
                                   "useHostNet: true\nstopTimeout: 1s\n")
        .string();
  }

  static SecureBroker* broker_;
  static TempDir* home_;
  static SpawndProcess* spawnd_;
  static Probe* admin_probe_;
  static std::string base_, other_base_, alias_, path_;
};

SecureBroker* SecureFleetTest::broker_ = nullptr;
TempDir* SecureFleetTest::home_ = nullptr;
SpawndProcess* SecureFleetTest::spawnd_ = nullptr;
Probe* SecureFleetTest::admin_probe_ = nullptr;
std::string SecureFleetTest::base_, SecureFleetTest::other_base_, SecureFleetTest::alias_,
    SecureFleetTest::path_;

TEST_F(SecureFleetTest, TheOperatorDeploysRestartsAndStops) {
  // A viewer watching the whole base meanwhile sees the service run but never its config.
  Probe viewer(broker_->Options("watcher", Slurp(home_->str() + "/watcher")));
  ASSERT_TRUE(viewer.Subscribe(base_ + "/#"));

  const std::string config = WriteService("web");
  const CliRun deployed = As("ops", {"deploy", "-u", path_, "-c", config, "--no-follow"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.out << deployed.err << spawnd_->Log();
  const std::string hb = topics::ServiceHeartbeat(path_, "web");
  EXPECT_TRUE(viewer.WaitFor(ServiceIn(hb, proto::ServiceState::kRunning)));
  EXPECT_TRUE(
      viewer.All([](const BusMessage& m) { return m.topic.find("/slot/") != std::string::npos; })
          .empty());

  const CliRun restarted = As("ops", {"restart", "-u", path_, "-n", "web", "--no-follow"});
  EXPECT_EQ(restarted.exit_code, 0) << restarted.out << restarted.err;
  const CliRun stopped = As("ops", {"stop", "-u", path_, "-n", "web", "--no-follow"});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.out << stopped.err;
  EXPECT_TRUE(viewer.WaitFor(ServiceIn(hb, proto::ServiceState::kZombie)));
}

TEST_F(SecureFleetTest, TheViewersDeployIsRefusedByTheBrokerAndNothingRuns) {
  const std::string config = WriteService("intruder");
  const CliRun refused = As("watcher", {"deploy", "-u", path_, "-c", config, "--no-follow"});
  EXPECT_EQ(refused.exit_code, 77) << refused.out << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("spawnctl: not authorised to deploy to " + path_ +
                                     " (the broker refused the command)"));
  for (const char* verb : {"restart", "stop"}) {
    const CliRun also = As("watcher", {verb, "-u", path_, "-n", "intruder", "--no-follow"});
    EXPECT_EQ(also.exit_code, 77) << verb << ": " << also.err;
  }

  // What the viewer may do works: scan, and it shows no such service.
  const CliRun scan = As("watcher", {"scan", path_});
  EXPECT_EQ(scan.exit_code, 0) << scan.err;
  EXPECT_THAT(scan.out, HasSubstr("alpha"));
  EXPECT_THAT(scan.out, Not(HasSubstr("intruder")));
  EXPECT_THAT(Docker("ps -a --filter label=io.spawnpoint.service=intruder -q").out, "");
}

TEST_F(SecureFleetTest, AnOperatorOfAnotherBaseIsRefused) {
  const std::string config = WriteService("stranger");
  const CliRun refused = As("elsewhere", {"deploy", "-u", path_, "-c", config, "--no-follow"});
  EXPECT_EQ(refused.exit_code, 77) << refused.out << refused.err;
  EXPECT_THAT(Docker("ps -a --filter label=io.spawnpoint.service=stranger -q").out, "");
}

TEST_F(SecureFleetTest, AServicePublishesUnderItsOwnTopicOnly) {
  // The probe service runs on the Debian base image (which carries spawnable's libraries) and
  // connects with what spawnd handed it: the services identity, its password file and the CA.
  const std::string tool = SPAWN_BINARY_DIR "/tests/tools/spawnpoint-bus-publish";
  const std::filesystem::path dir = home_->path() / "prober";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(tool, dir / "spawnpoint-bus-publish",
                             std::filesystem::copy_options::overwrite_existing);
  const std::string slot = topics::ConfigSlot(path_);
  const std::string heartbeat = topics::Heartbeat(path_);
  const std::string other_hb = topics::ServiceHeartbeat(path_, "web");
  const std::string yml = home_
                              ->Write("prober/deploy.yml",
                                      "name: prober\nimage: spawnpoint/base:latest\n"
                                      "includedFiles: [spawnpoint-bus-publish]\n"
                                      "run: [./spawnpoint-bus-publish, '@own/i.probe/signal/hi', " +
                                          slot + ", " + heartbeat + ", " + other_hb +
                                          "]\nmemAlloc: 64M\ncpuShares: 64\nuseHostNet: true\n")
                              .string();
  ASSERT_TRUE(admin_probe_->Subscribe(base_ + "/#"));

  const CliRun deployed = As("ops", {"deploy", "-u", path_, "-c", yml, "--no-follow"});
  ASSERT_EQ(deployed.exit_code, 0) << deployed.out << deployed.err << spawnd_->Log();
  const std::string log = topics::ServiceLog(path_, "prober");
  ASSERT_TRUE(admin_probe_->WaitFor(LogContains(log, "done"))) << spawnd_->Log();
  const std::string own = topics::ServiceTopic(path_, "prober") + "/i.probe/signal/hi";
  EXPECT_TRUE(admin_probe_->WaitFor(TopicIs(own, "probe")));
  EXPECT_TRUE(admin_probe_->WaitFor(LogContains(log, "publish " + own + ": ok")));
  for (const std::string& refused : {slot, heartbeat, other_hb}) {
    EXPECT_TRUE(admin_probe_->All(TopicIs(refused, "probe")).empty()) << refused;
    EXPECT_TRUE(admin_probe_->WaitFor(LogContains(log, "publish " + refused + ": refused")))
        << refused;
  }
  // The credentials reached the container through its secrets directory, not its environment's
  // values nor an image layer: the password is nowhere in the container's configuration.
  const std::string password = Slurp(home_->str() + "/alpha/services.password");
  ASSERT_FALSE(password.empty());
  const std::string container = "spawnpoint_" + alias_ + "_prober";
  const ShellRun inspect = Docker("inspect " + container);
  ASSERT_EQ(inspect.exit_code, 0);
  EXPECT_THAT(inspect.out, Not(HasSubstr(password)));
  EXPECT_THAT(inspect.out, HasSubstr("SPAWNPOINT_BROKER_USERNAME=sp-svc:" + path_));
  const ShellRun layers =
      Docker("history --no-trunc $(docker inspect --format '{{.Image}}' " + container + ")");
  ASSERT_EQ(layers.exit_code, 0);
  EXPECT_THAT(layers.out, Not(HasSubstr(password)));
}

}  // namespace
}  // namespace spawn::testing
