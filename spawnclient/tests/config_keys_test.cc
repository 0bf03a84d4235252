// The key tables of config_keys.h held to the parser (common's config.h): the example files parse,
// every key and alias listed is accepted with its example value, every key the parser accepts is
// listed, and each default given as a value is the parser's own.
#include "spawn/client/config_keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "spawn/common/config.h"

namespace spawn {
namespace {

using ::testing::HasSubstr;

// The required keys (but `except`) with their example values: the smallest valid file.
std::string Minimal(const ConfigFileDoc& doc, std::string_view except = "") {
  std::string yaml;
  for (const ConfigKey& k : doc.keys) {
    if (k.required && k.key != except)
      yaml += std::string(k.key) + ": " + std::string(k.example) + "\n";
  }
  return yaml;
}

// `yaml` with every "# key: value" line of a listed key but `keep` uncommented.
std::string Uncommented(const ConfigFileDoc& doc, const std::string& yaml,
                        std::string_view keep = "") {
  std::istringstream in(yaml);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    for (const ConfigKey& k : doc.keys) {
      if (k.key != keep && line.rfind("# " + std::string(k.key) + ": ", 0) == 0)
        line = line.substr(2);
    }
    out += line + "\n";
  }
  return out;
}

// The keys the parser names when it refuses an unknown one ("...; expected one of a, b, c").
std::set<std::string> KeysTheParserKnows(const Status& refusal) {
  const std::string marker = "expected one of ";
  const std::string& m = refusal.message();
  const size_t at = m.find(marker);
  EXPECT_NE(at, std::string::npos) << m;
  std::set<std::string> keys;
  if (at == std::string::npos) return keys;
  std::istringstream list(m.substr(at + marker.size()));
  for (std::string key; std::getline(list, key, ',');) {
    while (!key.empty() && key.front() == ' ') key.erase(0, 1);
    keys.insert(key);
  }
  return keys;
}

std::set<std::string> KeysTheTableLists(const ConfigFileDoc& doc) {
  std::set<std::string> keys;
  for (const ConfigKey& k : doc.keys) {
    keys.emplace(k.key);
    if (!k.alias.empty()) keys.emplace(k.alias);
  }
  return keys;
}

Result<ServiceConfig> ParseDeploy(const std::string& yaml) {
  return ParseServiceConfig(yaml, "deploy.yml");
}
Result<SpawndConfig> ParseSpawnd(const std::string& yaml) {
  return ParseSpawndConfig(yaml, "spawnd.yml");
}

// SpawndConfig has no operator==; what a default may change, compared field by field.
bool SameSpawnd(const SpawndConfig& a, const SpawndConfig& b) {
  return a.path == b.path && a.alias == b.alias && a.broker == b.broker &&
         a.container_broker == b.container_broker && a.username == b.username &&
         a.password_file == b.password_file && a.ca_file == b.ca_file &&
         a.cert_file == b.cert_file && a.key_file == b.key_file &&
         a.mem_alloc_bytes == b.mem_alloc_bytes && a.cpu_shares == b.cpu_shares &&
         a.zombie_period == b.zombie_period && a.heartbeat_interval == b.heartbeat_interval &&
         a.allow_host_net == b.allow_host_net &&
         a.allow_device_mappings == b.allow_device_mappings && a.state_dir == b.state_dir &&
         a.docker_socket == b.docker_socket && a.default_image == b.default_image;
}

TEST(ConfigKeysTest, TheDeployExampleParsesAsItIsAndWithEveryKeyUncommented) {
  const std::string example = ExampleYaml(DeployYamlDoc(), "test");
  auto parsed = ParseDeploy(example);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message() << "\n" << example;
  EXPECT_EQ(parsed->name, "demosvc");
  EXPECT_EQ(parsed->mem_alloc_bytes, 512LL << 20);

  // useHostNet: true and overlayNet exclude each other: one file has all but the first, another
  // all but the second.
  for (std::string_view keep : {"useHostNet", "overlayNet"}) {
    const std::string all = Uncommented(DeployYamlDoc(), example, keep);
    auto every = ParseDeploy(all);
    ASSERT_TRUE(every.ok()) << every.status().message() << "\n" << all;
    EXPECT_TRUE(every->auto_restart);
    EXPECT_EQ(every->volumes, std::vector<std::string>{"demosvc-data"});
    // Every listed key (its main name) appears once, set or commented out.
    for (const ConfigKey& k : DeployYamlDoc().keys) {
      const std::string line = std::string(k.key) + ": " + std::string(k.example) + "\n";
      EXPECT_THAT(all, HasSubstr(k.key == keep ? "\n# " + line : "\n" + line));
    }
  }
}

TEST(ConfigKeysTest, TheSpawndExampleParsesAsItIsAndWithEveryKeyUncommented) {
  const std::string example = ExampleYaml(SpawndYamlDoc(), "test");
  auto parsed = ParseSpawnd(example);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message() << "\n" << example;
  EXPECT_EQ(parsed->path, "scratch.ns/spawnpoint/alpha");
  auto every = ParseSpawnd(Uncommented(SpawndYamlDoc(), example));
  ASSERT_TRUE(every.ok()) << every.status().message();
  EXPECT_EQ(every->default_image, "debian:12");
}

TEST(ConfigKeysTest, TheExampleSaysEachKeysDefaultAndWrapsItsComments) {
  const std::string example = ExampleYaml(DeployYamlDoc(), "0.1.0");
  // The comments with their wrapping undone.
  std::string text;
  std::istringstream lines(example);
  for (std::string line, last; std::getline(lines, line); last = line) {
    const bool key_line = line.find(": ") != std::string::npos &&
                          line.find(' ', 2) > line.find(": ");  // "# key: value"
    const bool continued = line.rfind("# ", 0) == 0 && last.rfind("# ", 0) == 0 && !key_line;
    text += continued ? " " + line.substr(2) : (text.empty() ? "" : "\n") + line;
  }
  text += "\n";
  EXPECT_EQ(text.rfind("# deploy.yml: the configuration of a service run by a spawnpoint "
                       "(spawnpoint 0.1.0). Used as: spawnctl deploy",
                       0),
            0u)
      << text;
  EXPECT_THAT(text,
              HasSubstr("\n# Base image of the service's container. Also called container. "
                        "Default: spawnd's defaultImage.\n# image: spawnpoint/base:latest\n"));
  EXPECT_THAT(text, HasSubstr("Default: 5m.\n# maxRestartInt: 10m\n"));
  EXPECT_THAT(text, HasSubstr("Required.\nrun: [./demosvc, params.yml]\n"));
  std::istringstream wrapped(example);
  for (std::string line; std::getline(wrapped, line);) {
    if (line.rfind("# ", 0) == 0) {
      EXPECT_LE(line.size(), 72u) << line;
    }
  }
}

TEST(ConfigKeysTest, EveryListedKeyAndAliasIsAcceptedWithItsExample) {
  for (const ConfigKey& k : DeployYamlDoc().keys) {
    for (std::string_view name : {k.key, k.alias}) {
      if (name.empty()) continue;
      auto parsed = ParseDeploy(Minimal(DeployYamlDoc(), k.key) + std::string(name) + ": " +
                                std::string(k.example) + "\n");
      EXPECT_TRUE(parsed.ok()) << name << ": " << parsed.status().message();
    }
  }
  for (const ConfigKey& k : SpawndYamlDoc().keys) {
    for (std::string_view name : {k.key, k.alias}) {
      if (name.empty()) continue;
      auto parsed = ParseSpawnd(Minimal(SpawndYamlDoc(), k.key) + std::string(name) + ": " +
                                std::string(k.example) + "\n");
      EXPECT_TRUE(parsed.ok()) << name << ": " << parsed.status().message();
    }
  }
}

TEST(ConfigKeysTest, EveryKeyTheParserAcceptsIsListed) {
  // A key added to the parser (overlayNet, say) fails here until its row is in config_keys.cc.
  auto deploy = ParseDeploy(Minimal(DeployYamlDoc()) + "noSuchKey: 1\n");
  ASSERT_FALSE(deploy.ok());
  EXPECT_EQ(KeysTheParserKnows(deploy.status()), KeysTheTableLists(DeployYamlDoc()));
  auto spawnd = ParseSpawnd(Minimal(SpawndYamlDoc()) + "noSuchKey: 1\n");
  ASSERT_FALSE(spawnd.ok());
  EXPECT_EQ(KeysTheParserKnows(spawnd.status()), KeysTheTableLists(SpawndYamlDoc()));
}

TEST(ConfigKeysTest, RequiredKeysAreRequired) {
  for (const ConfigKey& k : DeployYamlDoc().keys) {
    if (!k.required) continue;
    auto parsed = ParseDeploy(Minimal(DeployYamlDoc(), k.key));
    ASSERT_FALSE(parsed.ok()) << k.key;
    EXPECT_THAT(parsed.status().message(), HasSubstr(std::string(k.key) + " is required"));
  }
  for (const ConfigKey& k : SpawndYamlDoc().keys) {
    if (!k.required) continue;
    auto parsed = ParseSpawnd(Minimal(SpawndYamlDoc(), k.key));
    ASSERT_FALSE(parsed.ok()) << k.key;
    EXPECT_THAT(parsed.status().message(), HasSubstr(std::string(k.key) + " is required"));
  }
}

TEST(ConfigKeysTest, EachDefaultGivenAsAValueIsTheParsers) {
  auto deploy = ParseDeploy(Minimal(DeployYamlDoc()));
  ASSERT_TRUE(deploy.ok()) << deploy.status().message();
  for (const ConfigKey& k : DeployYamlDoc().keys) {
    EXPECT_TRUE(k.required || !k.default_value.empty() || !k.default_note.empty()) << k.key;
    if (k.default_value.empty()) continue;
    auto with = ParseDeploy(Minimal(DeployYamlDoc()) + std::string(k.key) + ": " +
                            std::string(k.default_value) + "\n");
    ASSERT_TRUE(with.ok()) << k.key << ": " << with.status().message();
    EXPECT_EQ(*with, *deploy) << k.key << ": " << k.default_value << " is not its default";
  }
  auto spawnd = ParseSpawnd(Minimal(SpawndYamlDoc()));
  ASSERT_TRUE(spawnd.ok()) << spawnd.status().message();
  for (const ConfigKey& k : SpawndYamlDoc().keys) {
    EXPECT_TRUE(k.required || !k.default_value.empty() || !k.default_note.empty()) << k.key;
    if (k.default_value.empty()) continue;
    auto with = ParseSpawnd(Minimal(SpawndYamlDoc()) + std::string(k.key) + ": " +
                            std::string(k.default_value) + "\n");
    ASSERT_TRUE(with.ok()) << k.key << ": " << with.status().message();
    EXPECT_TRUE(SameSpawnd(*with, *spawnd))
        << k.key << ": " << k.default_value << " is not its default";
  }
}

TEST(ConfigKeysTest, PlainTextDropsTheBackquotes) {
  EXPECT_EQ(PlainText("spawnd's `defaultImage`"), "spawnd's defaultImage");
}

}  // namespace
}  // namespace spawn
