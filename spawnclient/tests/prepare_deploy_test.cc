// PrepareDeploy: reading a deploy.yml and packing what it ships, before anything is sent.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "spawn/client/client.h"
#include "spawn/common/tar.h"

namespace spawn {
namespace {

class PrepareDeployTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("spawnclient_deploy_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "svc" / "data" / "inner");
    Write("svc/params.yml", "rate: 5\n");
    Write("svc/data/a.txt", "A");
    Write("svc/data/inner/b.txt", "B");
    Write("svc/entity.key", "secret");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  std::string Yaml(const std::string& extra) {
    Write("svc/deploy.yml",
          "name: demo\nimage: busybox\nrun: [sh, -c, 'cat params.yml']\nmemAlloc: 64M\n"
          "cpuShares: 512\n" +
              extra);
    return (dir_ / "svc" / "deploy.yml").string();
  }
  std::filesystem::path dir_;
};

TEST_F(PrepareDeployTest, PacksFilesAndDirsUnderTheirBaseNames) {
  auto request = PrepareDeploy(
      Yaml("includedFiles: [params.yml]\nincludedDirs: [data/]\nentity: entity.key\n"),
      std::nullopt, true);
  ASSERT_TRUE(request.ok()) << request.status().message();
  EXPECT_EQ(request->config.name, "demo");
  EXPECT_TRUE(request->replace);
  EXPECT_EQ(request->request_id.size(), 32u);
  EXPECT_EQ(request->entity, "secret");
  auto entries = ReadTar(request->archive);
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  std::map<std::string, std::string> files;
  for (const auto& e : *entries) {
    if (e.type == TarEntry::Type::kFile) files[e.path] = e.contents;
  }
  EXPECT_EQ(files,
            (std::map<std::string, std::string>{
                {"params.yml", "rate: 5\n"}, {"data/a.txt", "A"}, {"data/inner/b.txt", "B"}}));
}

TEST_F(PrepareDeployTest, AbsolutePathsAndNameOverride) {
  auto request = PrepareDeploy(
      Yaml("includedFiles: [" + (dir_ / "svc" / "params.yml").string() + "]\n"), "other", false);
  ASSERT_TRUE(request.ok()) << request.status().message();
  EXPECT_EQ(request->config.name, "other");
  auto entries = ReadTar(request->archive);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].path, "params.yml");
}

TEST_F(PrepareDeployTest, NothingIncludedMeansNoArchive) {
  auto request = PrepareDeploy(Yaml(""), std::nullopt, false);
  ASSERT_TRUE(request.ok()) << request.status().message();
  EXPECT_TRUE(request->archive.empty());
  EXPECT_TRUE(request->entity.empty());
}

TEST_F(PrepareDeployTest, MissingFileIsAnErrorNamingTheKey) {
  auto request = PrepareDeploy(Yaml("includedFiles: [nope.yml]\n"), std::nullopt, false);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.status().code(), Code::kBadRequest);
  EXPECT_NE(request.status().message().find("includedFiles"), std::string::npos);
  EXPECT_NE(request.status().message().find("nope.yml"), std::string::npos);
}

TEST_F(PrepareDeployTest, MissingDirAndEntityAreErrors) {
  auto dir = PrepareDeploy(Yaml("includedDirs: [params.yml]\n"), std::nullopt, false);
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("includedDirs"), std::string::npos);
  auto entity = PrepareDeploy(Yaml("entity: missing.key\n"), std::nullopt, false);
  ASSERT_FALSE(entity.ok());
  EXPECT_NE(entity.status().message().find("entity"), std::string::npos);
}

TEST_F(PrepareDeployTest, InvalidConfigGivesTheParsersError) {
  auto request = PrepareDeploy(Yaml("memAlloc: 12X\n"), std::nullopt, false);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.status().code(), Code::kBadRequest);
  EXPECT_NE(request.status().message().find("memAlloc"), std::string::npos)
      << request.status().message();
}

// HOME set for one test, and put back after it.
class ScopedHome {
 public:
  explicit ScopedHome(const char* home) {
    if (const char* old = std::getenv("HOME")) old_ = old;
    if (home)
      ::setenv("HOME", home, 1);
    else
      ::unsetenv("HOME");
  }
  ~ScopedHome() {
    if (old_)
      ::setenv("HOME", old_->c_str(), 1);
    else
      ::unsetenv("HOME");
  }

 private:
  std::optional<std::string> old_;
};

TEST_F(PrepareDeployTest, TildeIsTheUsersHomeAsInTheOriginalsExamples) {
  std::filesystem::create_directories(dir_ / "home" / "keys");
  std::filesystem::create_directories(dir_ / "home" / "conf" / "sub");
  Write("home/keys/svc.key", "home secret");
  Write("home/params.yml", "rate: 7\n");
  Write("home/conf/sub/c.txt", "C");
  ScopedHome home((dir_ / "home").c_str());
  auto request = PrepareDeploy(Yaml("entity: ~/keys/svc.key\nincludedFiles: [~/params.yml]\n"
                                    "includedDirs: [~/conf]\n"),
                               std::nullopt, false);
  ASSERT_TRUE(request.ok()) << request.status().message();
  EXPECT_EQ(request->entity, "home secret");
  auto entries = ReadTar(request->archive);
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  std::map<std::string, std::string> files;
  for (const auto& e : *entries) {
    if (e.type == TarEntry::Type::kFile) files[e.path] = e.contents;
  }
  // Under their base names, as any included path (svc/params.yml beside the YAML is not taken).
  EXPECT_EQ(files, (std::map<std::string, std::string>{{"params.yml", "rate: 7\n"},
                                                       {"conf/sub/c.txt", "C"}}));
  // The config sent keeps the paths as written.
  EXPECT_EQ(request->config.entity, "~/keys/svc.key");
  // A missing file under ~ names where it was looked for.
  auto missing = PrepareDeploy(Yaml("entity: ~/keys/nope.key\n"), std::nullopt, false);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find((dir_ / "home" / "keys" / "nope.key").string()),
            std::string::npos)
      << missing.status().message();
}

TEST_F(PrepareDeployTest, TildeWithoutHomeIsAnErrorNamingTheKey) {
  ScopedHome home(nullptr);
  auto request = PrepareDeploy(Yaml("includedDirs: [~/conf]\n"), std::nullopt, false);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.status().code(), Code::kBadRequest);
  EXPECT_NE(request.status().message().find(
                "includedDirs: \"~/conf\" starts with ~ (the home directory) but HOME is not set"),
            std::string::npos)
      << request.status().message();
  // A ~ elsewhere in a path is an ordinary character, resolved against the YAML's folder.
  Write("svc/a~b.txt", "T");
  EXPECT_TRUE(PrepareDeploy(Yaml("includedFiles: [a~b.txt]\n"), std::nullopt, false).ok());
}

TEST(NewRequestIdTest, FreshHex128) {
  const std::string a = NewRequestId(), b = NewRequestId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace spawn
