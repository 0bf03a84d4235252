// The file-backed CommandJournal in a scratch directory: what one instance records is what the
// next one (a restarted spawnd) loads; records cut short by a crash are skipped; the replies file
// stays bounded.
#include "spawn/daemon/command_journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace spawn {
namespace {

class CommandJournalTest : public ::testing::Test {
 protected:
  CommandJournalTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("journal-test-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(dir_);
  }
  ~CommandJournalTest() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<CommandJournal> Open(size_t capacity = 8) {
    auto journal = MakeFileCommandJournal(dir_.string(), capacity);
    auto loaded = journal->Load();
    EXPECT_TRUE(loaded.ok()) << loaded.status().message();
    if (loaded.ok()) last_load_ = *loaded;
    return journal;
  }

  static std::string ReadBack(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::filesystem::path dir_;
  JournalContents last_load_;
};

TEST_F(CommandJournalTest, CommandsNotDoneAreLoadedAgainInArrivalOrderWithTheirBytes) {
  const std::string binary("\x82\x00\xff payload", 11);
  {
    auto journal = Open();
    EXPECT_TRUE(last_load_.pending.empty());
    auto first = journal->Record({"p/s.spawnpoint/slot/config", binary, 1, false}, 0);
    auto second = journal->Record({"p/s.spawnpoint/slot/restart", "two", 1, false}, 0);
    auto third = journal->Record({"p/s.spawnpoint/slot/stop", "three", 1, false}, 0);
    ASSERT_TRUE(first.ok() && second.ok() && third.ok());
    EXPECT_LT(*first, *second);
    EXPECT_LT(*second, *third);
    ASSERT_TRUE(journal->Done(*second).ok());
  }
  auto journal = Open();
  ASSERT_EQ(last_load_.pending.size(), 2u);
  EXPECT_EQ(last_load_.pending[0].message.topic, "p/s.spawnpoint/slot/config");
  EXPECT_EQ(last_load_.pending[0].message.payload, binary);
  EXPECT_EQ(last_load_.pending[1].message.payload, "three");
  EXPECT_EQ(last_load_.damaged, 0u);
  // New records come after the loaded ones.
  auto next = journal->Record({"t", "four", 1, false}, 0);
  ASSERT_TRUE(next.ok());
  EXPECT_GT(*next, last_load_.pending[1].sequence);
}

TEST_F(CommandJournalTest, RepliesAreRememberedAcrossInstancesUpToTheCapacity) {
  {
    auto journal = Open(3);
    for (int i = 1; i <= 5; ++i)
      ASSERT_TRUE(journal->Remember("id" + std::to_string(i), "reply" + std::to_string(i)).ok());
  }
  Open(3);
  ASSERT_EQ(last_load_.replies.size(), 3u);
  EXPECT_EQ(last_load_.replies[0], (std::pair<std::string, std::string>{"id3", "reply3"}));
  EXPECT_EQ(last_load_.replies[2], (std::pair<std::string, std::string>{"id5", "reply5"}));
}

TEST_F(CommandJournalTest, TheRepliesFileDoesNotGrowWithTheNumberOfReplies) {
  auto journal = Open(4);
  const auto file = dir_ / "replies.log";
  uintmax_t largest_after_warmup = 0;
  for (int i = 0; i < 400; ++i) {
    ASSERT_TRUE(journal->Remember("request-" + std::to_string(i), std::string(100, 'r')).ok());
    if (i == 40) largest_after_warmup = std::filesystem::file_size(file);
    if (i > 40) {
      EXPECT_LE(std::filesystem::file_size(file), 2 * largest_after_warmup) << i;
    }
  }
}

TEST_F(CommandJournalTest, RecordsCutShortByACrashAreSkippedAndTheRestKept) {
  {
    auto journal = Open();
    ASSERT_TRUE(journal->Record({"t", "whole", 1, false}, 0).ok());
    auto cut = journal->Record({"t", "cut short", 1, false}, 0);
    ASSERT_TRUE(cut.ok());
    ASSERT_TRUE(journal->Remember("a", "reply a").ok());
    ASSERT_TRUE(journal->Remember("b", "reply b").ok());
    // A crash in the middle of writing: the second command loses its tail, the replies file
    // gains half a record.
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      if (entry.path().extension() == ".cmd" &&
          entry.path().filename().string().find(std::to_string(*cut)) != std::string::npos) {
        std::filesystem::resize_file(entry.path(), entry.file_size() - 5);
      }
    }
    std::ofstream(dir_ / "replies.log", std::ios::app) << std::string("\x05\x00\x00", 3);
  }
  Open();
  ASSERT_EQ(last_load_.pending.size(), 1u);
  EXPECT_EQ(last_load_.pending[0].message.payload, "whole");
  ASSERT_EQ(last_load_.replies.size(), 2u);
  EXPECT_EQ(last_load_.replies[1].second, "reply b");
  EXPECT_EQ(last_load_.damaged, 2u);
  // The damage was cleaned up: a second load finds none.
  Open();
  EXPECT_EQ(last_load_.damaged, 0u);
  EXPECT_EQ(last_load_.pending.size(), 1u);
}

// A record as the previous spawnd wrote it (SPCMD1, no deadline), byte by byte: each field's
// length as a little-endian u64, the field, and at the end the FNV-1a hash of all before it.
std::string PreviousFormatRecord(const std::vector<std::string>& fields) {
  auto u64 = [](uint64_t v) {
    std::string out;
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return out;
  };
  std::string out;
  for (const auto& f : fields) out += u64(f.size()) + f;
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : out) hash = (hash ^ c) * 1099511628211ull;
  return out + u64(hash);
}

TEST_F(CommandJournalTest, ACommandsDeadlineIsLoadedWithIt) {
  {
    auto journal = Open();
    ASSERT_TRUE(journal->Record({"t", "expires", 1, false}, 1'700'000'000'123'456'789).ok());
    ASSERT_TRUE(journal->Record({"t", "never", 1, false}, 0).ok());
  }
  Open();
  ASSERT_EQ(last_load_.pending.size(), 2u);
  EXPECT_EQ(last_load_.pending[0].message.payload, "expires");
  EXPECT_EQ(last_load_.pending[0].deadline_unix_ns, 1'700'000'000'123'456'789);
  EXPECT_EQ(last_load_.pending[1].message.payload, "never");
  EXPECT_EQ(last_load_.pending[1].deadline_unix_ns, 0);
  EXPECT_EQ(last_load_.damaged, 0u);
}

// A command without a deadline is written exactly as the previous spawnd wrote it, so that going
// back to it loses nothing.
TEST_F(CommandJournalTest, ACommandWithoutADeadlineIsWrittenInThePreviousFormat) {
  ASSERT_TRUE(Open()->Record({"p/slot", "payload", 1, false}, 0).ok());
  EXPECT_EQ(ReadBack(dir_ / "00000000000000000001.cmd"),
            PreviousFormatRecord({"SPCMD1", "1", "p/slot", "payload"}));
}

TEST_F(CommandJournalTest, ARecordOfThePreviousFormatLoadsWithoutADeadline) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ / "00000000000000000007.cmd", std::ios::binary)
      << PreviousFormatRecord({"SPCMD1", "7", "p/s.spawnpoint/slot/stop", "old"});
  auto journal = Open();
  ASSERT_EQ(last_load_.pending.size(), 1u);
  EXPECT_EQ(last_load_.pending[0].sequence, 7u);
  EXPECT_EQ(last_load_.pending[0].message.topic, "p/s.spawnpoint/slot/stop");
  EXPECT_EQ(last_load_.pending[0].message.payload, "old");
  EXPECT_EQ(last_load_.pending[0].deadline_unix_ns, 0);
  EXPECT_EQ(last_load_.damaged, 0u);
  auto next = journal->Record({"t", "new", 1, false}, 5);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 8u);
}

TEST_F(CommandJournalTest, AnUnwritableDirectoryIsAnErrorNamingIt) {
  auto journal = MakeFileCommandJournal("/proc/no-such-journal", 4);
  auto loaded = journal->Load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("/proc/no-such-journal"), std::string::npos);
}

}  // namespace
}  // namespace spawn
