// spawnd's command line, parsed from argument vectors as a shell would pass them. CLI11 prints
// help and usage errors; the tests look at what is returned.
#include "spawn/daemon/spawnd_cli.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace spawn {
namespace {

class SpawndCliTest : public ::testing::Test {
 protected:
  SpawndCliTest()
      : config_(std::filesystem::temp_directory_path() /
                ("spawnd-cli-" + std::to_string(getpid()) + ".yml")) {
    std::ofstream(config_) << "path: test/spawnpoint/alpha\n";
  }
  ~SpawndCliTest() override { std::filesystem::remove(config_); }

  static SpawndCommandLine Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "spawnd");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return ParseSpawndCommandLine(static_cast<int>(argv.size()), argv.data());
  }

  const std::filesystem::path config_;
};

TEST_F(SpawndCliTest, RunTakesTheConfigTheMetadataAndTheLogLevel) {
  const auto parsed = Parse({"run", "-c", config_, "--metadata", config_, "--log-level", "debug"});
  EXPECT_EQ(parsed.exit_code, std::nullopt);
  EXPECT_EQ(parsed.config_path, config_.string());
  EXPECT_EQ(parsed.metadata_path, config_.string());
  EXPECT_EQ(parsed.log_level, "debug");
}

TEST_F(SpawndCliTest, MetadataIsOptionalAndTheLogLevelIsInfo) {
  const auto parsed = Parse({"run", "--config", config_});
  EXPECT_EQ(parsed.exit_code, std::nullopt);
  EXPECT_TRUE(parsed.metadata_path.empty());
  EXPECT_EQ(parsed.log_level, "info");
}

// As the original spawnd: without -c, config.yml in the working directory.
TEST_F(SpawndCliTest, WithoutAConfigItIsConfigYmlInTheWorkingDirectory) {
  const auto parsed = Parse({"run"});
  EXPECT_EQ(parsed.exit_code, std::nullopt);
  EXPECT_EQ(parsed.config_path, "config.yml");
}

TEST_F(SpawndCliTest, HelpAndVersionExitAtOnceWithZero) {
  EXPECT_EQ(Parse({"--help"}).exit_code, 0);
  EXPECT_EQ(Parse({"--version"}).exit_code, 0);
}

TEST_F(SpawndCliTest, AUsageErrorExitsAtOnceWithNonZero) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{}, {"run", "--no-such-flag"}, {"serve", "-c", config_.string()}}) {
    const auto parsed = Parse(args);
    ASSERT_TRUE(parsed.exit_code.has_value()) << ::testing::PrintToString(args);
    EXPECT_NE(*parsed.exit_code, 0) << ::testing::PrintToString(args);
  }
}

}  // namespace
}  // namespace spawn
