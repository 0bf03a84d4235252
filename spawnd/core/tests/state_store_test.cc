#include "spawn/core/state_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "spawn/common/units.h"

namespace spawn {
namespace {

namespace fs = std::filesystem;

class FileStateStoreTest : public ::testing::Test {
 protected:
  FileStateStoreTest() {
    dir_ = fs::temp_directory_path() /
           ("spawn-state-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  ~FileStateStoreTest() override { fs::remove_all(dir_); }

  static ServiceRecord Record(const std::string& name) {
    ServiceRecord r;
    r.config.name = name;
    r.config.run = {"sh", "-c", "sleep 1000"};
    r.config.mem_alloc_bytes = 64 * kMiB;
    r.config.cpu_shares = 128;
    r.config.auto_restart = true;
    r.config.restart_interval = std::chrono::seconds(5);
    r.archive = std::string(1024, '\0');
    r.entity = "secret";
    r.image_tag = "spawnpoint/" + name + ":0123456789abcdef";
    r.container_id = "abc123";
    r.reserved = true;
    r.restarts = 3;
    r.exit_code = 137;
    r.zombie_deadline_unix_ns = 1767225600000000000;
    r.trial_deadline_unix_ns = 1767225630000000000;
    return r;
  }

  fs::path dir_;
};

TEST_F(FileStateStoreTest, RoundTripsEveryField) {
  auto store = MakeFileStateStore(dir_.string());
  auto first = store->Load();
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->missing);
  ASSERT_TRUE(store->Save(Record("a"), true).ok());
  auto loaded = MakeFileStateStore(dir_.string())->Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded->missing);
  ASSERT_EQ(loaded->records.size(), 1u);
  const ServiceRecord& r = loaded->records[0];
  const ServiceRecord want = Record("a");
  EXPECT_EQ(r.config, want.config);
  EXPECT_EQ(r.archive, want.archive);
  EXPECT_EQ(r.entity, want.entity);
  EXPECT_EQ(r.image_tag, want.image_tag);
  EXPECT_EQ(r.container_id, want.container_id);
  EXPECT_EQ(r.reserved, want.reserved);
  EXPECT_EQ(r.restarts, want.restarts);
  EXPECT_EQ(r.exit_code, want.exit_code);
  EXPECT_EQ(r.zombie_deadline_unix_ns, want.zombie_deadline_unix_ns);
  EXPECT_EQ(r.trial_deadline_unix_ns, want.trial_deadline_unix_ns);
}

TEST_F(FileStateStoreTest, ThePreviousGenerationSurvivesARestartAndRemoveDeletesIt) {
  auto store = MakeFileStateStore(dir_.string());
  ServiceRecord record = Record("a");
  ServiceRecord old = Record("a");
  old.config.run = {"./old"};
  record.previous = PreviousGeneration{
      old.config, "old secret", "spawnpoint/a:old", "old-container", 4, std::string(100, '\1')};
  ASSERT_TRUE(store->Save(record, true).ok());
  auto loaded = MakeFileStateStore(dir_.string())->Load();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->records.size(), 1u);
  ASSERT_TRUE(loaded->records[0].previous.has_value());
  EXPECT_EQ(*loaded->records[0].previous, *record.previous);
  record.previous.reset();  // accepted: dropped
  ASSERT_TRUE(store->Save(record, false).ok());
  loaded = MakeFileStateStore(dir_.string())->Load();
  EXPECT_FALSE(loaded->records[0].previous.has_value());
  ASSERT_TRUE(store->Remove("a").ok());
  EXPECT_FALSE(fs::exists(dir_ / "services" / "a.previous.entity"));
  EXPECT_TRUE(fs::is_empty(dir_ / "services"));
}

TEST_F(FileStateStoreTest, SecretsAreOwnerOnlyNoTempFilesAndRemoveDeletesEverything) {
  auto store = MakeFileStateStore(dir_.string());
  ASSERT_TRUE(store->Save(Record("a"), true).ok());
  ServiceRecord later = Record("a");
  later.restarts = 4;
  ASSERT_TRUE(store->Save(later, false).ok());  // blobs kept from before
  const fs::path services = dir_ / "services";
  struct stat st {};
  ASSERT_EQ(::stat((services / "a.entity").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  for (const auto& e : fs::directory_iterator(services)) {
    EXPECT_NE(e.path().extension(), ".tmp") << "left a temp file: " << e.path();
  }
  auto loaded = store->Load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->records.at(0).restarts, 4);
  EXPECT_EQ(loaded->records.at(0).entity, "secret");
  ASSERT_TRUE(store->Remove("a").ok());
  EXPECT_TRUE(fs::is_empty(services));
  EXPECT_TRUE(store->Remove("never-was").ok());
}

// Each write replaces the file (a new inode): an unchanged one shows the write was skipped.
TEST_F(FileStateStoreTest, AnUnchangedRecordIsNotWrittenAgain) {
  auto store = MakeFileStateStore(dir_.string());
  const fs::path json = dir_ / "services" / "a.json";
  auto inode = [&] {
    struct stat st {};
    return ::stat(json.c_str(), &st) == 0 ? st.st_ino : 0;
  };
  ASSERT_TRUE(store->Save(Record("a"), true).ok());
  const auto first = inode();
  ASSERT_NE(first, 0u);
  ASSERT_TRUE(store->Save(Record("a"), false).ok());
  EXPECT_EQ(inode(), first);

  ServiceRecord changed = Record("a");
  changed.restarts = 9;
  ASSERT_TRUE(store->Save(changed, false).ok());
  const auto second = inode();
  EXPECT_NE(second, first);
  // After a removal the same record is written again.
  ASSERT_TRUE(store->Remove("a").ok());
  ASSERT_TRUE(store->Save(changed, false).ok());
  EXPECT_NE(inode(), 0u);
  auto loaded = store->Load();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->records.size(), 1u);
  EXPECT_EQ(loaded->records[0].restarts, 9);
}

TEST_F(FileStateStoreTest, ADamagedRecordIsReportedNotFatal) {
  auto store = MakeFileStateStore(dir_.string());
  ASSERT_TRUE(store->Save(Record("good"), true).ok());
  std::ofstream(dir_ / "services" / "bad.json") << "{ this is not json";
  auto loaded = store->Load();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->records.size(), 1u);
  EXPECT_EQ(loaded->records[0].config.name, "good");
  EXPECT_EQ(loaded->damaged, std::set<std::string>{"bad"});
  EXPECT_FALSE(loaded->missing);
}

TEST(MemoryStateStoreTest, FailsWritesWhenToldTo) {
  MemoryStateStore store;
  ServiceRecord r;
  r.config.name = "a";
  store.fail_writes = true;
  EXPECT_EQ(store.Save(r, true).code(), Code::kInternal);
  EXPECT_TRUE(store.records.empty());
  store.fail_writes = false;
  EXPECT_TRUE(store.Save(r, true).ok());
  EXPECT_EQ(store.records.size(), 1u);
}

}  // namespace
}  // namespace spawn
