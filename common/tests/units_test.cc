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

TEST(ParseSizeTest, HugeNumbersAreRefusedNotOverflowed) {
  for (const char* text : {"1099511627776G", "9223372036854775807M", "99999999999999999999999G"}) {
    auto parsed = ParseSize(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.status().message().find("is too large; expected at most 8388608G"),
              std::string::npos)
        << parsed.status().message();
  }
  EXPECT_EQ(*ParseSize("8388608G"), int64_t{1} << 53);
  EXPECT_EQ(ParseSize("0M").status().message(),
            "\"0M\" is not a size; expected a number more than zero with M or G, like 512M");
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

// Decimal fractions are exact, as in Go: binary floating point would make 2.3s 2299ms.
TEST(ParseDurationTest, FractionsAreExact) {
  EXPECT_EQ(*ParseDuration("2.3s"), milliseconds(2300));
  EXPECT_EQ(*ParseDuration("0.001s"), milliseconds(1));
  EXPECT_EQ(*ParseDuration(".5s"), milliseconds(500));
  EXPECT_EQ(*ParseDuration("1.s"), seconds(1));
  EXPECT_EQ(*ParseDuration("0.1h"), minutes(6));
  EXPECT_EQ(*ParseDuration("4.1m"), milliseconds(246000));
  EXPECT_EQ(*ParseDuration("1.0000000000000000000000001s"), seconds(1));
  EXPECT_EQ(*ParseDuration("999999ns"), milliseconds(0));
  EXPECT_EQ(*ParseDuration("1000\xC2\xB5s"), milliseconds(1));
  EXPECT_EQ(*ParseDuration("+5s"), seconds(5));
}

TEST(ParseDurationTest, OverflowIsAnError) {
  for (const std::string& text : {std::string("9223372036854775808ns"), std::string("3000000h"),
                                  std::string("2562047h48m"), "1" + std::string(400, '0') + "s"}) {
    auto parsed = ParseDuration(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.status().message().find("is too long"), std::string::npos) << text;
  }
  EXPECT_EQ(*ParseDuration("2562047h"), hours(2562047));
}

TEST(ParseDurationTest, RejectsMalformed) {
  for (const char* text : {"", "30", "s", "5x", "1..5s", "-5s", "5 s", "h1", ".s", "+", "1h30",
                           "5S", "1e3s", "5sec"}) {
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
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(hours(2) + milliseconds(5)), "2h0.005s");
  EXPECT_EQ(*ParseDuration(FormatDuration(hours(2) + milliseconds(5))), hours(2) + milliseconds(5));
  EXPECT_EQ(ParseDuration("-5s").status().message(),
            "\"-5s\" is negative; expected a duration of zero or more, like 30s");
}

}  // namespace
}  // namespace spawn
