#include "spawn/daemon/log_history.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace spawn {
namespace {

struct CopiedLine {
  int64_t time;
  std::string stream, contents;
  friend bool operator==(const CopiedLine&, const CopiedLine&) = default;
};

std::vector<CopiedLine> Kept(const LogHistory& history, int64_t since = 0) {
  std::vector<CopiedLine> lines;
  history.ForEachSince(since, [&](const LogHistory::Line& line) {
    lines.push_back({line.time_unix_ns, std::string(line.stream), std::string(line.contents)});
  });
  return lines;
}

TEST(LogHistoryTest, KeepsLinesInOrderWithTheirStreamsAndTimes) {
  LogHistory history(10, 1000);
  history.Add(1, "stdout", "one");
  history.Add(2, "stderr", "");
  history.Add(3, "spawnd", "[INFO] three");
  EXPECT_EQ(Kept(history),
            (std::vector<CopiedLine>{
                {1, "stdout", "one"}, {2, "stderr", ""}, {3, "spawnd", "[INFO] three"}}));
  EXPECT_EQ(history.lines(), 3u);
  EXPECT_EQ(history.bytes(), 15u);
}

TEST(LogHistoryTest, SinceSkipsOlderLines) {
  LogHistory history(10, 1000);
  for (int64_t t = 1; t <= 5; ++t) history.Add(t * 100, "stdout", std::to_string(t));
  const auto lines = Kept(history, 300);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines.front().contents, "3");
  EXPECT_TRUE(Kept(history, 501).empty());
}

TEST(LogHistoryTest, TheLineBoundDropsTheOldest) {
  LogHistory history(3, 1000);
  for (int64_t t = 1; t <= 7; ++t) history.Add(t, "stdout", "line " + std::to_string(t));
  const auto lines = Kept(history);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines.front().contents, "line 5");
  EXPECT_EQ(lines.back().contents, "line 7");
  EXPECT_EQ(history.bytes(), 18u);
}

TEST(LogHistoryTest, TheByteBoundDropsTheOldestAndALongLineIsKeptAlone) {
  LogHistory history(100, 10);
  history.Add(1, "stdout", "aaaa");
  history.Add(2, "stdout", "bbbb");
  history.Add(3, "stdout", "cccc");  // 12 bytes: "aaaa" goes
  EXPECT_EQ(Kept(history).front().contents, "bbbb");
  EXPECT_EQ(history.bytes(), 8u);
  history.Add(4, "stdout", std::string(25, 'z'));
  const auto lines = Kept(history);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines.front().contents, std::string(25, 'z'));
}

TEST(LogHistoryTest, StreamNamesAreCutTo255Bytes) {
  LogHistory history(10, 1000);
  history.Add(1, std::string(300, 's'), "x");
  EXPECT_EQ(Kept(history).front().stream, std::string(255, 's'));
  EXPECT_EQ(Kept(history).front().contents, "x");
}

// A long run through the dropping and cutting: the newest lines are intact and the buffer holds
// about what they take, not what went through it.
TEST(LogHistoryTest, AfterManyLinesTheNewestAreIntactAndTheBufferStaysBounded) {
  constexpr size_t kLines = 500, kBytes = 32 * 1024;
  LogHistory history(kLines, kBytes);
  size_t most_held = 0;
  for (int64_t t = 0; t < 100000; ++t) {
    // Lengths vary, so that either bound may be the one that drops.
    history.Add(t, t % 3 ? "stdout" : "stderr",
                std::to_string(t) + std::string(static_cast<size_t>(t % 97), '.'));
    most_held = std::max(most_held, history.capacity());
  }
  const auto lines = Kept(history);
  ASSERT_EQ(lines.size(), history.lines());
  ASSERT_GT(lines.size(), 100u);
  for (size_t i = 0; i < lines.size(); ++i) {
    const int64_t t = 100000 - static_cast<int64_t>(lines.size() - i);
    ASSERT_EQ(lines[i].time, t);
    ASSERT_EQ(lines[i].stream, t % 3 ? "stdout" : "stderr");
    ASSERT_EQ(lines[i].contents, std::to_string(t) + std::string(static_cast<size_t>(t % 97), '.'));
  }
  EXPECT_LE(history.bytes(), kBytes);
  // The kept records (contents plus 13 + 6 bytes each), a quarter more of dropped ones, and the
  // string's doubling growth: within 2.5 times the records themselves.
  const size_t records = history.bytes() + history.lines() * (13 + 6);
  EXPECT_LE(most_held, records * 5 / 2);
}

}  // namespace
}  // namespace spawn
