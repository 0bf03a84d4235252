#include "spawn/spawnable/service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "spawn/bus/fake_bus.h"

namespace spawn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::function<const char*(const char*)> Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    static thread_local std::string value;
    auto it = vars.find(name);
    if (it == vars.end()) return nullptr;
    value = it->second;
    return value.c_str();
  };
}

TEST(ServiceEnvironmentTest, ReadsWhatSpawndGives) {
  auto env = ReadServiceEnvironment(Env({{"SPAWNPOINT_BROKER", "tcp://10.0.0.1:1883"},
                                         {"SPAWNPOINT_SERVICE_TOPIC", "a/b/s.spawnpoint/demo"},
                                         {"SPAWNPOINT_ALIAS", "b"},
                                         {"SPAWNPOINT_PATH", "a/b"},
                                         {"SPAWNPOINT_ENTITY", "/srv/spawnpoint/entity.key"}}));
  ASSERT_TRUE(env.ok()) << env.status().message();
  EXPECT_EQ(env->broker, "tcp://10.0.0.1:1883");
  EXPECT_EQ(env->service_topic, "a/b/s.spawnpoint/demo");
  EXPECT_EQ(env->alias, "b");
  EXPECT_EQ(env->path, "a/b");
  EXPECT_EQ(env->entity, "/srv/spawnpoint/entity.key");
  EXPECT_EQ(env->ServiceName(), "demo");
}

TEST(ServiceEnvironmentTest, BrokerDefaultsAndTopicIsRequired) {
  auto env = ReadServiceEnvironment(Env({{"SPAWNPOINT_SERVICE_TOPIC", "p/s.spawnpoint/x"}}));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->broker, "tcp://127.0.0.1:1883");
  EXPECT_TRUE(env->entity.empty());
  auto missing = ReadServiceEnvironment(Env({}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kBadRequest);
  EXPECT_THAT(missing.status().message(), HasSubstr("SPAWNPOINT_SERVICE_TOPIC is not set"));
}

TEST(ServiceBusOptionsTest, CredentialsFromTheEntityFile) {
  const auto file = std::filesystem::temp_directory_path() /
                    ("spawnable-entity-" + std::to_string(getpid()) + ".key");
  ServiceEnvironment env;
  env.broker = "ssl://broker:8883";
  env.service_topic = "p/s.spawnpoint/demo";
  auto plain = ServiceBusOptions(env);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->uri, "ssl://broker:8883");
  EXPECT_TRUE(plain->clean_session);
  EXPECT_THAT(plain->client_id, HasSubstr("spawnable-demo"));
  EXPECT_TRUE(plain->username.empty());

  env.entity = file.string();
  std::ofstream(file) << "username: demo\npassword: s3cret\n";
  auto with = ServiceBusOptions(env);
  ASSERT_TRUE(with.ok()) << with.status().message();
  EXPECT_EQ(with->username, "demo");
  EXPECT_EQ(with->password, "s3cret");

  std::ofstream(file) << "user: demo\n";
  auto bad = ServiceBusOptions(env);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown key \"user\""));
  EXPECT_THAT(bad.status().message(), HasSubstr(file.string()));
  std::filesystem::remove(file);
  EXPECT_FALSE(ServiceBusOptions(env).ok());
}

TEST(ServiceEnvironmentTest, ReadsTheServicesIdentitySpawndGives) {
  auto env = ReadServiceEnvironment(
      Env({{"SPAWNPOINT_SERVICE_TOPIC", "p/s.spawnpoint/x"},
           {"SPAWNPOINT_BROKER_USERNAME", "sp-svc:p"},
           {"SPAWNPOINT_BROKER_PASSWORD_FILE", "/run/spawnpoint/broker.password"},
           {"SPAWNPOINT_BROKER_CA_FILE", "/run/spawnpoint/ca.pem"}}));
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->broker_username, "sp-svc:p");
  EXPECT_EQ(env->broker_password_file, "/run/spawnpoint/broker.password");
  EXPECT_EQ(env->broker_ca_file, "/run/spawnpoint/ca.pem");
}

TEST(ServiceBusOptionsTest, ServicesIdentityIsUsedWithoutTheServiceDoingAnything) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("spawnable-secrets-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "broker.password") << "pw-of-services\n";
  ServiceEnvironment env;
  env.broker = "ssl://broker:8883";
  env.service_topic = "p/s.spawnpoint/demo";
  env.broker_username = "sp-svc:p";
  env.broker_password_file = (dir / "broker.password").string();
  env.broker_ca_file = (dir / "ca.pem").string();
  auto options = ServiceBusOptions(env);
  ASSERT_TRUE(options.ok()) << options.status().message();
  EXPECT_EQ(options->username, "sp-svc:p");
  EXPECT_EQ(options->password, "pw-of-services");  // the trailing newline is not the password's
  EXPECT_EQ(options->ca_file, (dir / "ca.pem").string());

  // The deployer's entity is the more specific identity: it wins.
  env.entity = (dir / "entity.key").string();
  std::ofstream(dir / "entity.key") << "username: own\npassword: own-pw\n";
  auto with_entity = ServiceBusOptions(env);
  ASSERT_TRUE(with_entity.ok()) << with_entity.status().message();
  EXPECT_EQ(with_entity->username, "own");
  EXPECT_EQ(with_entity->password, "own-pw");

  // A password file that cannot be read is an error naming the variable.
  env.entity.clear();
  std::filesystem::remove(dir / "broker.password");
  auto missing = ServiceBusOptions(env);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kBadRequest);
  EXPECT_THAT(missing.status().message(), HasSubstr("SPAWNPOINT_BROKER_PASSWORD_FILE"));
  std::filesystem::remove_all(dir);
}

TEST(TopicsTest, Layout) {
  EXPECT_EQ(MetadataTopic("p/s.spawnpoint/d", "k"), "p/s.spawnpoint/d/!meta/k");
  EXPECT_EQ(SignalTopic("p/s.spawnpoint/d", "demo", "count"),
            "p/s.spawnpoint/d/i.demo/signal/count");
  EXPECT_EQ(SlotTopic("p/s.spawnpoint/d", "demo", "reset"), "p/s.spawnpoint/d/i.demo/slot/reset");
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_.service_topic = "p/s.spawnpoint/demo";
    auto bus = std::make_unique<FakeBus>(broker_);
    bus_ = bus.get();
    auto s = Service::Connect(env_, std::move(bus));
    ASSERT_TRUE(s.ok()) << s.status().message();
    service_ = std::move(s).value();
  }
  FakeBroker broker_;
  ServiceEnvironment env_;
  FakeBus* bus_ = nullptr;
  std::unique_ptr<Service> service_;
};

TEST_F(ServiceTest, MetadataIsRetainedUnderMeta) {
  ASSERT_TRUE(service_->PublishMetadata({{"owner", "lab"}, {"version", "1"}}).ok());
  auto retained = broker_.Retained();
  ASSERT_EQ(retained.count("p/s.spawnpoint/demo/!meta/owner"), 1u);
  EXPECT_EQ(retained["p/s.spawnpoint/demo/!meta/owner"].payload, "lab");
  EXPECT_EQ(retained["p/s.spawnpoint/demo/!meta/version"].payload, "1");
  for (const auto& m : bus_->Published()) {
    EXPECT_TRUE(m.retained);
    EXPECT_EQ(m.qos, 1);
  }
  ASSERT_TRUE(service_->ClearMetadata("owner").ok());
  EXPECT_EQ(broker_.Retained().count("p/s.spawnpoint/demo/!meta/owner"), 0u);
  EXPECT_EQ(service_->PublishMetadata({{"a/b", "x"}}).code(), Code::kBadRequest);
}

TEST_F(ServiceTest, SignalsGoUnderTheInterface) {
  ASSERT_TRUE(service_->PublishSignal("demo", "count", "7").ok());
  auto sent = bus_->PublishedOn("p/s.spawnpoint/demo/i.demo/signal/count");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].payload, "7");
  EXPECT_FALSE(sent[0].retained);
  EXPECT_EQ(service_->PublishSignal("de+mo", "count", "7").code(), Code::kBadRequest);
  EXPECT_EQ(service_->PublishSignal("demo", "", "7").code(), Code::kBadRequest);
}

TEST_F(ServiceTest, PublishFailuresAreReturned) {
  bus_->FailPublishes(true);
  EXPECT_EQ(service_->PublishSignal("demo", "count", "1").code(), Code::kUnavailable);
  Status s = service_->PublishMetadata({{"k", "v"}});
  EXPECT_EQ(s.code(), Code::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("metadata k"));
}

TEST_F(ServiceTest, SlotsReachTheirHandlersOnly) {
  std::vector<std::string> resets, others;
  ASSERT_TRUE(service_
                  ->SubscribeSlot("demo", "reset",
                                  [&](const BusMessage& m) { resets.push_back(m.payload); })
                  .ok());
  ASSERT_TRUE(service_
                  ->SubscribeSlot("demo", "other",
                                  [&](const BusMessage& m) { others.push_back(m.payload); })
                  .ok());
  EXPECT_THAT(bus_->Subscriptions(), ElementsAre("p/s.spawnpoint/demo/i.demo/slot/other",
                                                 "p/s.spawnpoint/demo/i.demo/slot/reset"));
  FakeBus client(broker_);
  ASSERT_TRUE(client.Connect().ok());
  ASSERT_TRUE(client.Publish({"p/s.spawnpoint/demo/i.demo/slot/reset", "now", 1, false}).ok());
  ASSERT_TRUE(client.Publish({"p/s.spawnpoint/demo/i.demo/signal/reset", "no", 1, false}).ok());
  EXPECT_THAT(resets, ElementsAre("now"));
  EXPECT_THAT(others, IsEmpty());
}

TEST_F(ServiceTest, CloseDisconnects) {
  ASSERT_TRUE(service_->Close().ok());
  EXPECT_FALSE(bus_->IsConnected());
  EXPECT_TRUE(service_->Close().ok());
}

}  // namespace
}  // namespace spawn
