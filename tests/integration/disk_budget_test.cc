// Images and the disk budget on the real engine, through the real spawnd binary over the real
// broker: services with equal build inputs share one content-addressed image; an image left by a
// purged service is removed once imageGrace has passed, while an image shared with a running
// service, a previous generation's image and an image spawnd did not build all stay; a build past
// diskAlloc is removed and its deploy fails with 507, and the heartbeat carries the budget.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <map>
#include <string>
#include <thread>

#include "harness.h"
#include "spawn/engine/curl_docker_engine.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using namespace spawn::testing;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A busybox service whose build step makes its image: `recipe` decides which image it gets.
ServiceConfig Built(const std::string& name, const std::string& recipe) {
  ServiceConfig c = Busybox(name);
  c.build = {"echo " + recipe + " > /recipe"};
  return c;
}

class DiskBudgetTest : public ::testing::Test {
 protected:
  explicit DiskBudgetTest(const std::string& extra_yaml) : spawnd_(Options(extra_yaml)) {}
  static SpawndOptions Options(const std::string& extra_yaml) {
    SpawndOptions options;
    options.extra_yaml = extra_yaml;
    return options;
  }
  void SetUp() override {
    ASSERT_TRUE(engine_.Connect().ok());
    probe_.Subscribe(topics::Root(p()) + "/#");
    ASSERT_TRUE(spawnd_.StartAndWaitOnline(probe_)) << spawnd_.Log();
  }
  void TearDown() override {
    // The images this spawnpoint built (its containers go with the spawnd process).
    spawnd_.Kill(SIGTERM);
    auto built = engine_.ListImages("io.spawnpoint.built-by", p());
    if (!built.ok()) return;
    for (const auto& image : *built) {
      for (const auto& ref : image.tags) engine_.RemoveImage(ref).IgnoreError();
    }
  }
  const std::string& p() const { return spawnd_.path(); }
  // A recipe no other test (nor an earlier run) shares.
  std::string Recipe(const std::string& what) const {
    return what + "-" + std::to_string(getpid()) + "-" + p();
  }
  void Running(const std::string& name) {
    ASSERT_TRUE(probe_.WaitFor(
        ServiceIn(topics::ServiceHeartbeat(p(), name), proto::ServiceState::kRunning), 120s))
        << spawnd_.Log();
  }
  // The image each container of this spawnpoint runs on, by container name.
  std::map<std::string, std::string> ImagesByContainer() {
    std::map<std::string, std::string> out;
    auto containers = engine_.ListContainers("io.spawnpoint.path", p());
    EXPECT_TRUE(containers.ok());
    if (containers.ok()) {
      for (const auto& c : *containers) out[c.name] = c.image;
    }
    return out;
  }
  std::string ImageOf(const std::string& service) {
    for (const auto& [name, image] : ImagesByContainer()) {
      if (name.ends_with("_" + service)) return image;
    }
    return "";
  }
  bool Exists(const std::string& ref) {
    auto exists = engine_.ImageExists(ref);
    return exists.ok() && *exists;
  }

  SpawndProcess spawnd_;
  Probe probe_;
  CurlDockerEngine engine_{kDefaultDockerSocket};
};

class ImageCollectionTest : public DiskBudgetTest {
 protected:
  ImageCollectionTest() : DiskBudgetTest("imageGrace: 2s\n") {}
};

TEST_F(ImageCollectionTest, AnUnusedImageGoesAfterItsGraceAndNoOtherDoes) {
  const std::string shared = Recipe("shared");
  ASSERT_TRUE(DeployOverBus(probe_, p(), Built("shared1", shared), "d-shared1"));
  Running("shared1");
  ASSERT_TRUE(DeployOverBus(probe_, p(), Built("shared2", shared), "d-shared2"));
  Running("shared2");
  ASSERT_TRUE(probe_.WaitFor(LogContains(topics::ServiceLog(p(), "shared2"), "is up to date")));
  const std::string shared_image = ImageOf("shared1");
  EXPECT_THAT(shared_image, StartsWith("spawnpoint/build:"));
  EXPECT_EQ(ImageOf("shared2"), shared_image);  // one image for equal inputs

  ASSERT_TRUE(DeployOverBus(probe_, p(), Built("web", Recipe("v1")), "d-web1"));
  Running("web");
  const std::string v1 = ImageOf("web");
  ServiceConfig v2 = Built("web", Recipe("v2"));
  probe_.Subscribe(topics::Reply(p(), "d-web2"));
  probe_.Clear();
  probe_.Publish(topics::ConfigSlot(p()),
                 proto::Encode(proto::DeployRequest{"d-web2", v2, "", /*replace=*/true, ""}));
  ASSERT_TRUE(probe_.WaitFor(IsReply("d-web2", 200)));
  Running("web");
  ASSERT_NE(ImageOf("web"), v1);

  ASSERT_TRUE(DeployOverBus(probe_, p(), Built("gone", Recipe("gone")), "d-gone"));
  Running("gone");
  const std::string gone = ImageOf("gone");
  ASSERT_TRUE(Exists(gone));
  probe_.Subscribe(topics::Reply(p(), "s-gone"));
  probe_.Publish(topics::StopSlot(p()), proto::Encode(proto::ServiceCommand{"s-gone", "gone"}));
  ASSERT_TRUE(probe_.WaitFor(IsReply("s-gone", 200)));
  // Purged after zombiePeriod (3s), then removed within imageGrace (2s) and a collection round.
  ASSERT_TRUE(probe_.WaitFor(TopicIs(topics::ServiceHeartbeat(p(), "gone"), ""), 30s));
  for (int i = 0; i < 60 && Exists(gone); ++i) std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(Exists(gone)) << spawnd_.Log();
  EXPECT_TRUE(Exists(shared_image));  // shared1 and shared2 run on it
  EXPECT_TRUE(Exists(v1));            // the previous generation, kept for a rollback
  EXPECT_TRUE(Exists(ImageOf("web")));
  EXPECT_TRUE(Exists(SPAWN_TEST_IMAGE));  // not built here
}

class DiskAllocTest : public DiskBudgetTest {
 protected:
  // One container's log counts 50 MiB: room for one service with a small image, not two.
  DiskAllocTest() : DiskBudgetTest("diskAlloc: 80M\n") {}
};

TEST_F(DiskAllocTest, ABuildPastTheBudgetFailsWith507AndTheHeartbeatCarriesIt) {
  ASSERT_TRUE(
      probe_.WaitFor(SpawnpointHeartbeatWhere(p(), [](const proto::SpawnpointHeartbeat& hb) {
        return hb.total_disk_mib == 80 && hb.available_disk_mib == 80;
      })));
  ASSERT_TRUE(DeployOverBus(probe_, p(), Built("first", Recipe("first")), "d-first"));
  Running("first");
  ASSERT_TRUE(
      probe_.WaitFor(SpawnpointHeartbeatWhere(p(), [](const proto::SpawnpointHeartbeat& hb) {
        return hb.total_disk_mib == 80 && hb.available_disk_mib < 30;
      })));

  probe_.Subscribe(topics::JobEnd(p(), "d-second"));
  ASSERT_TRUE(DeployOverBus(probe_, p(), Built("second", Recipe("second")), "d-second"));
  const std::string log = topics::ServiceLog(p(), "second");
  ASSERT_TRUE(probe_.WaitFor(LogContains(log, "[ERROR 507] image spawnpoint/build:"), 120s))
      << spawnd_.Log();
  EXPECT_TRUE(probe_.WaitFor(LogContains(log, "does not fit diskAlloc 80M")));
  auto job = probe_.WaitFor([topic = topics::JobEnd(p(), "d-second")](const BusMessage& m) {
    return m.topic == topic && !m.payload.empty();
  });
  ASSERT_TRUE(job);
  auto decoded = proto::DecodeJob(job->payload);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->code, 507);
  EXPECT_TRUE(probe_.WaitFor(
      ServiceIn(topics::ServiceHeartbeat(p(), "second"), proto::ServiceState::kZombie)));
  // first's stays; second's is removed (by the engine call that follows the refusal).
  size_t left = 0;
  for (int i = 0; i < 40; ++i) {
    auto built = engine_.ListImages("io.spawnpoint.built-by", p());
    ASSERT_TRUE(built.ok());
    left = built->size();
    if (left == 1) break;
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_EQ(left, 1u);
  EXPECT_TRUE(Exists(ImageOf("first")));
}

}  // namespace
}  // namespace spawn
