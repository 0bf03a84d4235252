// `spawnctl access` against a SecureBroker (TLS, no anonymous clients, the dynamic security
// plugin): the real spawnctl makes the identities, and real connections with the credentials it
// wrote try what each may and may not do. What the broker refuses to deliver is observed with
// the admin's probe (which receives everything): a refused publish is followed by an allowed one
// from the same connection, and once that one has arrived the refused one would have too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>

#include "harness.h"
#include "secure_broker.h"
#include "spawn/bus/paho_bus.h"
#include "spawn/proto/topics.h"

namespace spawn::testing {
namespace {

using ::testing::HasSubstr;

// This file's broker runs on PrivateBrokerPort(21830).
class AccessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    broker_ = new SecureBroker(PrivateBrokerPort(21830));
    ASSERT_TRUE(broker_->Start());
  }
  static void TearDownTestSuite() {
    delete broker_;
    broker_ = nullptr;
  }

  CliRun Access(const std::vector<std::string>& args) {
    std::vector<std::string> all = broker_->AdminSpawnctlArgs();
    all.push_back("access");
    all.insert(all.end(), args.begin(), args.end());
    return RunSpawnctl(all, home_.str(), broker_->uri());
  }

  struct Host {
    std::string path, password, services_password, yml;
  };
  // `access host PATH --out DIR`, expected to succeed.
  Host MakeHost(const std::string& path) {
    const std::string out = home_.str() + "/" + UniqueName("creds");
    const CliRun run = Access({"host", path, "--out", out});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return {path, Slurp(out + "/spawnd.password"), Slurp(out + "/services.password"), run.out};
  }
  // `access operator|viewer NAME --base BASE`, password printed; returns it.
  std::string MakeUser(const std::string& kind, const std::string& name, const std::string& base) {
    const CliRun run = Access({kind, name, "--base", base});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    const size_t at = run.out.find("password: ");
    if (at == std::string::npos) return "";
    return run.out.substr(at + 10, run.out.find('\n', at) - at - 10);
  }

  static Status ConnectAs(const std::string& username, const std::string& password) {
    auto bus = MakePahoBus(broker_->Options(username, password));
    Status s = bus->Connect();
    bus->Disconnect().IgnoreError();
    return s;
  }
  // A recording connection as `username`.
  static std::unique_ptr<Probe> As(const std::string& username, const std::string& password) {
    return std::make_unique<Probe>(broker_->Options(username, password));
  }
  // A publish the broker should refuse: whether the refusal is reported (an MQTT 5 PUBACK) or
  // not (MQTT 3.1.1 acknowledges and drops), only what is delivered is checked.
  static void TryPublish(Probe& probe, const std::string& topic, const std::string& payload,
                         bool retained = false) {
    probe.bus().Publish({topic, payload, 1, retained}).IgnoreError();
  }
  static bool Seen(Probe& probe, const std::string& topic, const std::string& payload) {
    return !probe.All(TopicIs(topic, payload)).empty();
  }

  static SecureBroker* broker_;
  TempDir home_{"access-home"};
  const std::string base_ = UniqueName("fleet");
};

SecureBroker* AccessTest::broker_ = nullptr;

TEST_F(AccessTest, HostCredentialsAreWrittenPrivatelyAndPrinted) {
  const std::string path = base_ + "/alpha", out = home_.str() + "/alpha-creds";
  const CliRun run = Access({"host", path, "--out", out});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "path: " + path + "\nusername: sp:" + path + "\npasswordFile: " + out +
                         "/spawnd.password\nserviceUsername: sp-svc:" + path +
                         "\nservicePasswordFile: " + out + "/services.password\n");
  struct stat st {};
  ASSERT_EQ(stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const char* file : {"/spawnd.password", "/services.password"}) {
    ASSERT_EQ(stat((out + file).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
    EXPECT_GE(Slurp(out + file).size(), 24u);
  }
  // Again: refused, with what to do instead.
  const CliRun again = Access({"host", path, "--out", out});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("already exists"));
  EXPECT_THAT(again.err, HasSubstr("--rotate"));
}

TEST_F(AccessTest, AnonymousAndWrongPasswordsAreRefused) {
  const Host alpha = MakeHost(base_ + "/alpha");
  EXPECT_FALSE(ConnectAs("", "").ok());
  EXPECT_FALSE(ConnectAs("sp:" + alpha.path, "wrong").ok());
  EXPECT_TRUE(ConnectAs("sp:" + alpha.path, alpha.password).ok());
  EXPECT_TRUE(ConnectAs("sp-svc:" + alpha.path, alpha.services_password).ok());
}

TEST_F(AccessTest, RotateGivesNewPasswords) {
  const std::string path = base_ + "/alpha", out = home_.str() + "/rotated";
  const Host alpha = MakeHost(path);
  const CliRun run = Access({"host", path, "--out", out, "--rotate"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_FALSE(ConnectAs("sp:" + path, alpha.password).ok());
  EXPECT_TRUE(ConnectAs("sp:" + path, Slurp(out + "/spawnd.password")).ok());
}

TEST_F(AccessTest, HostPublishesAndReadsItsOwnTopicsOnly) {
  const Host alpha = MakeHost(base_ + "/alpha"), beta = MakeHost(base_ + "/beta");
  Probe root(broker_->RootOptions());
  Probe admin(broker_->AdminOptions());
  ASSERT_TRUE(admin.Subscribe(base_ + "/#"));
  const std::string beta_hb = topics::Heartbeat(beta.path),
                    alpha_hb = topics::Heartbeat(alpha.path);
  ASSERT_TRUE(root.Publish(beta_hb, "beta-original", true));
  ASSERT_TRUE(admin.WaitFor(TopicIs(beta_hb, "beta-original")));

  auto host = As("sp:" + alpha.path, alpha.password);
  TryPublish(*host, beta_hb, "forged", true);
  ASSERT_TRUE(host->Publish(alpha_hb, "alpha-hb", true));
  ASSERT_TRUE(admin.WaitFor(TopicIs(alpha_hb, "alpha-hb")));
  EXPECT_FALSE(Seen(admin, beta_hb, "forged"));
  Probe later(broker_->AdminOptions());
  ASSERT_TRUE(later.Subscribe(beta_hb));
  EXPECT_TRUE(later.WaitFor(TopicIs(beta_hb, "beta-original")));

  // Its own slots, not beta's (whatever the SUBACK says, nothing of beta's arrives).
  ASSERT_TRUE(host->Subscribe(topics::ConfigSlot(alpha.path)));
  host->bus().Subscribe(topics::ConfigSlot(beta.path), 1).IgnoreError();
  ASSERT_TRUE(root.Publish(topics::ConfigSlot(beta.path), "beta-config"));
  ASSERT_TRUE(root.Publish(topics::ConfigSlot(alpha.path), "alpha-config"));
  EXPECT_TRUE(host->WaitFor(TopicIs(topics::ConfigSlot(alpha.path), "alpha-config")));
  EXPECT_FALSE(Seen(*host, topics::ConfigSlot(beta.path), "beta-config"));
}

TEST_F(AccessTest, ServicesPublishUnderTheirOwnTopicsOnly) {
  const Host alpha = MakeHost(base_ + "/alpha");
  Probe admin(broker_->AdminOptions());
  ASSERT_TRUE(admin.Subscribe(base_ + "/#"));
  auto services = As("sp-svc:" + alpha.path, alpha.services_password);
  const std::string own = topics::ServiceTopic(alpha.path, "demo") + "/i.demo/signal/out";
  TryPublish(*services, topics::ConfigSlot(alpha.path), "forged-config");
  TryPublish(*services, topics::Heartbeat(alpha.path), "forged-hb");
  TryPublish(*services, topics::ServiceHeartbeat(alpha.path, "demo"), "forged-svc-hb");
  ASSERT_TRUE(services->Publish(own, "ok"));
  ASSERT_TRUE(admin.WaitFor(TopicIs(own, "ok")));
  EXPECT_FALSE(Seen(admin, topics::ConfigSlot(alpha.path), "forged-config"));
  EXPECT_FALSE(Seen(admin, topics::Heartbeat(alpha.path), "forged-hb"));
  EXPECT_FALSE(Seen(admin, topics::ServiceHeartbeat(alpha.path, "demo"), "forged-svc-hb"));

  // Reading its own topics, never a slot.
  Probe root(broker_->RootOptions());
  services->bus().Subscribe(topics::Root(alpha.path) + "/+/#", 1).IgnoreError();
  ASSERT_TRUE(root.Publish(topics::ConfigSlot(alpha.path), "secret"));
  ASSERT_TRUE(root.Publish(own, "after"));
  EXPECT_TRUE(services->WaitFor(TopicIs(own, "after")));
  EXPECT_FALSE(Seen(*services, topics::ConfigSlot(alpha.path), "secret"));
}

TEST_F(AccessTest, OperatorCommandsTheSpawnpointsOfItsBaseOnly) {
  const std::string other_base = UniqueName("other");
  const std::string name = UniqueName("olivia");
  const std::string password = MakeUser("operator", name, base_);
  const std::string mine = base_ + "/alpha", theirs = other_base + "/alpha";
  Probe admin(broker_->AdminOptions());
  ASSERT_TRUE(admin.Subscribe(base_ + "/#"));
  ASSERT_TRUE(admin.Subscribe(other_base + "/#"));
  auto op = As(name, password);
  TryPublish(*op, topics::ConfigSlot(theirs), "forged-config");
  TryPublish(*op, topics::Heartbeat(mine), "forged-hb");
  ASSERT_TRUE(op->Publish(topics::RestartSlot(mine), "restart"));
  ASSERT_TRUE(op->Publish(topics::StopSlot(mine), "stop"));
  ASSERT_TRUE(op->Publish(topics::ConfigSlot(mine), "config"));
  ASSERT_TRUE(admin.WaitFor(TopicIs(topics::ConfigSlot(mine), "config")));
  EXPECT_TRUE(Seen(admin, topics::RestartSlot(mine), "restart"));
  EXPECT_TRUE(Seen(admin, topics::StopSlot(mine), "stop"));
  EXPECT_FALSE(Seen(admin, topics::ConfigSlot(theirs), "forged-config"));
  EXPECT_FALSE(Seen(admin, topics::Heartbeat(mine), "forged-hb"));

  // It reads its base but not the slots (another operator's config carries entities).
  ASSERT_TRUE(op->Subscribe(base_ + "/#"));
  Probe root(broker_->RootOptions());
  ASSERT_TRUE(root.Publish(topics::ConfigSlot(mine), "secret"));
  ASSERT_TRUE(root.Publish(topics::Heartbeat(mine), "hb"));
  EXPECT_TRUE(op->WaitFor(TopicIs(topics::Heartbeat(mine), "hb")));
  EXPECT_FALSE(Seen(*op, topics::ConfigSlot(mine), "secret"));
  EXPECT_FALSE(Seen(*op, topics::ConfigSlot(mine), "config"));
}

TEST_F(AccessTest, ViewerReadsButCannotCommand) {
  const std::string name = UniqueName("victor");
  const std::string password = MakeUser("viewer", name, base_);
  const std::string path = base_ + "/alpha";
  Probe admin(broker_->AdminOptions());
  ASSERT_TRUE(admin.Subscribe(base_ + "/#"));
  auto viewer = As(name, password);
  TryPublish(*viewer, topics::ConfigSlot(path), "forged-config");
  TryPublish(*viewer, topics::RestartSlot(path), "forged-restart");
  TryPublish(*viewer, topics::StopSlot(path), "forged-stop");
  ASSERT_TRUE(viewer->Publish(topics::LogsSlot(path), "logs-request"));
  ASSERT_TRUE(admin.WaitFor(TopicIs(topics::LogsSlot(path), "logs-request")));
  EXPECT_FALSE(Seen(admin, topics::ConfigSlot(path), "forged-config"));
  EXPECT_FALSE(Seen(admin, topics::RestartSlot(path), "forged-restart"));
  EXPECT_FALSE(Seen(admin, topics::StopSlot(path), "forged-stop"));

  // Everything under the base but the slots.
  ASSERT_TRUE(viewer->Subscribe(base_ + "/#"));
  Probe root(broker_->RootOptions());
  ASSERT_TRUE(root.Publish(topics::ConfigSlot(path), "secret"));
  ASSERT_TRUE(root.Publish(topics::Heartbeat(path), "hb"));
  EXPECT_TRUE(viewer->WaitFor(TopicIs(topics::Heartbeat(path), "hb")));
  EXPECT_FALSE(Seen(*viewer, topics::ConfigSlot(path), "secret"));

  // spawnctl scan runs with its rights (its marker under the base is allowed: no timeout).
  const std::string password_file = home_.str() + "/viewer.password";
  home_.Write("viewer.password", password);
  const CliRun scan =
      RunSpawnctl({"--broker", broker_->uri(), "--username", name, "--password-file", password_file,
                   "--ca-file", broker_->ca_file(), "--timeout", "20s", "scan", base_},
                  home_.str(), broker_->uri());
  EXPECT_EQ(scan.exit_code, 0) << scan.err;
}

TEST_F(AccessTest, ListAndRevoke) {
  const Host alpha = MakeHost(base_ + "/alpha");
  const std::string name = UniqueName("olga");
  const std::string password = MakeUser("operator", name, base_);
  const CliRun list = Access({"list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("sp:" + alpha.path));
  EXPECT_THAT(list.out, HasSubstr("sp-svc:" + alpha.path));
  EXPECT_THAT(list.out, HasSubstr(name));
  EXPECT_THAT(list.out, HasSubstr("sp-operator:" + base_));
  const CliRun json = RunSpawnctl(
      [&] {
        auto args = broker_->AdminSpawnctlArgs();
        for (const char* a : {"--json", "access", "list"}) args.push_back(a);
        return args;
      }(),
      home_.str(), broker_->uri());
  EXPECT_THAT(json.out, HasSubstr("{\"kind\":\"operator\",\"roles\":[\"sp-operator:" + base_ +
                                  "\"],\"username\":\"" + name + "\"}"));

  ASSERT_TRUE(ConnectAs(name, password).ok());
  const CliRun revoke = Access({"revoke", name});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_THAT(revoke.out, HasSubstr("deleted role sp-operator:" + base_));
  EXPECT_FALSE(ConnectAs(name, password).ok());
  EXPECT_THAT(Access({"list"}).out, ::testing::Not(HasSubstr(name)));
  const CliRun unknown = Access({"revoke", name});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_THAT(unknown.err, HasSubstr("no user " + name));
}

TEST_F(AccessTest, BadArgumentsAreRefusedBeforeConnecting) {
  const CliRun run = RunSpawnctl(
      {"--broker", "ssl://127.0.0.1:1", "access", "host", "alpha", "--out", home_.str() + "/x"},
      home_.str(), "ssl://127.0.0.1:1");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("expected BASE/<alias>"));
}

}  // namespace
}  // namespace spawn::testing
