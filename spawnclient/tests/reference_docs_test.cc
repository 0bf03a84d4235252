#include "spawn/client/reference_docs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "spawn/client/exit_codes.h"

namespace spawn {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadReadme() {
  std::ifstream in(SPAWN_SOURCE_DIR "/README.md");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ReferenceDocsTest, TheReadmesTablesAreTheGeneratedOnes) {
  const std::string readme = ReadReadme();
  ASSERT_FALSE(readme.empty()) << "cannot read " SPAWN_SOURCE_DIR "/README.md";
  auto updated = UpdateReadmeTables(readme);
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  EXPECT_TRUE(*updated == readme)
      << "README.md's generated tables differ from spawnclient's config_keys.cc and "
         "exit_codes.cc; run `build/docs/spawn_docgen update-readme README.md`, or paste:\n"
      << MarkdownKeyTable(DeployYamlDoc()) << "\n"
      << MarkdownKeyTable(SpawndYamlDoc()) << "\n"
      << MarkdownExitCodeTable();
}

TEST(ReferenceDocsTest, UpdateReadmeTablesReplacesOnlyWhatFollowsAMarker) {
  const std::string readme =
      "# x\n<!-- spawn_docgen: deploy.yml keys -->\n| old |\n| --- |\ntext after\n"
      "<!-- spawn_docgen: spawnd.yml keys -->\n| old |\n\n"
      "<!-- spawn_docgen: spawnctl exit codes -->\n| old |\n| 1 | x |";
  auto updated = UpdateReadmeTables(readme);
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  EXPECT_EQ(*updated, "# x\n<!-- spawn_docgen: deploy.yml keys -->\n" +
                          MarkdownKeyTable(DeployYamlDoc()) + "text after\n" +
                          "<!-- spawn_docgen: spawnd.yml keys -->\n" +
                          MarkdownKeyTable(SpawndYamlDoc()) + "\n" +
                          "<!-- spawn_docgen: spawnctl exit codes -->\n" +
                          MarkdownExitCodeTable().substr(0, MarkdownExitCodeTable().size() - 1));
  auto again = UpdateReadmeTables(*updated);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *updated);
}

TEST(ReferenceDocsTest, UpdateReadmeTablesRefusesWhatItCannotPlace) {
  const std::string rest =
      "<!-- spawn_docgen: spawnd.yml keys -->\n| a |\n<!-- spawn_docgen: spawnctl exit codes -->\n"
      "| a |\n";
  auto unknown = UpdateReadmeTables("<!-- spawn_docgen: nope -->\n| a |\n" + rest);
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown generated table \"nope\""));
  auto no_table = UpdateReadmeTables("<!-- spawn_docgen: deploy.yml keys -->\n\n| a |\n" + rest);
  ASSERT_FALSE(no_table.ok());
  EXPECT_THAT(no_table.status().message(), HasSubstr("no table right after the marker"));
  auto missing = UpdateReadmeTables(rest);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("deploy.yml keys"));
  auto twice = UpdateReadmeTables(rest + rest);
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().message(), HasSubstr("twice"));
}

TEST(ReferenceDocsTest, MarkdownTablesHaveARowPerEntry) {
  const std::string deploy = MarkdownKeyTable(DeployYamlDoc());
  EXPECT_EQ(std::count(deploy.begin(), deploy.end(), '\n'), 2 + long(DeployYamlDoc().keys.size()));
  EXPECT_THAT(deploy,
              HasSubstr("| `image` (alias `container`) | base image of the service's "
                        "container | spawnd's `defaultImage` | `spawnpoint/base:latest` |"));
  EXPECT_THAT(deploy, HasSubstr("| `run` | the command"));
  EXPECT_THAT(deploy, HasSubstr("| required | `[./demosvc, params.yml]` |"));
  EXPECT_THAT(deploy, HasSubstr("| `restartInt` | "));
  EXPECT_THAT(deploy, HasSubstr("| `0s` | `30s` |"));
  const std::string codes = MarkdownExitCodeTable();
  EXPECT_THAT(codes, HasSubstr("| 69 | no broker"));
  EXPECT_EQ(std::count(codes.begin(), codes.end(), '\n'), 2 + long(ExitCodeTable().size()));
}

TEST(ReferenceDocsTest, TheHelpFooterListsEveryCodeWithinItsWidth) {
  const std::string help = ExitCodeHelp(80);
  EXPECT_EQ(help.rfind("Exit status:\n", 0), 0u);
  for (const ExitCodeDoc& e : ExitCodeTable()) {
    const std::string code = std::to_string(static_cast<int>(e.code));
    EXPECT_THAT(help, HasSubstr("\n  " + code + std::string(5 - code.size(), ' ')));
  }
  EXPECT_THAT(help, Not(HasSubstr("`")));
  std::istringstream lines(help);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 80u) << line;
}

TEST(ReferenceDocsTest, RoffTextEscapesWhatRoffWouldTakeForCommands) {
  EXPECT_EQ(RoffText("use `spawnctl deploy -n`, not a-b"),
            "use \\fB\\%spawnctl \\%deploy \\%\\-n\\fR, not a-b");
  EXPECT_EQ(RoffText(".starts with a dot\n'and a quote \\"),
            "\\&.starts with a dot\n\\&'and a quote \\e");
  EXPECT_EQ(RoffText("`unclosed"), "\\fB\\%unclosed\\fR");
}

TEST(ReferenceDocsTest, TheManPageHasEveryKeyAndTheExample) {
  const std::string page = ConfigManPage(DeployYamlDoc(), "0.1.0");
  EXPECT_THAT(page, HasSubstr(".TH DEPLOY.YML 5 \"\" \"spawnpoint 0.1.0\""));
  EXPECT_THAT(page, HasSubstr(".SH NAME\ndeploy.yml \\- the configuration of a service"));
  EXPECT_THAT(page, HasSubstr(".TP\n\\fB\\%image\\fR (alias \\fB\\%container\\fR)\nBase image"));
  EXPECT_THAT(page, HasSubstr("Default: \\fB\\%10s\\fR. Example: \\fB\\%30s\\fR.\n"));
  EXPECT_THAT(page, HasSubstr(".nf\n# deploy.yml: "));
  EXPECT_THAT(page, HasSubstr("\nrun: [./demosvc, params.yml]\n"));
  EXPECT_THAT(page, HasSubstr(".BR spawnctl (1),\n.BR spawnd (8),\n.BR spawnd.yml (5)\n"));
  for (const ConfigKey& k : DeployYamlDoc().keys) {
    EXPECT_THAT(page, HasSubstr(".TP\n\\fB\\%" + std::string(k.key) + "\\fR"));
  }
}

}  // namespace
}  // namespace spawn
