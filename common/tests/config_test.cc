#include "spawn/common/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "spawn/common/config_yaml.h"
#include "spawn/common/units.h"

namespace spawn {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kMinimalSpawnd =
    "path: scratch.ns/spawnpoint/alpha\nmemAlloc: 4G\ncpuShares: 4096\n";

TEST(SpawndConfigTest, DefaultsFollowTheDesign) {
  auto c = ParseSpawndConfig(kMinimalSpawnd, "spawnd.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->path, "scratch.ns/spawnpoint/alpha");
  EXPECT_EQ(c->alias, "alpha");
  EXPECT_EQ(c->broker, "tcp://127.0.0.1:1883");
  EXPECT_EQ(c->container_broker, "tcp://127.0.0.1:1883");
  EXPECT_EQ(c->mem_alloc_bytes, 4096 * kMiB);
  EXPECT_EQ(c->cpu_shares, 4096);
  EXPECT_EQ(c->zombie_period, minutes(2));
  EXPECT_EQ(c->heartbeat_interval, seconds(5));
  EXPECT_FALSE(c->allow_host_net);
  EXPECT_FALSE(c->allow_device_mappings);
  EXPECT_EQ(c->state_dir, "/var/lib/spawnd");
  EXPECT_EQ(c->docker_socket, "/var/run/docker.sock");
  EXPECT_EQ(c->mqtt_version, MqttVersion::kV5);
  EXPECT_EQ(c->session_expiry, std::chrono::hours(168));
  EXPECT_TRUE(c->warnings.empty());
}

// The original spawnd.yml's BOSSWAVE keys are accepted, each with a line saying what to use.
TEST(SpawndConfigTest, TheOriginalsEntityAndLocalRouterAreAcceptedWithAWarning) {
  const std::string original = std::string(kMinimalSpawnd) +
                               "entity: /etc/spawnd/spawnpoint.ent\n"
                               "localRouter: 172.17.0.1:28589\n";
  auto c = ParseSpawndConfig(original, "spawnd.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->warnings.size(), 2u);
  EXPECT_THAT(c->warnings[0], HasSubstr("spawnd.yml: entity"));
  EXPECT_THAT(c->warnings[0], HasSubstr("username and passwordFile"));
  EXPECT_THAT(c->warnings[1], HasSubstr("spawnd.yml: localRouter"));
  EXPECT_THAT(c->warnings[1], HasSubstr("broker"));
  EXPECT_EQ(c->broker, "tcp://127.0.0.1:1883");
}

TEST(SpawndConfigTest, EveryKey) {
  auto c = ParseSpawndConfig(R"(
path: a/b/c/
alias: gamma
broker: ssl://broker:8883
containerRouter: tcp://10.0.0.1:1883
username: u
passwordFile: /etc/spawnd/pw
caFile: ca.pem
certFile: cert.pem
keyFile: key.pem
mqttVersion: 3.1.1
sessionExpiry: 24h
memAlloc: 512m
cpuShares: 1024
zombiePeriod: 30s
heartbeatInterval: 250ms
allowHostNet: true
allowDeviceMappings: true
stateDir: /tmp/state
dockerSocket: /run/docker.sock
defaultImage: my/base:1
)",
                             "spawnd.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->path, "a/b/c");
  EXPECT_EQ(c->alias, "gamma");
  EXPECT_EQ(c->broker, "ssl://broker:8883");
  EXPECT_EQ(c->container_broker, "tcp://10.0.0.1:1883");
  EXPECT_EQ(c->username, "u");
  EXPECT_EQ(c->password_file, "/etc/spawnd/pw");
  EXPECT_EQ(c->ca_file, "ca.pem");
  EXPECT_EQ(c->cert_file, "cert.pem");
  EXPECT_EQ(c->key_file, "key.pem");
  EXPECT_EQ(c->mqtt_version, MqttVersion::kV311);
  EXPECT_EQ(c->session_expiry, std::chrono::hours(24));
  EXPECT_EQ(c->mem_alloc_bytes, 512 * kMiB);
  EXPECT_EQ(c->zombie_period, seconds(30));
  EXPECT_EQ(c->heartbeat_interval, std::chrono::milliseconds(250));
  EXPECT_TRUE(c->allow_host_net);
  EXPECT_TRUE(c->allow_device_mappings);
  EXPECT_EQ(c->state_dir, "/tmp/state");
  EXPECT_EQ(c->docker_socket, "/run/docker.sock");
  EXPECT_EQ(c->default_image, "my/base:1");
}

TEST(SpawndConfigTest, HeartbeatDeadbandsHaveDefaultsAndCanBeSet) {
  auto defaults = ParseSpawndConfig("path: a\nmemAlloc: 1G\ncpuShares: 1\n", "spawnd.yml");
  ASSERT_TRUE(defaults.ok()) << defaults.status().message();
  EXPECT_EQ(defaults->heartbeat_mem_deadband_bytes, 1024 * 1024);
  EXPECT_EQ(defaults->heartbeat_mem_deadband_percent, 10);
  EXPECT_EQ(defaults->heartbeat_cpu_deadband_points, 5);
  auto set = ParseSpawndConfig(
      "path: a\nmemAlloc: 1G\ncpuShares: 1\nheartbeatMemDeadband: 4M\n"
      "heartbeatMemDeadbandPercent: 0\nheartbeatCpuDeadband: 20\n",
      "spawnd.yml");
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->heartbeat_mem_deadband_bytes, 4 * 1024 * 1024);
  EXPECT_EQ(set->heartbeat_mem_deadband_percent, 0);
  EXPECT_EQ(set->heartbeat_cpu_deadband_points, 20);
}

TEST(SpawndConfigTest, ErrorsNameTheKeyTheValueAndWhatWasExpected) {
  struct Case {
    std::string yaml;
    std::string expected;
  } cases[] = {
      {"path: a\nmemAlloc: 12X\ncpuShares: 1",
       "spawnd.yml:2: memAlloc: \"12X\" is not a size; expected a number with M or G, like 512M"},
      {"path: a\nmemAlloc: 1G\ncpuShares: lots",
       "spawnd.yml:3: cpuShares: \"lots\" is not a positive integer"},
      {"path: a\nmemAlloc: 1G\ncpuShares: 1\nzombiePeriod: soon",
       "zombiePeriod: \"soon\" is not a duration"},
      {"path: a\nmemAlloc: 1G\ncpuShares: 1\nallowHostNet: maybe",
       "allowHostNet: \"maybe\" is not a boolean; expected true or false"},
      {"path: a\nmemAlloc: 1G\ncpuShares: 1\nfoo: 1",
       "spawnd.yml:4: unknown key \"foo\"; expected one of alias, allowDeviceMappings"},
      {"path: a\nmemAlloc: 1G\ncpuShares: 1\nheartbeatInterval: 0s",
       "heartbeatInterval: \"0s\" is too short; expected at least 1ms, like 5s"},
      {"path: a\nmemAlloc: 1G\ncpuShares: 1\nheartbeatMemDeadbandPercent: 150",
       "spawnd.yml:4: heartbeatMemDeadbandPercent: \"150\" is not a percentage; expected a whole "
       "number from 0 to 100, like 10"},
      {"path: a\nmemAlloc: 1G\ncpuShares: 1\nheartbeatCpuDeadband: -3",
       "spawnd.yml:4: heartbeatCpuDeadband: \"-3\" is not a number of CPU percentage points"},
      {"path: a\nmemAlloc: 1G\ncpuShares: 1\nheartbeatMemDeadband: 1K",
       "spawnd.yml:4: heartbeatMemDeadband: \"1K\" is not a size"},
      {"path: a\nmemAlloc: 1G\ncpuShares: 1\nmqttVersion: 4",
       "spawnd.yml:4: mqttVersion: \"4\" is not an MQTT version; expected 5 or 3.1.1"},
      {"path: a\nmemAlloc: 1G\ncpuShares: 1\nsessionExpiry: 0s",
       "sessionExpiry: \"0s\" is too short; expected at least 1s, like 168h"},
      {"path: a\nmemAlloc: 1G\ncpuShares: 1\nusername: [a, b]",
       "spawnd.yml:4: username: a list is not a string; expected text"},
      {"memAlloc: 1G\ncpuShares: 1",
       "spawnd.yml: path is required; expected e.g. path: scratch.ns/spawnpoint/alpha"},
      {"path: a\ncpuShares: 1", "spawnd.yml: memAlloc is required"},
      {"path: a\nmemAlloc: 1G", "spawnd.yml: cpuShares is required"},
      {"path: a\nmemAlloc: 1G\ncpuShares: 1\nbroker: mqtt.local",
       "broker: \"mqtt.local\" is not a broker URI"},
      {"path: a/#\nmemAlloc: 1G\ncpuShares: 1", "path: \"a/#\" is not a topic path"},
      {"path: a/b c\nmemAlloc: 1G\ncpuShares: 1",
       "spawnd.yml: alias (the last element of path): \"b c\" is not an alias; expected 1-63"},
      {"path: a\nalias: x/y\nmemAlloc: 1G\ncpuShares: 1", "alias: \"x/y\" is not an alias"},
      {"path: a\nmemAlloc: 1G\ncpuShares: 1\ncontainerBroker: localhost",
       "containerBroker: \"localhost\" is not a broker URI; expected tcp://host:port"},
      {"path: [a\n", "spawnd.yml:"},
      {"", "spawnd.yml: the file is empty"},
      {"- a\n- b", "expected a map of key: value pairs"},
      {"path: a\nmemAlloc: 1G\ncpuShares: 1\nbroker: tcp://a:1\ncontainerBroker: tcp://b:1\n"
       "containerRouter: tcp://c:1",
       "spawnd.yml:6: containerRouter: given twice (containerRouter is another name for "
       "containerBroker)"},
      {"path: a\nmemAlloc: 1G\ncpuShares: 1\npath: b", "spawnd.yml:4: path: given twice"},
  };
  for (const auto& c : cases) {
    auto parsed = ParseSpawndConfig(c.yaml, "spawnd.yml");
    ASSERT_FALSE(parsed.ok()) << c.yaml;
    EXPECT_EQ(parsed.status().code(), Code::kBadRequest);
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.expected)) << c.yaml;
  }
}

TEST(ServiceConfigTest, OriginalSpawnpointSyntaxKeepsWorking) {
  auto c = ParseServiceConfig(R"(
name: demosvc
container: jhkolb/spawnpoint:amd64
memAlloc: 64M
cpuShares: 512
autoRestart: true
restartInt: 2s
includedFiles: [params.yml, svc]
includedDirs: [data]
volumes: [store]
run: [./svc, params.yml]
)",
                              "deploy.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->name, "demosvc");
  EXPECT_EQ(c->image, "jhkolb/spawnpoint:amd64");
  EXPECT_EQ(c->mem_alloc_bytes, 64 * kMiB);
  EXPECT_EQ(c->cpu_shares, 512);
  EXPECT_TRUE(c->auto_restart);
  EXPECT_EQ(c->restart_interval, seconds(2));
  EXPECT_THAT(c->included_files, ElementsAre("params.yml", "svc"));
  EXPECT_THAT(c->included_dirs, ElementsAre("data"));
  EXPECT_THAT(c->volumes, ElementsAre("store"));
  EXPECT_THAT(c->run, ElementsAre("./svc", "params.yml"));
  EXPECT_EQ(c->stop_timeout, seconds(10));
  EXPECT_EQ(c->max_restart_interval, minutes(5));
}

TEST(ServiceConfigTest, EveryKeyAndNameOverride) {
  auto c = ParseServiceConfig(R"(
name: fromfile
image: spawnpoint/base:latest
source: https://example.org/repo.git
aptRequires: [jq, curl]
build: [make, make install]
run: [svc]
memAlloc: 1g
cpuShares: 100
useHostNet: true
devices: [/dev/ttyUSB0]
env: [A=1, B_2=two words]
entity: me.key
stopTimeout: 3s
maxRestartInt: 1m
)",
                              "deploy.yml", std::string("override"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->name, "override");
  EXPECT_EQ(c->source, "https://example.org/repo.git");
  EXPECT_THAT(c->apt_requires, ElementsAre("jq", "curl"));
  EXPECT_THAT(c->build, ElementsAre("make", "make install"));
  EXPECT_TRUE(c->use_host_net);
  EXPECT_THAT(c->devices, ElementsAre("/dev/ttyUSB0"));
  EXPECT_THAT(c->env, ElementsAre("A=1", "B_2=two words"));
  EXPECT_EQ(c->entity, "me.key");
  EXPECT_EQ(c->stop_timeout, seconds(3));
  EXPECT_EQ(c->max_restart_interval, minutes(1));
}

TEST(ServiceConfigTest, ErrorsNameTheKeyTheValueAndWhatWasExpected) {
  const std::string base = "name: s\nrun: [x]\ncpuShares: 1\n";
  struct Case {
    std::string yaml;
    std::string expected;
  } cases[] = {
      {base + "memAlloc: 12X",
       "deploy.yml:4: memAlloc: \"12X\" is not a size; expected a number with M or G, like 512M"},
      {base + "memAlloc: 1G\nrestartInt: 5 minutes", "restartInt: \"5 minutes\" is not a duration"},
      {base + "memAlloc: 1G\nautoRestart: sometimes",
       "autoRestart: \"sometimes\" is not a boolean"},
      {base + "memAlloc: 1G\nenv: [NOEQUALS]",
       "env: item 1: \"NOEQUALS\" is not an environment entry; expected KEY=value"},
      {base + "memAlloc: 1G\nvolumes: [../etc]",
       "volumes: item 1: \"../etc\" is not a volume name"},
      {base + "memAlloc: 1G\ndevices: [ttyUSB0]", "devices: item 1: \"ttyUSB0\" is not a device"},
      {base + "memAlloc: 1G\nincludedFiles: a.txt", "includedFiles: \"a.txt\" is not a list"},
      {base + "memAlloc: 1G\nbuild: [[a]]", "build: item 1 is a list; expected a string"},
      {base + "memAlloc: 1G\nsource: git@github.com:x/y",
       "source: \"git@github.com:x/y\" is not an https git URL"},
      {base + "memAlloc: 1G\nimage: [a]", "image: a list is not a string"},
      {base + "memAlloc: 1G\nextra: 1", "unknown key \"extra\""},
      {"name: s\nmemAlloc: 1G\ncpuShares: 1",
       "deploy.yml: run is required; expected e.g. run: [./svc, --flag]"},
      {base + "memAlloc: 1G\nvolumes: [v]", "volumes: item 1: \"v\" is not a volume name"},
      {base + "memAlloc: 1G\nenv: [1A=x]", "env: item 1: \"1A=x\" is not an environment entry"},
      {base + "memAlloc: 1G\nenv: [=x]", "env: item 1: \"=x\" is not an environment entry"},
      {base + "memAlloc: 1G\nmaxRestartInt: -5s", "maxRestartInt: \"-5s\" is negative"},
      {base + "memAlloc: 1G\nstopTimeout: [1s]", "stopTimeout: a list is not a duration"},
      {"name: s\nrun: [x]\nmemAlloc: 1G\ncpuShares: 1.5",
       "cpuShares: \"1.5\" is not a positive integer"},
      {base + "memAlloc: 0M", "memAlloc: \"0M\" is not a size; expected a number more than zero"},
      {base + "memAlloc: 1G\n  bad: indent", "deploy.yml:5: not valid YAML"},
      {"just text", "deploy.yml:1: expected a map of key: value pairs"},
      {"name: s\nrun: []\nmemAlloc: 1G\ncpuShares: 1", "run: an empty list"},
      {"name: s\nrun: [x]\ncpuShares: 1", "memAlloc is required"},
      {"name: s\nrun: [x]\nmemAlloc: 1G", "cpuShares is required"},
      {"name: s\nrun: [x]\nmemAlloc: 1G\ncpuShares: 0",
       "cpuShares: \"0\" is not a positive integer"},
      {"run: [x]\nmemAlloc: 1G\ncpuShares: 1", "name is required (in the file or with -n NAME)"},
      {"name: server\nrun: [x]\nmemAlloc: 1G\ncpuShares: 1", "\"server\" is reserved"},
      {"name: a/b\nrun: [x]\nmemAlloc: 1G\ncpuShares: 1", "\"a/b\" is not a service name"},
      {"name: s\nrun: [x\n", "not valid YAML"},
      {"name: s\nrun: ./svc -v\nmemAlloc: 1G\ncpuShares: 1",
       "deploy.yml:2: run: \"./svc -v\" is not a list; expected the command as a list of strings "
       "(a single string is not split), like [./svc, -v]"},
      {base + "memAlloc: 1G\ncpuShares: 2",
       "deploy.yml:5: cpuShares: given twice; expected each key once"},
      {base + "memAlloc: 1G\nimage: a\ncontainer: b",
       "deploy.yml:6: container: given twice (container is another name for image); expected "
       "each key once"},
  };
  for (const auto& c : cases) {
    auto parsed = ParseServiceConfig(c.yaml, "deploy.yml");
    ASSERT_FALSE(parsed.ok()) << c.yaml;
    EXPECT_EQ(parsed.status().code(), Code::kBadRequest);
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.expected)) << c.yaml;
  }
}

TEST(ServiceConfigTest, NodeRoundTripKeepsEveryField) {
  ServiceConfig c;
  c.name = "svc";
  c.image = "img";
  c.source = "https://x/y.git";
  c.apt_requires = {"jq"};
  c.build = {"make"};
  c.run = {"./svc", "-v"};
  c.mem_alloc_bytes = 64 * kMiB;
  c.cpu_shares = 512;
  c.auto_restart = true;
  c.restart_interval = seconds(2);
  c.included_files = {"a"};
  c.included_dirs = {"d"};
  c.volumes = {"vol"};
  c.use_host_net = true;
  c.devices = {"/dev/null"};
  c.env = {"A=1"};
  c.entity = "e.key";
  c.stop_timeout = seconds(3);
  c.max_restart_interval = minutes(1);
  c.pids_limit = 50;
  c.read_only = true;
  c.user = "1000:1000";
  auto back = ParseServiceConfig(ServiceConfigToYaml(c), "round-trip");
  ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << ServiceConfigToYaml(c);
  EXPECT_EQ(*back, c);
}

TEST(ServiceConfigTest, ContainerIsAnAliasOfImage) {
  auto c = ParseServiceConfig("name: s\ncontainer: busybox\nrun: [sh]\nmemAlloc: 8M\ncpuShares: 2",
                              "deploy.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->image, "busybox");
}

TEST(ServiceConfigTest, DefaultsFollowTheDesign) {
  auto c = ParseServiceConfig("name: s\nrun: [sh]\nmemAlloc: 8M\ncpuShares: 2", "deploy.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->image.empty());
  EXPECT_FALSE(c->auto_restart);
  EXPECT_EQ(c->restart_interval, seconds(0));
  EXPECT_FALSE(c->use_host_net);
  EXPECT_EQ(c->stop_timeout, seconds(10));
  EXPECT_EQ(c->max_restart_interval, minutes(5));
  // Only non-default keys are written back; required ones always are.
  EXPECT_EQ(ServiceConfigToYaml(*c), "name: s\nrun:\n  - sh\nmemAlloc: 8M\ncpuShares: 2\n");
}

TEST(ServiceConfigTest, EnvValuesMayHoldAnything) {
  auto c = ParseServiceConfig(
      "name: s\nrun: [sh]\nmemAlloc: 8M\ncpuShares: 2\nenv: [\"URL=a=b c\", EMPTY=]", "deploy.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_THAT(c->env, ElementsAre("URL=a=b c", "EMPTY="));
}

// Values from the bus can be megabytes long: checking them must not recurse per character.
TEST(ServiceConfigTest, LongValuesAreCheckedWithoutRecursion) {
  const std::string long_value(1 << 20, 'a');
  const std::string base = "name: s\nrun: [sh]\nmemAlloc: 8M\ncpuShares: 2\n";
  auto c = ParseServiceConfig(base + "env: [A=" + long_value + "]", "deploy.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->env[0].size(), long_value.size() + 2);
  auto volume = ParseServiceConfig(base + "volumes: [" + long_value + "]", "deploy.yml");
  ASSERT_FALSE(volume.ok());
  // The message quotes the start of the value only.
  EXPECT_THAT(volume.status().message(),
              HasSubstr("volumes: item 1: \"" + std::string(100, 'a') + "...\" is not a volume"));
  EXPECT_LT(volume.status().message().size(), 400u);
  EXPECT_FALSE(ParseServiceConfig(base + "source: " + long_value, "deploy.yml").ok());
  EXPECT_FALSE(ValidateServiceName(long_value).ok());
}

TEST(ServiceConfigTest, ValuesThatLookLikeOtherTypesRoundTrip) {
  ServiceConfig c;
  c.name = "123";
  c.image = "true";
  c.run = {"null", "0x10", "- a", "a: b"};
  c.mem_alloc_bytes = 3 * 1024 * kMiB;
  c.cpu_shares = 7;
  c.env = {"A=#not a comment"};
  c.restart_interval = std::chrono::milliseconds(1500);
  auto back = ParseServiceConfigNode(ServiceConfigToNode(c), "node");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, c);
  auto text = ParseServiceConfig(ServiceConfigToYaml(c), "text");
  ASSERT_TRUE(text.ok()) << text.status().message() << "\n" << ServiceConfigToYaml(c);
  EXPECT_EQ(*text, c);
}

TEST(ServiceNameTest, Rules) {
  for (const char* good : {"a", "demo", "my-svc_2.0", "A1"}) {
    EXPECT_TRUE(ValidateServiceName(good).ok()) << good;
  }
  for (const char* bad : {"", "-a", ".a", "a/b", "a b", "a+", "a#", "\xc3\xa9"}) {
    EXPECT_FALSE(ValidateServiceName(bad).ok()) << bad;
  }
  EXPECT_TRUE(ValidateServiceName(std::string(63, 'a')).ok());
  EXPECT_FALSE(ValidateServiceName(std::string(64, 'a')).ok());
  EXPECT_EQ(ValidateServiceName("server").message(),
            "\"server\" is reserved (it is the spawnpoint's own topic)");
  // The override wins over the file's name, and is validated too.
  auto c = ParseServiceConfig("name: server\nrun: [sh]\nmemAlloc: 8M\ncpuShares: 2", "deploy.yml",
                              std::string("fine"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->name, "fine");
  EXPECT_FALSE(
      ParseServiceConfig("run: [sh]\nmemAlloc: 8M\ncpuShares: 2", "deploy.yml", std::string("a/b"))
          .ok());
}

TEST(ServiceConfigTest, OverlayNetAndItsAliasNetworkNameANetworkToJoin) {
  const std::string base = "name: s\nrun: [sh]\nmemAlloc: 8M\ncpuShares: 2\n";
  auto c = ParseServiceConfig(base + "overlayNet: svc-net_1.a", "deploy.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->overlay_net, "svc-net_1.a");
  auto alias = ParseServiceConfig(base + "network: svcnet", "deploy.yml");
  ASSERT_TRUE(alias.ok()) << alias.status().message();
  EXPECT_EQ(alias->overlay_net, "svcnet");
  // Written back under its own name, and read back the same (as the wire format and the container
  // label carry it).
  EXPECT_THAT(ServiceConfigToYaml(*alias), HasSubstr("overlayNet: svcnet\n"));
  auto text = ParseServiceConfig(ServiceConfigToYaml(*alias), "text");
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(*text, *alias);
  auto node = ParseServiceConfigNode(ServiceConfigToNode(*alias), "node");
  ASSERT_TRUE(node.ok()) << node.status().message();
  EXPECT_EQ(*node, *alias);
}

TEST(ServiceConfigTest, OverlayNetErrorsNameTheKeyTheValueAndWhatWasExpected) {
  const std::string base = "name: s\nrun: [x]\nmemAlloc: 1G\ncpuShares: 1\n";
  struct Case {
    std::string yaml;
    std::string expected;
  } cases[] = {
      {base + "overlayNet: my net",
       "deploy.yml:5: overlayNet: \"my net\" is not a network name; expected 1-255 letters, "
       "digits, _ . - starting with a letter or digit, like svcnet"},
      {base + "network: -net", "deploy.yml:5: network: \"-net\" is not a network name"},
      {base + "overlayNet: a/b", "overlayNet: \"a/b\" is not a network name"},
      {base + "overlayNet: \"\"", "overlayNet: \"\" is not a network name"},
      {base + "overlayNet: [a]", "overlayNet: a list is not a network name; expected text"},
      {base + "overlayNet: " + std::string(256, 'n'), "is not a network name"},
      {base + "overlayNet: host", "overlayNet: \"host\" is one of Docker's own networks"},
      {base + "overlayNet: bridge", "overlayNet: \"bridge\" is one of Docker's own networks"},
      {base + "overlayNet: none", "overlayNet: \"none\" is one of Docker's own networks"},
      {base + "overlayNet: a\nnetwork: b",
       "deploy.yml:6: network: given twice (network is another name for overlayNet); expected "
       "each key once"},
      {base + "overlayNet: svcnet\nuseHostNet: true",
       "deploy.yml: overlayNet: \"svcnet\" cannot be combined with useHostNet: true"},
      {base + "useHostNet: true\nnetwork: svcnet", "expected one of overlayNet and useHostNet"},
  };
  for (const auto& c : cases) {
    auto parsed = ParseServiceConfig(c.yaml, "deploy.yml");
    ASSERT_FALSE(parsed.ok()) << c.yaml;
    EXPECT_EQ(parsed.status().code(), Code::kBadRequest);
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.expected)) << c.yaml;
  }
  // useHostNet: false is no conflict.
  EXPECT_TRUE(
      ParseServiceConfig(base + "overlayNet: svcnet\nuseHostNet: false", "deploy.yml").ok());
}

TEST(NetworkNameTest, DockersRuleAndItsOwnNetworks) {
  for (const char* good : {"a", "svcnet", "my-net_2.0", "A1", "0net"}) {
    EXPECT_TRUE(ValidateNetworkName(good).ok()) << good;
  }
  for (const char* bad :
       {"", "-a", ".a", "_a", "a/b", "a b", "a:b", "\xc3\xa9", "host", "bridge", "none"}) {
    EXPECT_FALSE(ValidateNetworkName(bad).ok()) << bad;
  }
  EXPECT_TRUE(ValidateNetworkName(std::string(255, 'a')).ok());
  EXPECT_FALSE(ValidateNetworkName(std::string(256, 'a')).ok());
}

TEST(SpawndConfigTest, ContainerBrokerDefaultsToBrokerAndAliasToPath) {
  auto c = ParseSpawndConfig(
      "path: x/y/zeta\nbroker: ssl://b:8883\nmemAlloc: 1G\ncpuShares: 1\ncontainerBroker: "
      "tcp://c:1883",
      "spawnd.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->container_broker, "tcp://c:1883");
  auto d = ParseSpawndConfig("path: x/y/zeta\nbroker: ssl://b:8883\nmemAlloc: 1G\ncpuShares: 1",
                             "spawnd.yml");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->alias, "zeta");
  EXPECT_EQ(d->container_broker, "ssl://b:8883");
}

TEST(SpawndConfigTest, LoadFileUsesThePathInMessages) {
  const std::string path = ::testing::TempDir() + "/spawnd.yml";
  std::ofstream(path) << "path: a\nmemAlloc: 1G\ncpuShares: none\n";
  auto c = LoadSpawndConfigFile(path);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr(path + ":3: cpuShares: \"none\""));
  EXPECT_EQ(LoadSpawndConfigFile("/nonexistent/spawnd.yml").status().code(), Code::kNotFound);
}

TEST(ServiceConfigTest, LoadFileReportsMissingFile) {
  auto missing = LoadServiceConfigFile("/nonexistent/deploy.yml");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("cannot read /nonexistent/deploy.yml"));
}

TEST(MetadataTest, ReadsScalarPairs) {
  const std::string path = ::testing::TempDir() + "/metadata.yml";
  std::ofstream(path) << "location: lab 3\nfloor: 2\n";
  auto m = LoadMetadataFile(path);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->at("location"), "lab 3");
  EXPECT_EQ(m->at("floor"), "2");
  std::ofstream(path) << "location: [a]\n";
  EXPECT_THAT(LoadMetadataFile(path).status().message(),
              HasSubstr("location: a list is not a value"));
}

// ---- confinement keys, and nothing unchecked reaching the engine ----

TEST(ServiceConfigTest, ConfinementKeys) {
  auto c = ParseServiceConfig(
      "name: s\nrun: [x]\nmemAlloc: 1G\ncpuShares: 1\npidsLimit: 50\nreadOnly: true\n"
      "user: \"1000:1000\"\n",
      "deploy.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->pids_limit, 50);
  EXPECT_TRUE(c->read_only);
  EXPECT_EQ(c->user, "1000:1000");
  auto d = ParseServiceConfig("name: s\nrun: [x]\nmemAlloc: 1G\ncpuShares: 1\nuser: 1000\n", "d");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->user, "1000");
  EXPECT_EQ(d->pids_limit, 0);  // the spawnpoint's
  EXPECT_FALSE(d->read_only);
}

TEST(SpawndConfigTest, PidsLimitAndServicesIdentity) {
  auto d = ParseSpawndConfig(kMinimalSpawnd, "spawnd.yml");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->pids_limit, 1024);
  EXPECT_TRUE(d->service_username.empty());
  auto c = ParseSpawndConfig(std::string(kMinimalSpawnd) +
                                 "pidsLimit: 200\nserviceUsername: sp-svc:scratch.ns\n"
                                 "servicePasswordFile: /etc/spawnd/services.password\n",
                             "spawnd.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->pids_limit, 200);
  EXPECT_EQ(c->service_username, "sp-svc:scratch.ns");
  EXPECT_EQ(c->service_password_file, "/etc/spawnd/services.password");
  auto bad = ParseSpawndConfig(std::string(kMinimalSpawnd) + "pidsLimit: 0\n", "spawnd.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("pidsLimit: \"0\" is not a positive integer"));
}

TEST(SpawndConfigTest, TheDiskBudgetAndImageGraceAreReadAndChecked) {
  auto d = ParseSpawndConfig(kMinimalSpawnd, "spawnd.yml");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->disk_alloc_bytes, 0);  // no budget
  EXPECT_EQ(d->image_grace, std::chrono::hours(1));
  auto c = ParseSpawndConfig(std::string(kMinimalSpawnd) + "diskAlloc: 20G\nimageGrace: 10m\n",
                             "spawnd.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->disk_alloc_bytes, 20LL << 30);
  EXPECT_EQ(c->image_grace, std::chrono::minutes(10));
  auto bad = ParseSpawndConfig(std::string(kMinimalSpawnd) + "diskAlloc: lots\n", "spawnd.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("diskAlloc: \"lots\" is not a size"));
}

TEST(ServiceConfigTest, ValuesThatWouldReachTheEngineAreChecked) {
  const std::string base = "name: s\nrun: [x]\ncpuShares: 1\nmemAlloc: 1G\n";
  struct Case {
    std::string yaml;
    std::string expected;
  } cases[] = {
      {base + "image: \"busybox\\nRUN touch /x\"",
       "image: \"busybox\nRUN touch /x\" is not an image reference; expected "},
      {base + "container: \"busybox latest\"", "container: \"busybox latest\" is not an image"},
      {base + "image: Busybox", "image: \"Busybox\" is not an image reference"},
      {base + "image: \"busybox:\"", "is not an image reference"},
      {base + "image: \"busybox@sha256:abc\"", "is not an image reference"},
      {base + "image: \"a..b\"", "is not an image reference"},
      {base + "image: \"-a\"", "is not an image reference"},
      {base + "image: \"" + std::string(256, 'a') + "\"", "is not an image reference"},
      {base + "aptRequires: [jq, \"jq; touch x\"]",
       "aptRequires: item 2: \"jq; touch x\" is not a Debian package name; expected "},
      {base + "aptRequires: [\"-y\"]", "\"-y\" is not a Debian package name"},
      {base + "aptRequires: [J]", "\"J\" is not a Debian package name"},
      {base + "aptRequires: [\"jq=1.6 x\"]", "\"jq=1.6 x\" is not a Debian package name"},
      {base + "aptRequires: [\"$(id)\"]", "\"$(id)\" is not a Debian package name"},
      {base + "env: [\"A-B=1\"]", "env: item 1: \"A-B=1\" is not an environment entry"},
      {base + "env: [\"A B=1\"]", "env: item 1: \"A B=1\" is not an environment entry"},
      {base + "user: root", "user: \"root\" is not a user; expected UID or UID:GID"},
      {base + "user: \"1000:\"", "user: \"1000:\" is not a user"},
      {base + "user: \"-1\"", "user: \"-1\" is not a user"},
      {base + "pidsLimit: -5", "pidsLimit: \"-5\" is not a positive integer"},
      {base + "readOnly: maybe", "readOnly: \"maybe\" is not a boolean"},
  };
  for (const auto& test : cases) {
    auto c = ParseServiceConfig(test.yaml, "deploy.yml");
    ASSERT_FALSE(c.ok()) << test.yaml;
    EXPECT_EQ(c.status().code(), Code::kBadRequest);
    EXPECT_THAT(c.status().message(), HasSubstr(test.expected)) << test.yaml;
  }
}

TEST(ImageReferenceTest, DockersGrammar) {
  for (const std::string& ok : std::vector<std::string>{
           "busybox", "debian:12", "spawnpoint/base:latest", "ghcr.io/example/svc:1.2",
           "localhost:5000/a/b", "registry.example.org:443/x_y/z__w/v-w--x:TAG_1.0-rc",
           "busybox@sha256:" + std::string(64, 'a'),
           "my.registry/img:1@sha256:" + std::string(64, '0'), "Registry.Example.org/img"}) {
    EXPECT_TRUE(ValidateImageReference(ok).ok()) << ok;
  }
  for (const std::string& bad : std::vector<std::string>{
           "", "busybox ", "busy box", "a/", "/a", "a//b", "a:b:c", "UPPER", "a___b", "a_", "a:-x",
           "host:port/img", "img:" + std::string(129, 'x'), "busybox\nRUN x", "a@sha512:00"}) {
    EXPECT_FALSE(ValidateImageReference(bad).ok()) << bad;
  }
}

TEST(AptPackageTest, DebianNames) {
  for (const char* ok : {"jq", "libssl3", "g++", "libstdc++6", "python3.11", "jq=1.6-2.1",
                         "libc6:amd64", "libc6:i386=2.36-9+deb12u4", "foo=1:2.0~rc1"}) {
    EXPECT_TRUE(ValidateAptPackage(ok).ok()) << ok;
  }
  for (const char* bad : {"", "j", "-y", "+x", "jq;", "jq touch", "Jq", "jq=", "jq:", "jq=$(x)",
                          "jq=1 2", "jq\n", "--allow-unauthenticated"}) {
    EXPECT_FALSE(ValidateAptPackage(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace spawn

namespace spawn {
namespace {

constexpr const char* kBase = "name: s\nrun: [sh]\nmemAlloc: 8M\ncpuShares: 2\n";

TEST(HealthCheckConfigTest, HttpWithDefaultsAndRoundTrip) {
  auto c = ParseServiceConfig(std::string(kBase) +
                                  "healthCheck: {http: \"http://127.0.0.1:8080/health?x=1\", "
                                  "expect: \"ok|fine\"}\n",
                              "deploy.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->health_check.has_value());
  EXPECT_EQ(c->health_check->http, "http://127.0.0.1:8080/health?x=1");
  EXPECT_EQ(c->health_check->expect, "ok|fine");
  EXPECT_EQ(c->health_check->interval, std::chrono::seconds(10));
  EXPECT_EQ(c->health_check->timeout, std::chrono::seconds(2));
  EXPECT_EQ(c->health_check->retries, 3);
  EXPECT_EQ(c->health_check->start_period, Duration(0));
  auto back = ParseServiceConfig(ServiceConfigToYaml(*c), "round-trip");
  ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << ServiceConfigToYaml(*c);
  EXPECT_EQ(*back, *c);
}

TEST(HealthCheckConfigTest, CmdWithEveryKeyRoundTrips) {
  auto c = ParseServiceConfig(std::string(kBase) +
                                  "healthCheck:\n  cmd: [test, -f, /tmp/ok]\n  interval: 5s\n"
                                  "  timeout: 1s\n  retries: 2\n  startPeriod: 30s\n",
                              "deploy.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_THAT(c->health_check->cmd, ElementsAre("test", "-f", "/tmp/ok"));
  EXPECT_EQ(c->health_check->interval, seconds(5));
  EXPECT_EQ(c->health_check->timeout, seconds(1));
  EXPECT_EQ(c->health_check->retries, 2);
  EXPECT_EQ(c->health_check->start_period, seconds(30));
  auto back = ParseServiceConfig(ServiceConfigToYaml(*c), "round-trip");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, *c);
}

TEST(HealthCheckConfigTest, ErrorsNameTheKey) {
  const auto error = [](const std::string& check) {
    auto c = ParseServiceConfig(std::string(kBase) + "healthCheck: " + check + "\n", "deploy.yml");
    return c.ok() ? std::string("accepted") : c.status().message();
  };
  EXPECT_THAT(error("{cmd: [true], http: \"http://127.0.0.1/\"}"),
              HasSubstr("deploy.yml:5: healthCheck: has both cmd and http; expected exactly one"));
  EXPECT_THAT(error("{interval: 5s}"), HasSubstr("healthCheck: has neither cmd nor http"));
  EXPECT_THAT(error("{http: \"http://127.0.0.1/\", expect: \"(\"}"),
              HasSubstr("healthCheck: expect: \"(\" is not a valid regular expression"));
  EXPECT_THAT(error("{http: \"https://127.0.0.1/\"}"),
              HasSubstr("healthCheck: http: \"https://127.0.0.1/\" is not an http URL"));
  EXPECT_THAT(error("{http: \"http://127.0.0.1:0/\"}"), HasSubstr("is not an http URL"));
  EXPECT_THAT(error("{cmd: [true], retries: 0}"),
              HasSubstr("healthCheck: retries: \"0\" is not a positive integer"));
  EXPECT_THAT(error("{cmd: [true], interval: 0s}"), HasSubstr("healthCheck: interval:"));
  EXPECT_THAT(error("{cmd: [true], colour: red}"),
              HasSubstr("healthCheck: unknown key \"colour\""));
  EXPECT_THAT(error("{cmd: [true], expect: ok}"), HasSubstr("applies to an http check only"));
  EXPECT_THAT(error("yes"), HasSubstr("healthCheck: \"yes\" is not a health check"));
}

TEST(HealthCheckConfigTest, HttpTargetAndMatcher) {
  auto t = ParseHttpTarget("http://127.0.0.1:8080/a/b?c=d");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->port, 8080);
  EXPECT_EQ(t->path, "/a/b?c=d");
  auto bare = ParseHttpTarget("http://localhost");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 80);
  EXPECT_EQ(bare->path, "/");
  EXPECT_FALSE(ParseHttpTarget("ftp://x/").ok());
  EXPECT_TRUE(MatchesExtendedRegex("\"status\":\"(ok|up)\"", "{\"status\":\"up\"}"));
  EXPECT_FALSE(MatchesExtendedRegex("^ok$", "not ok"));
  EXPECT_FALSE(MatchesExtendedRegex("(", "("));
  EXPECT_TRUE(MatchesExtendedRegex("x", std::string(1 << 20, 'a') + "x"));  // no recursion
}

TEST(LabelsConfigTest, ReadAndRoundTripAndBadKeysNamed) {
  const std::string base = "name: web\nrun: [./web]\nmemAlloc: 64M\ncpuShares: 64\n";
  auto c = ParseServiceConfig(base + "labels: {team: web, spawnpoint.fleet/set: web}\n", "d.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->labels,
            (std::map<std::string, std::string>{{"team", "web"}, {"spawnpoint.fleet/set", "web"}}));
  auto back = ParseServiceConfig(ServiceConfigToYaml(*c), "again");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, *c);
  EXPECT_EQ(ParseServiceConfig(base + "labels: [a]\n", "d.yml").status().message(),
            "d.yml:5: labels: a list is not a map; expected key: value pairs, like {team: web}");
  EXPECT_EQ(ParseServiceConfig(base + "labels: {\"bad key\": x}\n", "d.yml").status().message(),
            "d.yml:5: labels: \"bad key\" is not a label key; expected 1-128 letters, digits, _ "
            ". - / starting with a letter or digit, like team");
}

TEST(LabelsConfigTest, AReplicatedServiceIsNotDeployedPlainly) {
  const std::string base = "name: web\nrun: [./web]\nmemAlloc: 64M\ncpuShares: 64\n";
  EXPECT_EQ(ParseServiceConfig(base + "replicas: -1\n", "d.yml").status().message(),
            "d.yml:5: replicas: \"-1\" makes a replicated service; expected it applied to a "
            "fleet with spawnctl fleet apply -u BASE -c FILE, not deployed with spawnctl deploy");
}

TEST(SpawndConfigTest, FleetRunsTheReconcilerForABase) {
  const std::string base = "path: site/alpha\nmemAlloc: 1G\ncpuShares: 1024\n";
  auto none = ParseSpawndConfig(base, "spawnd.yml");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->fleet.has_value());
  auto c = ParseSpawndConfig(
      base + "fleet: {base: site/, username: op, passwordFile: /etc/op.password}\n", "spawnd.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->fleet.has_value());
  EXPECT_EQ(*c->fleet, (FleetAgentConfig{"site", "op", "/etc/op.password"}));
  EXPECT_EQ(ParseSpawndConfig(base + "fleet: site\n", "spawnd.yml").status().message(),
            "spawnd.yml:4: fleet: \"site\" is not a fleet; expected a map, like {base: site, "
            "username: fleet-op, passwordFile: /etc/spawnd/fleet-password}");
  EXPECT_EQ(ParseSpawndConfig(base + "fleet: {username: op}\n", "spawnd.yml").status().message(),
            "spawnd.yml:4: fleet: base: \"\" is not a base; expected the topic its spawnpoints "
            "are under, like site");
  EXPECT_THAT(ParseSpawndConfig(base + "fleet: {bass: x}\n", "spawnd.yml").status().message(),
              HasSubstr("unknown key \"bass\"; expected one of base, passwordFile, username"));
}

}  // namespace
}  // namespace spawn
