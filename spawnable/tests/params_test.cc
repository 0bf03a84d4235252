#include "spawn/spawnable/params.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace spawn {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Params MustParse(const std::string& text) {
  auto p = Params::Parse(text, "params.yml");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : Params();
}

TEST(StripBlockCommentsTest, RemovesCommentsAndKeepsLines) {
  auto s = StripBlockComments("a: 1 /* one */\n/* two\nlines */b: 2\n", "f");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "a: 1  \n\n b: 2\n");
}

TEST(StripBlockCommentsTest, LeavesQuotedScalarsAndHashCommentsAlone) {
  const std::string text = "url: \"http://x/*y*/\"\nglob: '/*'\n# a /* in a comment\nc: 3\n";
  auto s = StripBlockComments(text, "f");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, text);
}

TEST(StripBlockCommentsTest, UnterminatedCommentNamesFileAndLine) {
  auto s = StripBlockComments("a: 1\nb: 2 /* open\n", "params.yml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "params.yml: line 2: a /* comment is not closed with */");
}

TEST(ParamsTest, TypedGetters) {
  Params p = MustParse(
      "/* the demo's parameters */\n"
      "name: demo\ncount: 42\nhosts: [a, b]\nratio: 0.5\nverbose: true\ninterval: 1m30s\n");
  EXPECT_EQ(*p.String("name"), "demo");
  EXPECT_EQ(*p.Int("count"), 42);
  EXPECT_THAT(*p.StringSlice("hosts"), ElementsAre("a", "b"));
  EXPECT_EQ(*p.Get("ratio", 1.0), 0.5);
  EXPECT_EQ(*p.Get("verbose", false), true);
  EXPECT_EQ(*p.Get<Duration>("interval", 1s), 90s);
  EXPECT_EQ(*p.Get("interval", std::chrono::seconds(1)), 90s);
  EXPECT_EQ(p.MustString("name"), "demo");
  EXPECT_EQ(p.MustInt("count"), 42);
  EXPECT_THAT(p.MustStringSlice("hosts"), ElementsAre("a", "b"));
  EXPECT_THAT(p.Keys(), ElementsAre("name", "count", "hosts", "ratio", "verbose", "interval"));
}

TEST(ParamsTest, GetGivesTheFallbackOnlyWhenAbsent) {
  Params p = MustParse("count: ten\n");
  EXPECT_EQ(*p.Get("missing", 7), 7);
  EXPECT_EQ(*p.Get("missing", "dflt"), "dflt");
  auto bad = p.Get("count", 7);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kBadRequest);
  EXPECT_EQ(bad.status().message(), "params.yml: count: \"ten\" is not an integer");
}

TEST(ParamsTest, ErrorsNameTheKeyAndTheFile) {
  Params p = MustParse("hosts: [a, [b]]\nname: [x]\nwait: soon\n");
  EXPECT_EQ(p.String("nope").status().message(), "params.yml: missing parameter \"nope\"");
  EXPECT_EQ(p.String("nope").status().code(), Code::kNotFound);
  EXPECT_EQ(p.String("name").status().message(), "params.yml: name: a list is not a string");
  EXPECT_EQ(p.StringSlice("hosts").status().message(),
            "params.yml: hosts: a list is not a list of strings");
  EXPECT_THAT(p.Get<Duration>("wait", 1s).status().message(),
              HasSubstr("params.yml: wait: \"soon\""));
}

TEST(ParamsTest, EmptyFileIsEmpty) {
  Params p = MustParse("/* nothing */\n");
  EXPECT_TRUE(p.Keys().empty());
  EXPECT_FALSE(p.Has("a"));
}

TEST(ParamsTest, RejectsNonMapsAndBadYaml) {
  auto list = Params::Parse("- a\n- b\n", "p.yml");
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().message(), "p.yml: expected a map of parameters (key: value) at the top");
  auto bad = Params::Parse("a: 1\nb: [\n", "p.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("p.yml: line "));
}

TEST(ParamsDeathTest, MustExitsWithTheMessage) {
  Params p = MustParse("count: ten\n");
  EXPECT_EXIT(p.MustInt("count"), ::testing::ExitedWithCode(1),
              "params.yml: count: \"ten\" is not an integer");
  EXPECT_EXIT(p.MustString("absent"), ::testing::ExitedWithCode(1),
              "params.yml: missing parameter \"absent\"");
}

class ParamsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("spawnable-params-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ParamsFileTest, ReadsAFile) {
  const auto file = dir_ / "params.yml";
  std::ofstream(file) << "greeting: hello /* to everyone */\n";
  auto p = GetParamsFile(file.string());
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->MustString("greeting"), "hello");
  EXPECT_EQ(p->source(), file.string());
}

TEST_F(ParamsFileTest, DefaultFileIsParamsYmlInTheWorkingDirectory) {
  const auto old = std::filesystem::current_path();
  std::filesystem::current_path(dir_);
  auto missing = GetParams();
  std::ofstream("params.yml") << "a: b\n";
  auto present = GetParams();
  std::filesystem::current_path(old);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(), "params.yml: cannot read the parameters file");
  ASSERT_TRUE(present.ok());
  EXPECT_EQ(present->MustString("a"), "b");
}

TEST_F(ParamsFileTest, OrExitExitsOnAMissingFile) {
  const std::string file = (dir_ / "absent.yml").string();
  EXPECT_EXIT(GetParamsFileOrExit(file), ::testing::ExitedWithCode(1),
              "cannot read the parameters file");
}

TEST(MergeMetadataTest, OverridesWin) {
  auto m = MergeMetadata({{"a", "1"}, {"b", "2"}}, {{"b", "3"}, {"c", "4"}});
  EXPECT_EQ(m, (std::map<std::string, std::string>{{"a", "1"}, {"b", "3"}, {"c", "4"}}));
}

}  // namespace
}  // namespace spawn
