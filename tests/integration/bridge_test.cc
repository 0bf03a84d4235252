// A fleet beyond one broker: spawnd on a site Mosquitto, spawnctl on a central one, the two joined
// by an MQTT 5 Mosquitto bridge (`bridge_protocol_version mqttv50`) that carries the base both
// ways. Deploy, scan, logs and stop work through the bridge, and a command sent while the bridge
// is cut is delivered once when it is restored.
//
// The bridge is the central broker's connection to the site (see the README's "Beyond one
// broker"): Mosquitto 2.0's MQTT 5 bridge sends no session expiry, so the broker it connects to
// drops the bridge's session at every cut, and only the broker that holds the `connection` keeps
// what is queued for the other side. Commands flow from central to site, so central holds it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <future>
#include <string>
#include <thread>

#include "harness.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using ::testing::HasSubstr;
using namespace spawn::testing;

// This file's brokers run on PrivateBrokerPort(24830) (site) and PrivateBrokerPort(26830)
// (central).
std::string BridgeConfig(int site_port, const std::string& base) {
  return "connection site\naddress 127.0.0.1:" + std::to_string(site_port) +
         "\nbridge_protocol_version mqttv50\nremote_clientid " + UniqueName("central-bridge") +
         "\ncleansession false\nlocal_cleansession false\nnotifications false\n"
         "restart_timeout 1\nkeepalive_interval 5\ntopic " +
         base + "/# both 1\n";
}

MessageMatcher TopicStartsWith(const std::string& prefix) {
  return [prefix](const BusMessage& m) { return m.topic.rfind(prefix, 0) == 0; };
}

class BridgeTest : public ::testing::Test {
 protected:
  BridgeTest()
      : base_("bridge-" + UniqueName("base")),
        path_(base_ + "/alpha"),
        site_(PrivateBrokerPort(24830)),
        central_(PrivateBrokerPort(26830), 1, BridgeConfig(PrivateBrokerPort(24830), base_)),
        home_("bridge-home") {}

  // Waits until a message published on `from` under the base arrives through the bridge at
  // `to`: everything the bridge carried before it in that direction has arrived too.
  void SyncThroughBridge(Probe& from, Probe& to) {
    const std::string marker = base_ + "/sync/" + UniqueName("marker");
    ASSERT_TRUE(from.Publish(marker, "sync"));
    ASSERT_TRUE(to.WaitFor([&](const BusMessage& m) { return m.topic == marker; }))
        << "the bridge did not carry " << marker;
  }

  CliRun Central(const std::vector<std::string>& args) {
    return RunSpawnctl(args, home_.str(), central_.uri());
  }

  const std::string base_, path_;
  PrivateBroker site_;
  PrivateBroker central_;
  TempDir home_;
};

TEST_F(BridgeTest, DeployScanLogsAndStopFromTheCentralBrokerAndAQueuedCommandArrivesOnce) {
  ASSERT_TRUE(site_.Start()) << site_.Log();
  ASSERT_TRUE(central_.Start()) << central_.Log();
  SpawndOptions options;
  options.broker = site_.uri();
  options.path = path_;
  SpawndProcess spawnd(options);
  // What the site broker delivers under the base, kept across its restart.
  Probe site(site_.PersistentSession("bridge-site-probe"));
  ASSERT_TRUE(site.Subscribe(base_ + "/#"));
  Probe central(central_.uri());
  ASSERT_TRUE(central.Subscribe(base_ + "/#"));
  // Presence reaches the central broker only through the bridge.
  ASSERT_TRUE(spawnd.StartAndWaitOnline(central)) << central_.Log();

  const std::string yml =
      home_
          .Write("svc/deploy.yml",
                 std::string("name: bridged\nimage: ") + SPAWN_TEST_IMAGE +
                     "\nrun: [sh, -c, 'echo hello from bridged; while true; do sleep 1; done']\n"
                     "memAlloc: 64M\ncpuShares: 128\nuseHostNet: true\nstopTimeout: 1s\n")
          .string();
  CliRun deploy = Central({"deploy", "-u", path_, "-c", yml, "--no-follow", "--wait", "120s"});
  ASSERT_EQ(deploy.exit_code, 0) << deploy.out << deploy.err;
  EXPECT_THAT(deploy.out, HasSubstr("service bridged is running"));

  CliRun scan = Central({"scan", base_});
  ASSERT_EQ(scan.exit_code, 0) << scan.err;
  EXPECT_THAT(scan.out, HasSubstr("Discovered 1 SpawnPoint(s):"));
  EXPECT_THAT(scan.out, HasSubstr(" ago at " + path_));
  EXPECT_THAT(scan.out, HasSubstr("• [bridged] running"));
  EXPECT_THAT(scan.out, ::testing::Not(HasSubstr("DOWN")));

  ASSERT_TRUE(central.WaitFor(LogContains(topics::ServiceLog(path_, "bridged"), "hello from")));
  CliRun logs = Central({"logs", "-u", path_, "-n", "bridged", "--since", "10m"});
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  EXPECT_THAT(logs.out, HasSubstr("alpha::bridged > hello from bridged"));

  // Cut the bridge: the site broker goes away (saving its sessions, spawnd's among them).
  site_.Stop();
  central.Clear();
  auto stop = std::async(std::launch::async, [&] {
    return Central({"--timeout", "180s", "stop", "-u", path_, "-n", "bridged", "--no-follow"});
  });
  // The command is on the central broker, queued for the bridge; then the site comes back.
  ASSERT_TRUE(central.WaitFor(TopicStartsWith(topics::StopSlot(path_))));
  site.Clear();
  ASSERT_TRUE(site_.Start()) << site_.Log();
  CliRun stopped = stop.get();
  ASSERT_EQ(stopped.exit_code, 0) << stopped.out << stopped.err << central_.Log();
  EXPECT_THAT(stopped.out, HasSubstr("[OK]"));
  ASSERT_TRUE(central.WaitFor(
      ServiceIn(topics::ServiceHeartbeat(path_, "bridged"), proto::ServiceState::kZombie)));

  // Once: spawnctl sends its command again every 5 s until answered (the same RequestId, which
  // spawnd answers with its first reply); the bridge delivered each of those sends to the site
  // once, none lost and none doubled, and spawnd stopped the service once.
  SyncThroughBridge(central, site);
  SyncThroughBridge(site, central);
  const auto sent = central.All(TopicStartsWith(topics::StopSlot(path_)));
  ASSERT_GE(sent.size(), 1u);
  EXPECT_EQ(site.All(TopicStartsWith(topics::StopSlot(path_))).size(), sent.size());
  // Each send is answered (a resend that crossed the first reply is answered a moment later).
  auto replies = central.All(TopicStartsWith(topics::Reply(path_, "")));
  for (int i = 0; i < 300 && replies.size() < sent.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    replies = central.All(TopicStartsWith(topics::Reply(path_, "")));
  }
  EXPECT_EQ(replies.size(), sent.size());
  for (const auto& reply : replies) EXPECT_EQ(reply.payload, replies.front().payload);
  EXPECT_EQ(
      central.All(LogContains(topics::ServiceLog(path_, "bridged"), "[INFO] Stopping service"))
          .size(),
      1u);

  // The heartbeats retained on the central broker are current: a scan there shows the zombie.
  CliRun after = Central({"scan", "--all", base_});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_THAT(after.out, HasSubstr("• [bridged] zombie"));
}

}  // namespace
}  // namespace spawn
