// overlayNet and the entity's variables on the real engine, and through the real spawnd binary over
// the real broker: two services on one network reach each other by service name; overlayNet with
// useHostNet is refused; a service finds its entity through BW2_DEFAULT_ENTITY as well as
// SPAWNPOINT_ENTITY.
//
// Containers talk only on a network the test makes itself with --internal (nothing leaves it);
// the networks spawnd would make (EnsureNetwork) are made and inspected here with no container on
// them. Every network is removed at the end, after the containers on it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "spawn/common/tar.h"
#include "spawn/engine/curl_docker_engine.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using ::testing::HasSubstr;
using namespace spawn::testing;

// A Docker network named `name`, removed on destruction, every one of that name (declare it
// before whatever puts containers on it, so that they are gone first).
class ScopedNetwork {
 public:
  explicit ScopedNetwork(std::string name) : name_(std::move(name)) {}
  ~ScopedNetwork() {
    for (const std::string& id : Ids()) Docker("network rm " + id + " >/dev/null 2>&1");
  }
  ScopedNetwork(const ScopedNetwork&) = delete;
  ScopedNetwork& operator=(const ScopedNetwork&) = delete;
  const std::string& name() const { return name_; }
  // The ids of the networks of this name (the engine tells them apart; a name may be made twice).
  std::vector<std::string> Ids() const {
    ShellRun r = Docker("network ls -q --no-trunc --filter " + Quote("name=^" + name_ + "$"));
    std::vector<std::string> ids;
    std::istringstream lines(r.out);
    for (std::string id; std::getline(lines, id);) {
      if (!id.empty()) ids.push_back(id);
    }
    return ids;
  }
  // The network's fields by a `docker network inspect --format` template; "" when it is missing.
  std::string Inspect(const std::string& format) const {
    ShellRun r =
        Docker("network inspect --format " + Quote(format) + " " + Quote(name_) + " 2>/dev/null");
    return r.exit_code == 0 ? r.out : "";
  }

 private:
  std::string name_;
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST(OverlayNetEngineTest, EnsureNetworkMakesOneBridgeNetworkAndThenUsesIt) {
  CurlDockerEngine engine(kDefaultDockerSocket);
  ASSERT_TRUE(engine.Connect().ok());
  ScopedNetwork net(UniqueName("spawntest-made"));
  // Several services deploying onto the same new network at once make one network.
  std::vector<std::thread> callers;
  std::vector<Status> results(4);
  for (size_t i = 0; i < results.size(); ++i)
    callers.emplace_back([&, i] { results[i] = engine.EnsureNetwork(net.name()); });
  for (auto& t : callers) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(net.Ids().size(), 1u);
  // This engine is in no swarm: a local bridge.
  EXPECT_EQ(Trim(net.Inspect("{{.Driver}} {{.Scope}}")), "bridge local");
  const std::string id = Trim(net.Inspect("{{.Id}}"));
  ASSERT_FALSE(id.empty());
  // Made already: used as it is.
  ASSERT_TRUE(engine.EnsureNetwork(net.name()).ok());
  EXPECT_EQ(Trim(net.Inspect("{{.Id}}")), id);
}

TEST(OverlayNetEngineTest, AnExistingNetworkIsUsedAsItIsAndTheAliasIsSetAtCreate) {
  CurlDockerEngine engine(kDefaultDockerSocket);
  ScopedNetwork net(UniqueName("spawntest-net"));
  ASSERT_EQ(Docker("network create --internal " + Quote(net.name()) + " >/dev/null").exit_code, 0);
  ASSERT_TRUE(engine.EnsureNetwork(net.name()).ok());
  EXPECT_EQ(Trim(net.Inspect("{{.Internal}}")), "true");  // not replaced, not changed
  ContainerSpec spec;
  spec.name = UniqueName("spawntest-alias");
  spec.image = SPAWN_TEST_IMAGE;
  spec.cmd = {"true"};
  spec.network_mode = net.name();
  spec.network_aliases = {"demo"};
  auto created = engine.CreateContainer(spec);
  ASSERT_TRUE(created.ok()) << created.status().message();
  ShellRun aliases =
      Docker("inspect --format " +
             Quote("{{json (index .NetworkSettings.Networks \"" + net.name() + "\").Aliases}}") +
             " " + *created);
  engine.RemoveContainer(*created, true).IgnoreError();
  EXPECT_THAT(aliases.out, HasSubstr("\"demo\""));
}

class OverlayNetSpawndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    probe_.Subscribe(topics::Root(spawnd_.path()) + "/#");
    ASSERT_TRUE(spawnd_.StartAndWaitOnline(probe_)) << spawnd_.Log();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- spawnd log ----\n" << spawnd_.Log();
  }
  const std::string& p() const { return spawnd_.path(); }

  // Declared first, destroyed last: spawnd's containers are removed before the network.
  ScopedNetwork net_{UniqueName("spawntest-net")};
  SpawndProcess spawnd_;
  Probe probe_;
};

TEST_F(OverlayNetSpawndTest, ServicesOnOneNetworkReachEachOtherByServiceName) {
  ASSERT_EQ(Docker("network create --internal " + Quote(net_.name()) + " >/dev/null").exit_code, 0);
  ServiceConfig ear = Busybox("ear");
  ear.use_host_net = false;
  ear.overlay_net = net_.name();
  ear.run = {"sh", "-c", "echo listening; while true; do nc -l -p 7000; done"};
  ServiceConfig mouth = Busybox("mouth");
  mouth.use_host_net = false;
  mouth.overlay_net = net_.name();
  // Until ear listens (and its name resolves), the connection fails and is tried again.
  mouth.run = {"sh", "-c",
               "until echo hello ear, from mouth | nc -w 5 ear 7000; do sleep 1; done; "
               "echo sent; while true; do sleep 1; done"};
  ASSERT_TRUE(DeployOverBus(probe_, p(), ear, "ear"));
  ASSERT_TRUE(probe_.WaitFor(LogContains(topics::ServiceLog(p(), "ear"), "listening")));
  ASSERT_TRUE(DeployOverBus(probe_, p(), mouth, "mouth"));
  ASSERT_TRUE(probe_.WaitFor(LogContains(topics::ServiceLog(p(), "mouth"), "sent")));
  ASSERT_TRUE(probe_.WaitFor(LogContains(topics::ServiceLog(p(), "ear"), "hello ear, from mouth")));

  // Both purged: the network stays (others may use it).
  for (const char* name : {"ear", "mouth"}) {
    const std::string id = std::string("stop-") + name;
    probe_.Subscribe(topics::Reply(p(), id));
    probe_.Publish(topics::StopSlot(p()), proto::Encode(proto::ServiceCommand{id, name}));
    ASSERT_TRUE(probe_.WaitFor(IsReply(id, 200)));
  }
  for (const char* name : {"ear", "mouth"}) {
    ASSERT_TRUE(probe_.WaitFor([&](const BusMessage& m) {
      return m.topic == topics::ServiceHeartbeat(p(), name) && m.payload.empty();
    }));
  }
  CurlDockerEngine engine(kDefaultDockerSocket);
  for (int i = 0; i < 600; ++i) {  // the containers go just after the purge is announced
    auto left = engine.ListContainers("io.spawnpoint.path", p());
    ASSERT_TRUE(left.ok());
    if (left->empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(engine.ListContainers("io.spawnpoint.path", p())->size(), 0u);
  EXPECT_EQ(Trim(net_.Inspect("{{.Name}}")), net_.name());
}

TEST_F(OverlayNetSpawndTest, OverlayNetWithUseHostNetIsRefusedWith400NamingBoth) {
  ServiceConfig both = Busybox("both");
  both.overlay_net = net_.name();
  ASSERT_TRUE(both.use_host_net);
  probe_.Subscribe(topics::Reply(p(), "both"));
  probe_.Publish(topics::ConfigSlot(p()), proto::Encode(proto::DeployRequest{
                                              "both", both, TarWriter().Finish(), false, ""}));
  auto reply = probe_.WaitFor(IsReply("both", 400));
  ASSERT_TRUE(reply);
  const std::string message = proto::DecodeReply(reply->payload)->message;
  EXPECT_THAT(message, HasSubstr("overlayNet"));
  EXPECT_THAT(message, HasSubstr("useHostNet"));
  // Nothing was made: no container, no network.
  CurlDockerEngine engine(kDefaultDockerSocket);
  EXPECT_EQ(engine.ListContainers("io.spawnpoint.path", p())->size(), 0u);
  EXPECT_EQ(net_.Inspect("{{.Name}}"), "");
}

TEST_F(OverlayNetSpawndTest, AServiceFindsItsEntityThroughBw2DefaultEntity) {
  ServiceConfig svc = Busybox("keyed");
  svc.run = {"sh", "-c",
             "echo \"bw2=$BW2_DEFAULT_ENTITY spawnpoint=$SPAWNPOINT_ENTITY\"; "
             "echo \"key: $(cat \"$BW2_DEFAULT_ENTITY\")\"; while true; do sleep 1; done"};
  probe_.Subscribe(topics::Reply(p(), "keyed"));
  probe_.Publish(topics::ConfigSlot(p()),
                 proto::Encode(proto::DeployRequest{"keyed", svc, TarWriter().Finish(), false,
                                                    "the entity's bytes"}));
  ASSERT_TRUE(probe_.WaitFor(IsReply("keyed", 200)));
  ASSERT_TRUE(probe_.WaitFor(
      LogContains(topics::ServiceLog(p(), "keyed"),
                  "bw2=/run/spawnpoint/entity.key spawnpoint=/run/spawnpoint/entity.key")));
  ASSERT_TRUE(
      probe_.WaitFor(LogContains(topics::ServiceLog(p(), "keyed"), "key: the entity's bytes")));
}

}  // namespace
}  // namespace spawn
