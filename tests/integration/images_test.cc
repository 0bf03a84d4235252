// The service base image (scripts/make-base-image.sh) under the real spawnd binary, Mosquitto and
// Docker engine: a deploy with aptRequires installs a Debian package at build time and its run
// uses it; the demo service (examples/demo/deploy.yml, from the build tree) runs on the base image
// and publishes. A missing base image is a failure that says how to make it, not a skip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "harness.h"
#include "spawn/bus/paho_bus.h"
#include "spawn/client/client.h"
#include "spawn/common/tar.h"
#include "spawn/common/units.h"
#include "spawn/engine/curl_docker_engine.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using namespace std::chrono_literals;
using namespace spawn::testing;

constexpr char kBaseImage[] = "spawnpoint/base:latest";

// Every log line recorded on `topic`, for failure messages.
std::string LogLines(Probe& probe, const std::string& topic) {
  std::string out;
  for (const auto& m : probe.All([&](const BusMessage& m) { return m.topic == topic; })) {
    auto line = proto::DecodeLogMessage(m.payload);
    if (line.ok()) out += line->contents + "\n";
  }
  return out;
}

SpawndOptions OnTheBaseImage() {
  SpawndOptions options;
  options.mem_alloc = "1G";
  options.default_image = kBaseImage;
  return options;
}

std::function<bool(const BusMessage&)> LogLine(const std::string& topic,
                                               const std::string& contents) {
  return [topic, contents](const BusMessage& m) {
    auto line = proto::DecodeLogMessage(m.payload);
    return m.topic == topic && line.ok() && line->contents == contents;
  };
}

class ImagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CurlDockerEngine engine("/var/run/docker.sock");
    auto base = engine.ImageExists(kBaseImage);
    ASSERT_TRUE(base.ok()) << "Docker engine: " << base.status().message();
    ASSERT_TRUE(*base) << kBaseImage
                       << " is missing: run scripts/make-base-image.sh (it builds it locally from "
                          "this machine's Debian mirror), then run this test again";
    probe_.Subscribe(topics::Root(spawnd_.path()) + "/#");
    ASSERT_TRUE(spawnd_.StartAndWaitOnline(probe_));
  }
  void Deploy(proto::DeployRequest request) {
    const std::string id = request.request_id;
    probe_.Subscribe(topics::Reply(spawnd_.path(), id));
    probe_.Publish(topics::ConfigSlot(spawnd_.path()), proto::Encode(request));
    ASSERT_TRUE(probe_.WaitFor(IsReply(id, 200), 60s)) << "no 200 reply to " << id << "\n"
                                                       << spawnd_.Log();
  }

  Probe probe_;
  SpawndProcess spawnd_{OnTheBaseImage()};
};

TEST_F(ImagesTest, AptRequiresInstallsAPackageTheServiceRuns) {
  ServiceConfig c;
  c.name = "jq";
  c.apt_requires = {"jq"};
  c.run = {"sh", "-c", "echo '{\"a\":42}' | jq .a; exec sleep 600"};
  c.mem_alloc_bytes = 64 * kMiB;
  c.cpu_shares = 128;
  c.use_host_net = true;
  c.stop_timeout = 1s;
  Deploy(proto::DeployRequest{"jq1", c, TarWriter().Finish(), false, ""});
  const std::string log = topics::ServiceLog(spawnd_.path(), "jq");
  EXPECT_TRUE(probe_.WaitFor(LogLine(log, "42"), 600s)) << "service log:\n"
                                                        << LogLines(probe_, log) << "\nspawnd:\n"
                                                        << spawnd_.Log();
}

TEST_F(ImagesTest, DemoServiceRunsOnTheBaseImage) {
  auto request = PrepareDeploy(SPAWN_BINARY_DIR "/examples/demo/deploy.yml", std::nullopt, false);
  ASSERT_TRUE(request.ok()) << request.status().message();
  Deploy(*request);
  const std::string service_topic = topics::ServiceTopic(spawnd_.path(), "demo");
  const std::string log = topics::ServiceLog(spawnd_.path(), "demo");
  EXPECT_TRUE(probe_.WaitFor(LogLine(log, "tick 1: hello from spawnpoint")))
      << "service log:\n"
      << LogLines(probe_, log) << "\nspawnd:\n"
      << spawnd_.Log();
  EXPECT_TRUE(probe_.WaitFor([&](const BusMessage& m) {
    return m.topic == service_topic + "/i.demo/signal/count" &&
           m.payload.find("\"count\":1,") != std::string::npos;
  }));
  EXPECT_TRUE(probe_.WaitFor([&](const BusMessage& m) {
    return m.topic == service_topic + "/!meta/owner" && m.payload == "demo";
  }));
}

}  // namespace
}  // namespace spawn
