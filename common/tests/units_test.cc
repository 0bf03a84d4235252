#include "spawn/common/units.h"

#include <gtest/gtest.h>

namespace spawn {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ParseSizeTest, AcceptsMegabytesAndGigabytesInEitherCase) {
  EXPECT_EQ(*ParseSize("512M"), 512 * kMiB);
  EXPECT_EQ(*ParseSize("512m"), 512 * kMiB);
  EXPECT_EQ(*ParseSize("4G"), 4096 * kMiB);
  EXPECT_EQ(*ParseSize("4g"), 4096 * kMiB);
}

TEST(ParseSizeTest, RejectsWithTheValueAndWhatWasExpected) {
  auto bad = ParseSize("12X");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "\"12X\" is not a size; expected a number with M or G, like 512M");
  for (const char* text : {"", "M", "12", "1.5G", "-5M", "0M", "abcM", " 5M"}) {
    EXPECT_FALSE(ParseSize(text).ok()) << text;
  }
  EXPECT_NE(ParseSize("99999999999999G").status().message().find("too large"), std::string::npos);
}

TEST(FormatSizeTest, ShortestExactForm) {
  EXPECT_EQ(FormatSize(512 * kMiB), "512M");
  EXPECT_EQ(FormatSize(4096 * kMiB), "4G");
  EXPECT_EQ(FormatSize(kMiB + 1), "2M");
}

TEST(ParseDurationTest, GoSyntax) {
  EXPECT_EQ(*ParseDuration("30s"), seconds(30));
  EXPECT_EQ(*ParseDuration("5m"), minutes(5));
  EXPECT_EQ(*ParseDuration("1h30m"), minutes(90));
  EXPECT_EQ(*ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(*ParseDuration("1.5h"), minutes(90));
  EXPECT_EQ(*ParseDuration("0s"), milliseconds(0));
  EXPECT_EQ(*ParseDuration("0"), milliseconds(0));
  EXPECT_EQ(*ParseDuration("1500us"), milliseconds(1));
  EXPECT_EQ(*ParseDuration("2h3m4s5ms"), hours(2) + minutes(3) + seconds(4) + milliseconds(5));
}

TEST(ParseDurationTest, RejectsMalformed) {
  for (const char* text : {"", "30", "s", "5x", "1..5s", "-5s", "5 s", "h1"}) {
    EXPECT_FALSE(ParseDuration(text).ok()) << text;
  }
  EXPECT_EQ(
      ParseDuration("5x").status().message(),
      "\"5x\" is not a duration; expected a number with a unit (ms, s, m, h), like 30s or 1h30m");
}

TEST(FormatDurationTest, RoundTrips) {
  for (const char* text : {"0s", "250ms", "30s", "5m", "1h30m", "1h0m5s", "2.5s"}) {
    auto parsed = ParseDuration(text);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(*ParseDuration(FormatDuration(*parsed)), *parsed) << text;
  }
  EXPECT_EQ(FormatDuration(minutes(90)), "1h30m");
  EXPECT_EQ(FormatDuration(milliseconds(2500)), "2.5s");
}

}  // namespace
}  // namespace spawn
