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

TEST(DockerfileTest, MinimalUsesTheBaseAndHasNoCmd) {
  // The command is set at create: services that differ only in `run` share one image.
  const std::string d = GenerateDockerfile(Minimal(), "spawnpoint/base:latest");
  EXPECT_EQ(d,
            "FROM spawnpoint/base:latest\n"
            "WORKDIR /srv/spawnpoint\n");
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
  const std::string d = GenerateDockerfile(c, BaseImage(c, "unused"));
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
            "RUN echo done\n");
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
  const std::string d = GenerateDockerfile(c, BaseImage(c, "x"));
  EXPECT_THAT(d, HasSubstr("FROM base RUN evil\n"));
  EXPECT_THAT(d, HasSubstr("'https://example.org/x.git USER root'"));
  // A multi-line build step stays one script.
  EXPECT_THAT(d, HasSubstr("RUN [\"/bin/sh\",\"-c\",\"set -e\\nmake\\nmake install\"]\n"));
  EXPECT_THAT(d, Not(HasSubstr("\nUSER")));
}

TEST(ImageTagTest, HashesTheBuildInputsAloneAndIsStable) {
  const std::string tag = ImageTag("FROM a\n", "archive");
  EXPECT_EQ(tag, ImageTag("FROM a\n", "archive"));
  EXPECT_THAT(tag, ::testing::MatchesRegex("spawnpoint/build:[0-9a-f]{64}"));
  EXPECT_NE(tag, ImageTag("FROM b\n", "archive"));
  EXPECT_NE(tag, ImageTag("FROM a\n", "archivE"));
  // The parts are delimited: moving a byte from one to the other is another recipe.
  EXPECT_NE(ImageTag("FROM a\nx", "y"), ImageTag("FROM a\n", "xy"));
}

TEST(ImageTagTest, TheServiceNameLimitsAndCommandAreNoInput) {
  ServiceConfig a = Minimal();
  ServiceConfig b = Minimal();
  b.name = "another-name";
  b.mem_alloc_bytes *= 2;
  b.run = {"./svc", "--replica", "2"};
  EXPECT_EQ(ImageTag(GenerateDockerfile(a, "sha256:1"), "x"),
            ImageTag(GenerateDockerfile(b, "sha256:1"), "x"));
  EXPECT_NE(ImageTag(GenerateDockerfile(a, "sha256:1"), "x"),
            ImageTag(GenerateDockerfile(a, "sha256:2"), "x"));
}

TEST(NeedsBuildTest, OnlyAConfigThatAddsToItsBaseNeedsABuild) {
  ServiceConfig c = Minimal();
  EXPECT_FALSE(NeedsBuild(c));
  EXPECT_EQ(BaseImage(c, "spawnpoint/base:latest"), "spawnpoint/base:latest");
  c.image = "busybox:stable";
  EXPECT_FALSE(NeedsBuild(c));
  EXPECT_EQ(BaseImage(c, "spawnpoint/base:latest"), "busybox:stable");
  for (auto add : std::vector<std::function<void(ServiceConfig&)>>{
           [](ServiceConfig& x) { x.apt_requires = {"jq"}; },
           [](ServiceConfig& x) { x.source = "https://example.org/x.git"; },
           [](ServiceConfig& x) { x.included_files = {"a.yml"}; },
           [](ServiceConfig& x) { x.included_dirs = {"web"}; },
           [](ServiceConfig& x) { x.build = {"make"}; }}) {
    ServiceConfig with = c;
    add(with);
    EXPECT_TRUE(NeedsBuild(with));
  }
}

}  // namespace
}  // namespace spawn
