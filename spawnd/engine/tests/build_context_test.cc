#include "build_context.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spawn/common/tar.h"

namespace spawn {
namespace {

using ::testing::HasSubstr;

TEST(BuildContextTest, HoldsTheDockerfileAndEveryIncludedEntry) {
  TarWriter w;
  w.AddFile("params.yml", "a: 1\n", 0600);
  w.AddDirectory("data");
  w.AddFile("data/x.bin", "xyz", 0755);
  auto context = MakeBuildContext("FROM x\n", w.Finish());
  ASSERT_TRUE(context.ok());
  auto entries = ReadTar(*context);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 4u);
  EXPECT_EQ((*entries)[0].path, kDockerfileName);
  EXPECT_EQ((*entries)[0].contents, "FROM x\n");
  EXPECT_EQ((*entries)[1].mode, 0600u);
  EXPECT_EQ((*entries)[3].path, "data/x.bin");
  EXPECT_EQ((*entries)[3].mode, 0755u);
}

TEST(BuildContextTest, RefusesAnUnsafeArchive) {
  TarWriter w;
  w.AddFile("../escape", "x");
  auto context = MakeBuildContext("FROM x\n", w.Finish());
  ASSERT_FALSE(context.ok());
  EXPECT_THAT(context.status().message(), HasSubstr("included files: archive entry \"../escape\""));
}

TEST(BuildContextTest, AnIncludedFileCannotReplaceTheGeneratedDockerfile) {
  TarWriter w;
  w.AddFile(kDockerfileName, "FROM evil\n");
  auto context = MakeBuildContext("FROM x\n", w.Finish());
  ASSERT_FALSE(context.ok());
  EXPECT_EQ(context.status().code(), Code::kBadRequest);
  EXPECT_THAT(context.status().message(), HasSubstr("is reserved"));
}

}  // namespace
}  // namespace spawn
