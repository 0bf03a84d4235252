// Smoke test: the real Mosquitto and the real Docker engine are reachable through the project's own
// adapters (PahoBus, CurlDockerEngine), and a message makes the round trip through the broker.
#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include "spawn/bus/paho_bus.h"
#include "spawn/engine/curl_docker_engine.h"

namespace spawn {
namespace {

TEST(SmokeTest, DockerEngineAnswersPingAndVersion) {
  CurlDockerEngine engine("/var/run/docker.sock");
  auto version = engine.Connect();
  ASSERT_TRUE(version.ok()) << version.status().message();
  EXPECT_FALSE(version->api_version.empty());
  auto exists = engine.ImageExists(SPAWN_TEST_IMAGE);
  ASSERT_TRUE(exists.ok()) << exists.status().message();
  EXPECT_TRUE(*exists) << SPAWN_TEST_IMAGE << " missing: run scripts/build-test-image.sh";
}

TEST(SmokeTest, MissingEngineSocketIsAClearError) {
  CurlDockerEngine engine("/nonexistent/docker.sock");
  auto version = engine.Connect();
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.status().code(), Code::kUnavailable);
  EXPECT_NE(version.status().message().find("/nonexistent/docker.sock"), std::string::npos)
      << version.status().message();
}

TEST(SmokeTest, BrokerRoundTrip) {
  BusOptions options;
  options.uri = "tcp://127.0.0.1:1883";
  auto bus = MakePahoBus(options);
  std::mutex mu;
  std::condition_variable cv;
  std::string received;
  const std::string topic = "spawntest/smoke/" + std::to_string(getpid());
  bus->SetMessageHandler([&](const BusMessage& m) {
    std::lock_guard lock(mu);
    if (m.topic == topic) received = m.payload;
    cv.notify_all();
  });
  ASSERT_TRUE(bus->Connect().ok());
  ASSERT_TRUE(bus->Subscribe(topic, 1).ok());
  ASSERT_TRUE(bus->Publish({topic, "ping", 1, false}).ok());
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return !received.empty(); }));
  EXPECT_EQ(received, "ping");
  lock.unlock();
  EXPECT_TRUE(bus->Disconnect().ok());
}

}  // namespace
}  // namespace spawn
