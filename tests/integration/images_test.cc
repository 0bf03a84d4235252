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

constexpr char kBaseImage[] = "spawnpoint/base:latest";

// Records every message on its own connection; WaitFor blocks until one matches, bounded so that
// a failure fails (apt-get in a build takes a while: the bound is generous).
class Probe {
 public:
  Probe() {
    bus_ = MakePahoBus(BusOptions{});
    bus_->SetMessageHandler([this](const BusMessage& m) {
      std::lock_guard lock(mu_);
      seen_.push_back(m);
      cv_.notify_all();
    });
    EXPECT_TRUE(bus_->Connect().ok());
  }
  void Subscribe(const std::string& filter) { ASSERT_TRUE(bus_->Subscribe(filter, 1).ok()); }
  void Publish(const std::string& topic, const std::string& payload, bool retained = false) {
    ASSERT_TRUE(bus_->Publish({topic, payload, 1, retained}).ok());
  }
  bool WaitFor(const std::function<bool(const BusMessage&)>& match,
               std::chrono::seconds timeout = 300s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& m : seen_) {
        if (match(m)) return true;
      }
      return false;
    });
  }
  std::string LogLines(const std::string& topic) {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& m : seen_) {
      auto line = proto::DecodeLogMessage(m.payload);
      if (m.topic == topic && line.ok()) out += line->contents + "\n";
    }
    return out;
  }

 private:
  std::unique_ptr<Bus> bus_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<BusMessage> seen_;
};

// The real spawnd (`spawnd run -c spawnd.yml`) on a spawnpoint of its own, with the base image as
// its default; its containers are removed at the end.
class Spawnd {
 public:
  Spawnd()
      : path_("test/images-" + std::to_string(getpid())),
        dir_(std::filesystem::temp_directory_path() / ("images-test-" + std::to_string(getpid()))) {
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "spawnd.yml")
        << "path: " << path_ << "\nmemAlloc: 1G\ncpuShares: 1024\nheartbeatInterval: 1s\n"
        << "allowHostNet: true\nstateDir: " << (dir_ / "state").string()
        << "\ndefaultImage: " << kBaseImage << "\n";
  }
  ~Spawnd() {
    Stop();
    CurlDockerEngine engine("/var/run/docker.sock");
    auto left = engine.ListContainers("io.spawnpoint.path", path_);
    if (left.ok()) {
      for (const auto& c : *left) engine.RemoveContainer(c.id, true).IgnoreError();
    }
    std::filesystem::remove_all(dir_);
  }
  void Start() {
    pid_ = fork();
    if (pid_ == 0) {
      std::freopen((dir_ / "spawnd.log").c_str(), "a", stderr);
      execl(SPAWN_BINARY_DIR "/spawnd/daemon/spawnd", "spawnd", "run", "-c",
            (dir_ / "spawnd.yml").c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  std::string Log() const {
    std::ifstream in(dir_ / "spawnd.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::filesystem::path dir_;
  pid_t pid_ = 0;
};

bool IsReply(const BusMessage& m, const std::string& id, int code) {
  auto r = proto::DecodeReply(m.payload);
  return r.ok() && r->request_id == id && r->code == code;
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
    spawnd_.Start();
    ASSERT_TRUE(probe_.WaitFor(
        [&](const BusMessage& m) {
          return m.topic == topics::Presence(spawnd_.path()) && m.payload == "online";
        },
        60s))
        << spawnd_.Log();
  }
  void Deploy(proto::DeployRequest request) {
    const std::string id = request.request_id;
    probe_.Subscribe(topics::Reply(spawnd_.path(), id));
    probe_.Publish(topics::ConfigSlot(spawnd_.path()), proto::Encode(request));
    ASSERT_TRUE(probe_.WaitFor([&](const BusMessage& m) { return IsReply(m, id, 200); }, 60s))
        << "no 200 reply to " << id << "\n"
        << spawnd_.Log();
  }

  Probe probe_;
  Spawnd spawnd_;
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
                                                        << probe_.LogLines(log) << "\nspawnd:\n"
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
      << probe_.LogLines(log) << "\nspawnd:\n"
      << spawnd_.Log();
  EXPECT_TRUE(probe_.WaitFor([&](const BusMessage& m) {
    return m.topic == service_topic + "/i.demo/signal/count" &&
           m.payload.find("\"count\":1,") != std::string::npos;
  }));
  EXPECT_TRUE(probe_.WaitFor([&](const BusMessage& m) {
    return m.topic == service_topic + "/!meta/owner" && m.payload == "demo";
  }));
  for (const char* key : {"owner", "room", "description", "interval", "signal"}) {
    probe_.Publish(service_topic + "/!meta/" + key, "", true);  // no retained litter
  }
}

}  // namespace
}  // namespace spawn
