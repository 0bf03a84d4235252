// ReplyCache alone: what a repeated RequestId finds, which replies are forgotten first, and what
// reaches the journal (a recording fake, and once the file journal across a restart).
#include "spawn/daemon/reply_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace spawn {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// Records what it is asked to remember; can be told to fail.
class RecordingJournal final : public CommandJournal {
 public:
  Result<JournalContents> Load() override { return JournalContents{}; }
  Result<uint64_t> Record(const BusMessage&, int64_t) override { return uint64_t{1}; }
  Status Done(uint64_t) override { return Status::Ok(); }
  Status Remember(const std::string& request_id, const std::string& reply) override {
    if (fail) return Status::Internal("disk full (RecordingJournal told to fail)");
    remembered.emplace_back(request_id, reply);
    return Status::Ok();
  }

  bool fail = false;
  std::vector<std::pair<std::string, std::string>> remembered;
};

TEST(ReplyCacheTest, ARepeatedRequestIdFindsItsFirstReply) {
  ReplyCache cache(8);
  EXPECT_EQ(cache.Find("d1"), std::nullopt);
  cache.Remember("d1", "accepted");
  EXPECT_EQ(cache.Find("d1"), "accepted");
  EXPECT_EQ(cache.Find("d1"), "accepted");  // finding it does not use it up
  cache.Remember("d1", "a second answer");  // the first reply stays the one repeated
  EXPECT_EQ(cache.Find("d1"), "accepted");
  EXPECT_EQ(cache.Find("other"), std::nullopt);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ReplyCacheTest, AnEmptyRequestIdIsNeitherRememberedNorFound) {
  RecordingJournal journal;
  ReplyCache cache(8);
  cache.SetJournal(&journal);
  cache.Remember("", "reply");
  EXPECT_EQ(cache.Find(""), std::nullopt);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(journal.remembered.empty());
}

TEST(ReplyCacheTest, BeyondCapacityTheLeastRecentlyUsedIsForgotten) {
  ReplyCache cache(3);
  cache.Remember("a", "A");
  cache.Remember("b", "B");
  cache.Remember("c", "C");
  ASSERT_EQ(cache.Find("a"), "A");  // used again: now the most recent
  cache.Remember("d", "D");         // forgets b, the least recently used
  EXPECT_EQ(cache.Find("b"), std::nullopt);
  EXPECT_EQ(cache.Find("a"), "A");
  EXPECT_EQ(cache.Find("c"), "C");
  EXPECT_EQ(cache.Find("d"), "D");
  EXPECT_EQ(cache.size(), 3u);
}

TEST(ReplyCacheTest, EachNewReplyIsRememberedInTheJournalOnce) {
  RecordingJournal journal;
  ReplyCache cache(8);
  cache.Remember("before", "not journaled");
  cache.SetJournal(&journal);
  cache.Remember("d1", "accepted");
  cache.Remember("d1", "again");  // a repeat is not a new reply
  cache.Remember("s1", "stopping");
  EXPECT_THAT(journal.remembered, ElementsAre(Pair("d1", "accepted"), Pair("s1", "stopping")));
}

TEST(ReplyCacheTest, AJournalFailureStillLeavesTheReplyInMemory) {
  RecordingJournal journal;
  journal.fail = true;
  ReplyCache cache(8);
  cache.SetJournal(&journal);
  cache.Remember("d1", "accepted");
  EXPECT_EQ(cache.Find("d1"), "accepted");
}

TEST(ReplyCacheTest, RestoredRepliesAreFoundNotJournaledAgainAndTheOldestGoesFirst) {
  RecordingJournal journal;
  ReplyCache cache(3);
  cache.SetJournal(&journal);
  cache.Restore({{"old", "O"}, {"mid", "M"}, {"new", "N"}});  // oldest first, as Load returns
  EXPECT_TRUE(journal.remembered.empty());
  EXPECT_EQ(cache.size(), 3u);
  cache.Remember("next", "X");  // forgets the oldest restored
  EXPECT_EQ(cache.Find("old"), std::nullopt);
  EXPECT_EQ(cache.Find("mid"), "M");
  EXPECT_EQ(cache.Find("new"), "N");
  EXPECT_EQ(cache.Find("next"), "X");
}

TEST(ReplyCacheTest, WithTheFileJournalRepliesSurviveARestart) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("reply-cache-" + std::to_string(getpid())))
          .string();
  std::filesystem::remove_all(dir);
  {
    auto journal = MakeFileCommandJournal(dir, 8);
    ASSERT_TRUE(journal->Load().ok());
    ReplyCache cache(8);
    cache.SetJournal(journal.get());
    cache.Remember("d1", "accepted");
    cache.Remember("s1", "stopping");
  }
  auto journal = MakeFileCommandJournal(dir, 8);
  auto recovered = journal->Load();
  ASSERT_TRUE(recovered.ok());
  ReplyCache restarted(8);
  restarted.SetJournal(journal.get());
  restarted.Restore(recovered->replies);
  EXPECT_EQ(restarted.Find("d1"), "accepted");
  EXPECT_EQ(restarted.Find("s1"), "stopping");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spawn
