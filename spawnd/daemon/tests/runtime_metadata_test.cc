// RuntimeMetadata: run-time keys win over the file's until removed, survive a restart (a new
// instance over the same file), and a failed save changes nothing.
#include "spawn/daemon/runtime_metadata.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace spawn {
namespace {

using Map = std::map<std::string, std::string>;

class FakeMetaStore final : public MetaStore {
 public:
  Result<Map> Load() override { return saved; }
  Status Save(const Map& keys) override {
    if (!fail.ok()) return fail;
    saved = keys;
    return Status::Ok();
  }
  Map saved;
  Status fail;
};

TEST(RuntimeMetadataTest, ARunTimeKeyWinsOverTheFileUntilRemoved) {
  FakeMetaStore store;
  RuntimeMetadata meta({{"room", "410"}, {"floor", "4"}}, &store);
  ASSERT_TRUE(meta.Load().ok());
  ASSERT_TRUE(meta.Set("room", "411").ok());
  ASSERT_TRUE(meta.Set("owner", "ops").ok());
  EXPECT_EQ(meta.Effective(), (Map{{"room", "411"}, {"floor", "4"}, {"owner", "ops"}}));
  EXPECT_EQ(store.saved, (Map{{"room", "411"}, {"owner", "ops"}}));
  auto room = meta.Remove("room");
  ASSERT_TRUE(room.ok());
  EXPECT_EQ(*room, std::optional<std::string>("410"));  // the file's value is back
  auto owner = meta.Remove("owner");
  ASSERT_TRUE(owner.ok());
  EXPECT_FALSE(owner->has_value());  // gone
  EXPECT_EQ(meta.Effective(), (Map{{"room", "410"}, {"floor", "4"}}));
  auto floor = meta.Remove("floor");
  ASSERT_FALSE(floor.ok());
  EXPECT_EQ(floor.status().code(), Code::kNotFound);
  EXPECT_NE(floor.status().message().find("-m file"), std::string::npos);
}

TEST(RuntimeMetadataTest, AFailedSaveChangesNothing) {
  FakeMetaStore store;
  RuntimeMetadata meta({}, &store);
  store.fail = Status::Internal("cannot write /state/meta.json.tmp: No space left on device");
  EXPECT_EQ(meta.Set("room", "411"), store.fail);
  EXPECT_TRUE(meta.Effective().empty());
}

TEST(RuntimeMetadataTest, RunTimeKeysSurviveARestartOfSpawnd) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("meta-test-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  const std::string path = (dir / "meta.json").string();
  {
    auto store = MakeFileMetaStore(path);
    RuntimeMetadata meta({{"room", "410"}}, store.get());
    ASSERT_TRUE(meta.Load().ok());
    ASSERT_TRUE(meta.Set("room", "411").ok());
  }
  auto store = MakeFileMetaStore(path);
  RuntimeMetadata meta({{"room", "410"}}, store.get());
  ASSERT_TRUE(meta.Load().ok());
  EXPECT_EQ(meta.Effective(), (Map{{"room", "411"}}));
  std::ofstream(path) << "[1, 2]";
  auto broken = MakeFileMetaStore(path)->Load();
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find(path), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spawn
