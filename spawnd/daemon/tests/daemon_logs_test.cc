// Daemon on the DaemonTest fixture (daemon_fixture.h): service logs on the bus, and the history
// the logs slot returns.
#include <gtest/gtest.h>

#include "daemon_fixture.h"

namespace spawn::daemon_testing {
namespace {

using namespace std::chrono_literals;

TEST_F(DaemonTest, LogsArePublishedAndTheLogsSlotReturnsHistorySinceAndATerminator) {
  StartDaemon();
  daemon_->OnServiceLog("web", "spawnd", "[INFO] Launching service...");
  loop_.AdvanceBy(1s);
  const int64_t since = ToUnixNanos(loop_.WallNow());
  daemon_->OnServiceLog("web", "stdout", "hello");
  daemon_->OnServiceLog("web", "spawnd", "[SUCCESS] Service container has started");
  daemon_->OnServiceLog("db", "stdout", "other");
  Settle();
  auto live = LogsOn("web");
  ASSERT_EQ(live.size(), 3u);
  EXPECT_EQ(live[1].contents, "hello");
  EXPECT_EQ(live[1].stream, "stdout");
  EXPECT_EQ(live[1].service, "web");

  Send(topics::LogsSlot(kPath), proto::Encode(proto::LogsRequest{"all", "web", 0}));
  auto all = SeenOn(topics::LogsReply(kPath, "all"));
  ASSERT_EQ(all.size(), 2u);
  auto first = proto::DecodeLogsReply(all[0].payload);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->request_id, "all");
  EXPECT_EQ(first->messages, live);
  EXPECT_TRUE(proto::DecodeLogsReply(all[1].payload)->messages.empty());

  Send(topics::LogsSlot(kPath), proto::Encode(proto::LogsRequest{"since", "web", since}));
  auto recent = SeenOn(topics::LogsReply(kPath, "since"));
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(proto::DecodeLogsReply(recent[0].payload)->messages.size(), 2u);

  Send(topics::LogsSlot(kPath), proto::Encode(proto::LogsRequest{"none", "nobody", 0}));
  auto none = SeenOn(topics::LogsReply(kPath, "none"));
  ASSERT_EQ(none.size(), 1u);  // just the terminator
  EXPECT_TRUE(proto::DecodeLogsReply(none[0].payload)->messages.empty());
}

TEST_F(DaemonTest, HistoryKeepsTheLastLinesAndALongOneComesInSeveralReplies) {
  StartDaemon();
  for (size_t i = 0; i < Daemon::kLogLinesKept + 20; ++i)
    daemon_->OnServiceLog("web", "stdout", "line " + std::to_string(i));
  Settle();
  Send(topics::LogsSlot(kPath), proto::Encode(proto::LogsRequest{"h", "web", 0}));
  std::vector<proto::LogMessage> got;
  auto replies = SeenOn(topics::LogsReply(kPath, "h"));
  ASSERT_FALSE(replies.empty());
  for (const auto& r : replies) {
    auto decoded = proto::DecodeLogsReply(r.payload);
    ASSERT_TRUE(decoded.ok());
    EXPECT_LE(decoded->messages.size(), Daemon::kLogLinesPerReply);
    got.insert(got.end(), decoded->messages.begin(), decoded->messages.end());
  }
  EXPECT_TRUE(proto::DecodeLogsReply(replies.back().payload)->messages.empty());
  ASSERT_EQ(got.size(), Daemon::kLogLinesKept);
  EXPECT_EQ(got.front().contents, "line 20");
  EXPECT_EQ(got.back().contents, "line " + std::to_string(Daemon::kLogLinesKept + 19));

  // Long lines: the byte bound keeps fewer of them; one longer than the bound is kept alone.
  for (size_t i = 0; i < 100; ++i)
    daemon_->OnServiceLog("web", "stderr", std::string(1000, 'a' + i % 26));
  Settle();
  got = AskHistory("long", "web");
  ASSERT_EQ(got.size(), Daemon::kLogBytesKept / 1000);
  EXPECT_EQ(got.back().contents, std::string(1000, 'a' + 99 % 26));
  EXPECT_EQ(got.back().stream, "stderr");
  EXPECT_EQ(got.back().service, "web");
  EXPECT_EQ(got.back().sp_alias, "alpha");
  daemon_->OnServiceLog("web", "stdout", std::string(Daemon::kLogBytesKept + 1, 'z'));
  Settle();
  got = AskHistory("huge", "web");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].contents.size(), Daemon::kLogBytesKept + 1);

  // A purge forgets the history.
  daemon_->OnServicePurged("web");
  Send(topics::LogsSlot(kPath), proto::Encode(proto::LogsRequest{"h2", "web", 0}));
  EXPECT_EQ(SeenOn(topics::LogsReply(kPath, "h2")).size(), 1u);
}

}  // namespace
}  // namespace spawn::daemon_testing
