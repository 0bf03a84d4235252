#include "spawn/core/image_recipe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spawn/common/units.h"

namespace spawn {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ServiceConfig Minimal() {
  ServiceConfig c;
  c.name = "Demo";
  c.run = {"./svc", "--params", "it's.yml"};
  c.mem_alloc_bytes = 64 * kMiB;
  c.cpu_shares = 512;
  return c;
}

TEST(DockerfileTest, MinimalUsesTheDefaultImageAndExecFormCmd) {
  const std::string d = GenerateDockerfile(Minimal(), "spawnpoint/base:latest");
  EXPECT_EQ(d,
            "FROM spawnpoint/base:latest\n"
            "WORKDIR /srv/spawnpoint\n"
            "CMD [\"./svc\",\"--params\",\"it's.yml\"]\n");
}

TEST(DockerfileTest, EveryBuildKey) {
  ServiceConfig c = Minimal();
  c.image = "debian:bookworm";
  c.apt_requires = {"jq", "curl"};
  c.source = "https://example.org/team/tool.git";
  c.included_files = {"conf/params.yml", "bin/svc"};
  c.included_dirs = {"data/"};
  c.build = {"make -C tool", "echo done"};
  c.run = {"sh", "-c", "echo \"quoted\""};
  const std::string d = GenerateDockerfile(c, "unused");
  EXPECT_EQ(d,
            "FROM debian:bookworm\n"
            "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
            "--no-install-recommends 'jq' 'curl' && rm -rf /var/lib/apt/lists/*\n"
            "WORKDIR /srv/spawnpoint\n"
            "RUN git clone --depth 1 'https://example.org/team/tool.git' '/srv/spawnpoint/tool'\n"
            "COPY [\"params.yml\",\"/srv/spawnpoint/params.yml\"]\n"
            "COPY [\"svc\",\"/srv/spawnpoint/svc\"]\n"
            "COPY [\"data\",\"/srv/spawnpoint/data\"]\n"
            "RUN make -C tool\n"
            "RUN echo done\n"
            "CMD [\"sh\",\"-c\",\"echo \\\"quoted\\\"\"]\n");
}

TEST(DockerfileTest, ShellQuotingCannotBreakOutOfAptArguments) {
  ServiceConfig c = Minimal();
  c.apt_requires = {"jq'; rm -rf /; echo '"};
  EXPECT_THAT(GenerateDockerfile(c, "x"), HasSubstr("'jq'\\''; rm -rf /; echo '\\'''"));
}

TEST(DockerfileTest, LineEndsInValuesCannotStartNewInstructions) {
  ServiceConfig c = Minimal();
  c.image = "base\nRUN evil";
  c.source = "https://example.org/x.git\nUSER root";
  c.build = {"set -e\nmake\nmake install"};
  const std::string d = GenerateDockerfile(c, "x");
  EXPECT_THAT(d, HasSubstr("FROM base RUN evil\n"));
  EXPECT_THAT(d, HasSubstr("'https://example.org/x.git USER root'"));
  // A multi-line build step stays one script.
  EXPECT_THAT(d, HasSubstr("RUN [\"/bin/sh\",\"-c\",\"set -e\\nmake\\nmake install\"]\n"));
  EXPECT_THAT(d, Not(HasSubstr("\nUSER")));
}

TEST(ImageTagTest, HashesEveryInputAndIsStable) {
  const ServiceConfig c = Minimal();
  const std::string tag = ImageTag(c, "FROM a\n", "archive");
  EXPECT_EQ(tag, ImageTag(c, "FROM a\n", "archive"));
  EXPECT_THAT(tag, ::testing::MatchesRegex("spawnpoint/demo:[0-9a-f]{16}"));
  EXPECT_NE(tag, ImageTag(c, "FROM b\n", "archive"));
  EXPECT_NE(tag, ImageTag(c, "FROM a\n", "archivE"));
}

TEST(ImageTagTest, AnyServiceNameGivesAValidRepositoryName) {
  ServiceConfig c = Minimal();
  for (const auto& [name, repo] : std::vector<std::pair<std::string, std::string>>{
           {"My_Svc.v2", "my-svc-v2"}, {"a..b", "a--b"}, {"x_", "x"}, {"9-", "9"}}) {
    c.name = name;
    EXPECT_THAT(ImageTag(c, "FROM a\n", ""),
                ::testing::MatchesRegex("spawnpoint/" + repo + ":[0-9a-f]{16}"))
        << name;
  }
}

}  // namespace
}  // namespace spawn
