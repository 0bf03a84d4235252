#include "spawn/client/settings.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace spawn {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class HistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("spawnclient_history_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    file_ = (dir_ / ".spawnpoint_history").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string file_;
};

TEST(DefaultsTest, FromTheEnvironment) {
  CliDefaults d = DefaultsFromEnvironment(FakeEnv({{"SPAWNPOINT_BROKER", "ssl://b:8883"},
                                                   {"SPAWNPOINT_DEFAULT_URI", "ns/sp/alpha"},
                                                   {"SPAWNPOINT_MQTT_VERSION", "3.1.1"},
                                                   {"HOME", "/home/ann"}}));
  EXPECT_EQ(d.broker, "ssl://b:8883");
  EXPECT_EQ(d.uri, "ns/sp/alpha");
  EXPECT_EQ(d.mqtt_version, "3.1.1");
  EXPECT_EQ(d.history_file, "/home/ann/.spawnpoint_history");
}

TEST(DefaultsTest, WithoutTheEnvironment) {
  CliDefaults d = DefaultsFromEnvironment(FakeEnv({}));
  EXPECT_EQ(d.broker, "tcp://127.0.0.1:1883");
  EXPECT_EQ(d.uri, "");
  EXPECT_EQ(d.mqtt_version, "5");
  EXPECT_EQ(d.history_file, "./.spawnpoint_history");
}

TEST_F(HistoryTest, RecordsAndReturnsTheLastDeployment) {
  EXPECT_EQ(LastHistoryEntry(file_).status().code(), Code::kNotFound);
  ASSERT_TRUE(AppendHistory(file_, {"ns/sp/alpha", "/srv/a/deploy.yml", "a"}).ok());
  ASSERT_TRUE(AppendHistory(file_, {"ns/sp/beta", "/srv/b/deploy.yml", "b"}).ok());
  auto last = LastHistoryEntry(file_);
  ASSERT_TRUE(last.ok()) << last.status().message();
  EXPECT_EQ(*last, (HistoryEntry{"ns/sp/beta", "/srv/b/deploy.yml", "b"}));
  struct stat st {};
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(HistoryTest, SkipsMalformedLines) {
  {
    std::ofstream out(file_);
    out << "ns/sp/alpha\t/srv/a.yml\ta\n\ngarbage\n";
  }
  auto last = LastHistoryEntry(file_);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->uri, "ns/sp/alpha");
  {
    std::ofstream out(file_);
    out << "garbage only\n";
  }
  EXPECT_EQ(LastHistoryEntry(file_).status().code(), Code::kNotFound);
}

TEST_F(HistoryTest, RefusesFieldsThatWouldBreakTheFormat) {
  EXPECT_EQ(AppendHistory(file_, {"ns\tx", "/a.yml", "a"}).code(), Code::kBadRequest);
  EXPECT_EQ(AppendHistory((dir_ / "no" / "such" / "dir").string(), {"u", "/a.yml", "a"}).code(),
            Code::kInternal);
}

TEST(SinceTest, WindowBackFromNow) {
  const int64_t now = 1000LL * 1000000000;
  EXPECT_EQ(*SinceToUnixNs("10m", now), now - 600LL * 1000000000);
  EXPECT_EQ(*SinceToUnixNs("0s", now), 0);
  EXPECT_EQ(*SinceToUnixNs("", now), 0);
  auto bad = SinceToUnixNs("ten minutes", now);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("--since"), std::string::npos);
}

TEST(ExpiryTest, WholeSecondsRoundedUpAndZeroForNever) {
  EXPECT_EQ(*ParseExpiry("10m"), std::chrono::seconds(600));
  EXPECT_EQ(*ParseExpiry("1500ms"), std::chrono::seconds(2));
  EXPECT_EQ(*ParseExpiry("0s"), std::chrono::seconds(0));
  auto bad = ParseExpiry("soon");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kBadRequest);
  EXPECT_NE(bad.status().message().find("--expire"), std::string::npos);
}

}  // namespace
}  // namespace spawn
