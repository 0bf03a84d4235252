// Daemon on the DaemonTest fixture (daemon_fixture.h): service logs on the bus, and the history
// the logs slot returns.
#include <gtest/gtest.h>

#include "daemon_fixture.h"

namespace spawn::daemon_testing {
namespace {

using namespace std::chrono_literals;

TEST_F(DaemonTest, LogsArePublishedAndTheLogsSlotMergesTheEnginesOutputWithSpawndsOwnLines) {
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
  // The engine kept the container's line, stamped as it received it.
  supervisor_.output["web"] = {LogLine{"stdout", "hello", since}};

  Send(topics::LogsSlot(kPath), proto::Encode(proto::LogsRequest{"all", "web", 0}));
  auto all = SeenOn(topics::LogsReply(kPath, "all"));
  ASSERT_EQ(all.size(), 2u);
  auto first = proto::DecodeLogsReply(all[0].payload);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->request_id, "all");
  EXPECT_EQ(first->messages, live);  // in time order, the container's line among spawnd's
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

TEST_F(DaemonTest, ContainerOutputIsNotKeptTheEnginesLastLinesComeInSeveralReplies) {
  StartDaemon();
  // Output published live is not kept: without the engine's copy, the answer is empty.
  for (size_t i = 0; i < 2 * Daemon::kLogLinesKept; ++i)
    daemon_->OnServiceLog("web", "stdout", "live " + std::to_string(i));
  Settle();
  EXPECT_TRUE(AskHistory("live", "web").empty());

  for (size_t i = 0; i < Daemon::kLogLinesKept + 20; ++i)
    supervisor_.output["web"].push_back({"stdout", "line " + std::to_string(i), int64_t(i + 1)});
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
  ASSERT_EQ(got.size(), Daemon::kLogLinesKept);  // what the daemon asked the engine for
  EXPECT_EQ(got.front().contents, "line 20");
  EXPECT_EQ(got.back().contents, "line " + std::to_string(Daemon::kLogLinesKept + 19));
  EXPECT_EQ(got.back().sp_alias, "alpha");
  EXPECT_EQ(got.back().service, "web");
}

TEST_F(DaemonTest, SpawndKeepsTheLastOfItsOwnLinesWithinTheBoundsAndForgetsThemOnPurge) {
  StartDaemon();
  // Long lines: the byte bound keeps fewer of them; one longer than the bound is kept alone.
  for (size_t i = 0; i < 100; ++i)
    daemon_->OnServiceLog("web", "spawnd", std::string(1000, 'a' + i % 26));
  Settle();
  auto got = AskHistory("long", "web");
  ASSERT_EQ(got.size(), Daemon::kLogBytesKept / 1000);
  EXPECT_EQ(got.back().contents, std::string(1000, 'a' + 99 % 26));
  EXPECT_EQ(got.back().stream, "spawnd");
  daemon_->OnServiceLog("web", "spawnd", std::string(Daemon::kLogBytesKept + 1, 'z'));
  Settle();
  got = AskHistory("huge", "web");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].contents.size(), Daemon::kLogBytesKept + 1);

  // A purge forgets the history.
  daemon_->OnServicePurged("web");
  Send(topics::LogsSlot(kPath), proto::Encode(proto::LogsRequest{"h2", "web", 0}));
  EXPECT_EQ(SeenOn(topics::LogsReply(kPath, "h2")).size(), 1u);
}

TEST_F(DaemonTest, WhenTheEngineCannotGiveTheOutputTheAnswerSaysSoBesideSpawndsLines) {
  StartDaemon();
  daemon_->OnServiceLog("web", "spawnd", "[INFO] Launching service...");
  Settle();
  supervisor_.output_error = Status::Unavailable("cannot reach the engine at /var/run/docker.sock");
  auto got = AskHistory("down", "web");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].contents, "[INFO] Launching service...");
  EXPECT_EQ(got[1].stream, "spawnd");
  EXPECT_EQ(got[1].contents,
            "[ERROR] The engine did not give the container's output: cannot reach the engine at "
            "/var/run/docker.sock");
  EXPECT_EQ(supervisor_.reads, (std::vector<std::string>{"web"}));
}

}  // namespace
}  // namespace spawn::daemon_testing
