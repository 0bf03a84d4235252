// spawnable on the real Mosquitto (127.0.0.1:1883): a Service's metadata, signals and slots as a
// plain MQTT client sees them, and the spawnpoint-demo binary run as spawnd would run it (its
// environment and params.yml), stopped with SIGTERM.
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
#include "spawn/spawnable/service.h"

namespace spawn {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using namespace spawn::testing;

constexpr char kBroker[] = "tcp://127.0.0.1:1883";

// A message on `topic` whose payload contains `fragment`.
MessageMatcher TopicWith(const std::string& topic, const std::string& fragment = "") {
  return [topic, fragment](const BusMessage& m) {
    return m.topic == topic && m.payload.find(fragment) != std::string::npos;
  };
}

std::string UniqueTopic(const std::string& name) {
  static int n = 0;
  return "test/spawnable-" + std::to_string(getpid()) + "-" + std::to_string(++n) +
         "/s.spawnpoint/" + name;
}

TEST(SpawnableIntegrationTest, MetadataSignalsAndSlotsOnTheBroker) {
  ServiceEnvironment env;
  env.broker = kBroker;
  env.service_topic = UniqueTopic("svc");
  auto options = ServiceBusOptions(env);
  ASSERT_TRUE(options.ok());
  auto service = Service::Connect(env, MakePahoBus(*options));
  ASSERT_TRUE(service.ok()) << service.status().message();

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> commands;
  ASSERT_TRUE((*service)
                  ->SubscribeSlot("thermo", "setpoint",
                                  [&](const BusMessage& m) {
                                    std::lock_guard lock(mu);
                                    commands.push_back(m.payload);
                                    cv.notify_all();
                                  })
                  .ok());
  ASSERT_TRUE((*service)->PublishMetadata({{"owner", "lab 410"}}).ok());

  Probe probe;
  probe.Subscribe(env.service_topic + "/#");
  // Retained: a client that subscribes afterwards still gets it.
  auto meta = probe.WaitFor(TopicWith(env.service_topic + "/!meta/owner"));
  ASSERT_TRUE(meta.has_value());
  EXPECT_EQ(meta->payload, "lab 410");
  EXPECT_TRUE(meta->retained);

  ASSERT_TRUE((*service)->PublishSignal("thermo", "temp", "21.5").ok());
  auto signal = probe.WaitFor(TopicWith(env.service_topic + "/i.thermo/signal/temp"));
  ASSERT_TRUE(signal.has_value());
  EXPECT_EQ(signal->payload, "21.5");

  probe.Publish(env.service_topic + "/i.thermo/slot/setpoint", "19");
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return !commands.empty(); }));
    EXPECT_EQ(commands.front(), "19");
  }
  ASSERT_TRUE((*service)->ClearMetadata("owner").ok());
  ASSERT_TRUE((*service)->Close().ok());
}

TEST(SpawnableIntegrationTest, DemoServiceTicksResetsAndStopsOnSigterm) {
  const std::string topic = UniqueTopic("demo");
  const auto dir =
      std::filesystem::temp_directory_path() / ("spawnable-demo-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "params.yml") << "/* as shipped, but quick */\ngreeting: hi there\n"
                                    << "interval: 200ms\nmetadata: {owner: test}\n";
  Probe probe;
  probe.Subscribe(topic + "/#");

  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(126);
    std::freopen((dir / "out.log").c_str(), "w", stdout);
    setenv("SPAWNPOINT_BROKER", kBroker, 1);
    setenv("SPAWNPOINT_SERVICE_TOPIC", topic.c_str(), 1);
    setenv("SPAWNPOINT_ALIAS", "test", 1);
    execl(SPAWN_BINARY_DIR "/examples/demo/spawnpoint-demo", "spawnpoint-demo",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  auto meta = probe.WaitFor(TopicWith(topic + "/!meta/owner", "test"));
  auto third = probe.WaitFor(TopicWith(topic + "/i.demo/signal/count", "\"count\":3,"));
  EXPECT_TRUE(meta.has_value());
  ASSERT_TRUE(third.has_value());
  EXPECT_THAT(third->payload, HasSubstr("\"greeting\":\"hi there\""));

  // After a reset the count starts again from 1 (a count-1 message after the count-3 one).
  probe.Publish(topic + "/i.demo/slot/reset", "");
  bool after_third = false;
  auto restarted = probe.WaitFor([&](const BusMessage& m) {
    if (m.topic != topic + "/i.demo/signal/count") return false;
    if (m.payload.find("\"count\":3,") != std::string::npos) after_third = true;
    return after_third && m.payload.find("\"count\":1,") != std::string::npos;
  });
  EXPECT_TRUE(restarted.has_value());

  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  std::ifstream in(dir / "out.log");
  const std::string out(std::istreambuf_iterator<char>(in), {});
  EXPECT_THAT(out, HasSubstr("tick 1: hi there"));
  EXPECT_THAT(out, HasSubstr("stopping"));
  EXPECT_THAT(out, HasSubstr("stopped after"));

  for (const char* key : {"owner", "description", "interval", "signal"}) {
    probe.Publish(topic + "/!meta/" + key, "", true);  // leave no retained litter
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spawn
