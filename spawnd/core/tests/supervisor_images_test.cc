// The supervisor's images: content-addressed tags shared by equal recipes, no build for a config
// that adds nothing to its base, the disk budget (507) and the collection of unused images, with
// the fake engine and the manual clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spawn/common/tar.h"
#include "spawn/common/units.h"
#include "spawn/core/executor.h"
#include "spawn/core/fake_service_secrets.h"
#include "spawn/core/image_recipe.h"
#include "spawn/core/state_store.h"
#include "spawn/core/supervisor.h"
#include "spawn/engine/fake_docker_engine.h"

namespace spawn {
namespace {

using proto::ServiceState;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kBase = "spawnpoint/busybox";

class LogObserver : public SupervisorObserver {
 public:
  void OnServiceChanged(const ServiceSnapshot&) override {}
  void OnServicePurged(const std::string&) override {}
  void OnServiceLog(const std::string& name, const std::string&, const std::string& line) override {
    logs += name + ": " + line + "\n";
  }
  std::string logs;
};

class SupervisorImagesTest : public ::testing::Test {
 protected:
  SupervisorImagesTest() {
    config_.path = "test/sp";
    config_.alias = "sp";
    config_.mem_alloc_bytes = 1024 * kMiB;
    config_.cpu_shares = 1024;
    config_.zombie_period = minutes(2);
    config_.image_grace = minutes(60);
    ImageInfo base;
    base.id = "sha256:base";
    base.tags = {kBase};
    base.size_bytes = 100 * kMiB;
    engine_.AddImage(base);
    engine_.SetBuiltImageSize(130 * kMiB);  // 30 MiB of its own over the base
  }

  void Make() {
    supervisor_ = MakeSupervisor(config_, engine_, loop_, store_, secrets_, executor_, observer_,
                                 [] { return 1.0; });
    ASSERT_TRUE(supervisor_->Start().ok());
    loop_.RunPending();
  }

  // A service with a file of its own (`content`), so it needs a build.
  Status Deploy(const std::string& name, const std::string& content, bool replace = false) {
    ServiceConfig c;
    c.name = name;
    c.image = kBase;
    c.run = {"sh", "-c", "cat app.txt; sleep 1000"};
    c.included_files = {"app.txt"};
    c.mem_alloc_bytes = 64 * kMiB;
    c.cpu_shares = 128;
    TarWriter archive;
    archive.AddFile("app.txt", content);
    Status s = supervisor_->Deploy({"r", c, archive.Finish(), replace, ""});
    loop_.RunPending();
    return s;
  }

  std::optional<ServiceSnapshot> Get(const std::string& name) {
    for (const auto& s : supervisor_->Services()) {
      if (s.name == name) return s;
    }
    return std::nullopt;
  }
  std::string ImageOf(const std::string& name) {
    auto s = Get(name);
    if (!s) return "";
    return engine_.Containers()[s->container_id].spec.image;
  }
  bool HasImage(const std::string& ref) { return *engine_.ImageExists(ref); }
  void Purge(const std::string& name) {
    ASSERT_TRUE(supervisor_->Stop(name).ok());
    loop_.RunPending();
    loop_.AdvanceBy(config_.zombie_period + seconds(1));
    ASSERT_FALSE(Get(name));
  }

  SpawndConfig config_;
  FakeDockerEngine engine_;
  ManualEventLoop loop_;
  MemoryStateStore store_;
  FakeServiceSecrets secrets_;
  InlineExecutor executor_;
  LogObserver observer_;
  std::unique_ptr<Supervisor> supervisor_;
};

TEST_F(SupervisorImagesTest, EqualRecipesShareOneContentAddressedImageWhateverTheServiceName) {
  Make();
  ASSERT_TRUE(Deploy("a", "same").ok());
  ASSERT_TRUE(Deploy("b", "same").ok());
  ASSERT_EQ(Get("a")->state, ServiceState::kRunning);
  ASSERT_EQ(Get("b")->state, ServiceState::kRunning);
  EXPECT_EQ(engine_.CountCalls("Build"), 1u);
  EXPECT_THAT(ImageOf("a"), StartsWith("spawnpoint/build:"));
  EXPECT_EQ(ImageOf("a"), ImageOf("b"));
  EXPECT_THAT(observer_.logs, HasSubstr("b: [INFO] Image " + ImageOf("a") + " is up to date"));
  // The base is named by its id, so the Dockerfile (and the tag) follow the image, not its name.
  ASSERT_TRUE(Deploy("c", "other").ok());
  EXPECT_NE(ImageOf("c"), ImageOf("a"));
  EXPECT_EQ(engine_.CountCalls("Build"), 2u);
  auto built = engine_.InspectImage(ImageOf("a"));
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(built->labels.at("io.spawnpoint.built-by"), "test/sp");
  EXPECT_EQ(built->labels.at("io.spawnpoint.base-bytes"), std::to_string(100 * kMiB));
}

TEST_F(SupervisorImagesTest, AConfigThatAddsNothingRunsOnItsBaseWithoutABuild) {
  Make();
  ServiceConfig c;
  c.name = "plain";
  c.image = kBase;
  c.run = {"sleep", "1000"};
  c.mem_alloc_bytes = 64 * kMiB;
  c.cpu_shares = 128;
  ASSERT_TRUE(supervisor_->Deploy({"r", c, TarWriter().Finish(), false, ""}).ok());
  loop_.RunPending();
  ASSERT_EQ(Get("plain")->state, ServiceState::kRunning);
  EXPECT_EQ(engine_.CountCalls("Build"), 0u);
  const ContainerSpec spec = engine_.Containers()[Get("plain")->container_id].spec;
  EXPECT_EQ(spec.image, kBase);
  EXPECT_THAT(spec.cmd, ElementsAre("sleep", "1000"));
  EXPECT_EQ(spec.working_dir, kServiceWorkDir);
  EXPECT_THAT(observer_.logs, HasSubstr("Nothing to build: runs on image spawnpoint/busybox"));
  // A base the engine does not have is built from, so that the build pulls it.
  c.name = "elsewhere";
  c.image = "registry.example/tool:1";
  ASSERT_TRUE(supervisor_->Deploy({"r", c, TarWriter().Finish(), false, ""}).ok());
  loop_.RunPending();
  EXPECT_EQ(engine_.CountCalls("Build"), 1u);
}

TEST_F(SupervisorImagesTest, ABuildPastTheDiskBudgetIsRemovedAndItsDeployFailsWith507) {
  // One image of 30 MiB and two logs of 50 fit 140 MiB; a second image does not.
  config_.disk_alloc_bytes = 140 * kMiB;
  Make();
  ASSERT_TRUE(Deploy("a", "one").ok());
  ASSERT_EQ(Get("a")->state, ServiceState::kRunning);
  EXPECT_EQ(supervisor_->Pool().total_disk_bytes, 140 * kMiB);
  EXPECT_EQ(supervisor_->Pool().free_disk_bytes, 60 * kMiB);  // 30 for the image, 50 for its log
  ASSERT_TRUE(Deploy("b", "two").ok());  // accepted: the build's size is known only once built
  ASSERT_EQ(Get("b")->state, ServiceState::kZombie);
  EXPECT_THAT(observer_.logs, HasSubstr("b: [ERROR 507] image spawnpoint/build:"));
  EXPECT_THAT(observer_.logs, HasSubstr("does not fit diskAlloc 140M: images built here and "
                                        "service logs would take 160M"));
  const auto images = engine_.Images();
  EXPECT_EQ(images.size(), 2u);  // the base and a's: b's is gone
  EXPECT_TRUE(HasImage(ImageOf("a")));
}

TEST_F(SupervisorImagesTest, AnUnusedImageGoesAfterItsGraceWhileUsedAndForeignOnesStay) {
  Make();
  ImageInfo foreign;
  foreign.tags = {"someone/else:1"};
  foreign.size_bytes = 5 * kMiB;
  engine_.AddImage(foreign);
  ASSERT_TRUE(Deploy("shared1", "shared").ok());
  ASSERT_TRUE(Deploy("shared2", "shared").ok());
  ASSERT_TRUE(Deploy("gone", "gone").ok());
  ASSERT_TRUE(Deploy("web", "v1").ok());
  const std::string shared = ImageOf("shared1");
  const std::string gone = ImageOf("gone");
  const std::string v1 = ImageOf("web");
  ASSERT_TRUE(Deploy("web", "v2", /*replace=*/true).ok());  // v1 is the previous generation
  ASSERT_EQ(Get("web")->state, ServiceState::kRunning);
  Purge("shared1");
  Purge("gone");
  loop_.AdvanceBy(minutes(59));
  EXPECT_TRUE(HasImage(gone));  // still in its grace
  loop_.AdvanceBy(minutes(3));
  EXPECT_FALSE(HasImage(gone));
  EXPECT_TRUE(HasImage(shared));  // shared2 still runs on it
  EXPECT_TRUE(HasImage(v1));      // kept for a rollback
  EXPECT_TRUE(HasImage(ImageOf("web")));
  EXPECT_TRUE(HasImage("someone/else:1"));  // not built here
  EXPECT_TRUE(HasImage(kBase));
}

TEST_F(SupervisorImagesTest, AShortBudgetRemovesUnusedImagesAtOnceOldestFirst) {
  // Images of 30 MiB; logs of 50.
  config_.disk_alloc_bytes = 200 * kMiB;
  Make();
  ASSERT_TRUE(Deploy("old", "old").ok());
  const std::string old_image = ImageOf("old");
  Purge("old");
  loop_.AdvanceBy(minutes(1));
  ASSERT_TRUE(Deploy("newer", "newer").ok());
  const std::string newer_image = ImageOf("newer");
  Purge("newer");
  loop_.AdvanceBy(minutes(1));  // both unused, well within their grace
  ASSERT_TRUE(HasImage(old_image));
  ASSERT_TRUE(HasImage(newer_image));
  ASSERT_TRUE(Deploy("a", "a").ok());  // 3 images and a log: 140 MiB
  ASSERT_TRUE(Deploy("b", "b").ok());  // 4 images and two logs: 220: the oldest unused goes
  EXPECT_EQ(Get("b")->state, ServiceState::kRunning);
  EXPECT_FALSE(HasImage(old_image));
  EXPECT_TRUE(HasImage(newer_image));
}

}  // namespace
}  // namespace spawn
