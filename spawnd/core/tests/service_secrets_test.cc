#include "spawn/core/service_secrets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "spawn/common/files.h"

namespace spawn {
namespace {

namespace fs = std::filesystem;

class FileServiceSecretsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    std::error_code error;
    fs::permissions(dir_ + "/secrets/svc", fs::perms::owner_all, error);
    fs::remove_all(dir_, error);
  }

  static struct stat Stat(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st;
  }

  const std::string dir_ =
      (fs::temp_directory_path() / ("secrets-test-" + std::to_string(getpid()))).string();
  std::unique_ptr<ServiceSecrets> secrets_ = MakeFileServiceSecrets(dir_);
};

TEST_F(FileServiceSecretsTest, WritesTheFilesReadOnlyForTheirOwner) {
  const int uid = static_cast<int>(::geteuid()), gid = static_cast<int>(::getegid());
  auto path = secrets_->Write("svc", {{"entity.key", "key"}, {"broker.password", "pw"}}, uid, gid);
  ASSERT_TRUE(path.ok()) << path.status().message();
  EXPECT_EQ(*path, dir_ + "/secrets/svc");
  EXPECT_EQ(*ReadFile(*path + "/entity.key"), "key");
  EXPECT_EQ(*ReadFile(*path + "/broker.password"), "pw");
  EXPECT_EQ(Stat(*path).st_mode & 07777, 0500u);
  EXPECT_EQ(Stat(*path + "/entity.key").st_mode & 07777, 0400u);
  EXPECT_EQ(Stat(dir_ + "/secrets").st_mode & 07777, 0700u);  // nobody else looks in

  // Rewritten with fewer files: exactly those remain.
  ASSERT_TRUE(secrets_->Write("svc", {{"ca.pem", "ca"}}, uid, gid).ok());
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(*path)) names.push_back(e.path().filename());
  EXPECT_THAT(names, ::testing::ElementsAre("ca.pem"));

  ASSERT_TRUE(secrets_->Remove("svc").ok());
  EXPECT_FALSE(fs::exists(*path));
  EXPECT_TRUE(secrets_->Remove("svc").ok());  // removing what is gone is ok
}

TEST_F(FileServiceSecretsTest, FilesBelongToTheServicesUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "giving files to another user needs root";
  auto path = secrets_->Write("svc", {{"entity.key", "key"}}, 1000, 1001);
  ASSERT_TRUE(path.ok()) << path.status().message();
  for (const std::string& p : {*path, *path + "/entity.key"}) {
    EXPECT_EQ(Stat(p).st_uid, 1000u) << p;
    EXPECT_EQ(Stat(p).st_gid, 1001u) << p;
  }
}

TEST_F(FileServiceSecretsTest, AnotherUsersSecretsNeedRoot) {
  if (::geteuid() == 0) GTEST_SKIP() << "root may give files away";
  auto path = secrets_->Write("svc", {{"entity.key", "key"}}, 4242, 4242);
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), Code::kForbidden);
  EXPECT_THAT(path.status().message(), ::testing::HasSubstr("4242:4242"));
}

}  // namespace
}  // namespace spawn
