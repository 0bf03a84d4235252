// deploy.yml of a replicated service: replicas and placement, with errors that name the key, the
// value and what was expected; replica names and labels.
#include "spawn/fleet/fleet_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spawn::fleet {
namespace {

using ::testing::HasSubstr;

const std::string kBase = "name: web\nrun: [./web]\nmemAlloc: 512M\ncpuShares: 512\n";

TEST(FleetSpecTest, ReadsReplicasAndPlacement) {
  auto c = ParseFleetConfig(kBase +
                                "replicas: 3\nplacement:\n  spread: false\n  require: {location: "
                                "building-a}\n  rescheduleAfter: 3s\n",
                            "web.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->replicas, 3);
  EXPECT_FALSE(c->placement.spread);
  EXPECT_EQ(c->placement.require, (std::map<std::string, std::string>{{"location", "building-a"}}));
  EXPECT_EQ(c->placement.reschedule_after, std::chrono::seconds(3));
  EXPECT_EQ(c->config.name, "web");
  EXPECT_EQ(c->config.run, std::vector<std::string>{"./web"});
}

TEST(FleetSpecTest, PlacementDefaults) {
  auto c = ParseFleetConfig(kBase + "replicas: 2\n", "web.yml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->placement.spread);
  EXPECT_TRUE(c->placement.require.empty());
  EXPECT_EQ(c->placement.reschedule_after, std::chrono::seconds(60));
}

TEST(FleetSpecTest, BadInputNamesTheKeyTheValueAndWhatWasExpected) {
  auto negative = ParseFleetConfig(kBase + "replicas: -1\n", "web.yml");
  EXPECT_EQ(negative.status().message(),
            "web.yml:5: replicas: \"-1\" is not a number of replicas; expected an integer from 0 "
            "to 10000, like 3");
  auto unknown = ParseFleetConfig(kBase + "replicas: 2\nplacement: {spred: true}\n", "web.yml");
  EXPECT_EQ(unknown.status().message(),
            "web.yml:6: placement: unknown key \"spred\"; expected one of spread, require, "
            "rescheduleAfter");
  auto require =
      ParseFleetConfig(kBase + "replicas: 2\nplacement: {require: building-a}\n", "web.yml");
  EXPECT_EQ(require.status().message(),
            "web.yml:6: placement: require: \"building-a\" is not a map; expected key: value "
            "pairs matched against the spawnpoints' metadata, like {location: building-a}");
  auto missing = ParseFleetConfig(kBase, "web.yml");
  EXPECT_THAT(missing.status().message(), HasSubstr("replicas is required"));
  auto own_label =
      ParseFleetConfig(kBase + "replicas: 1\nlabels: {spawnpoint.fleet/set: x}\n", "web.yml");
  EXPECT_THAT(own_label.status().message(), HasSubstr("is the fleet's own label"));
  auto service = ParseFleetConfig(kBase + "replicas: 1\nmemAlloc: 1X\n", "web.yml");
  EXPECT_FALSE(service.ok());
}

TEST(FleetSpecTest, APlainDeployOfAReplicatedServiceSaysToUseFleetApply) {
  auto c = ParseServiceConfig(kBase + "replicas: 3\n", "web.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "web.yml:5: replicas: \"3\" makes a replicated service; expected it applied to a "
            "fleet with spawnctl fleet apply -u BASE -c FILE, not deployed with spawnctl deploy");
  auto p = ParseServiceConfig(kBase + "placement: {spread: true}\n", "web.yml");
  EXPECT_THAT(p.status().message(), HasSubstr("spawnctl fleet apply"));
}

TEST(FleetSpecTest, TheSetsNameLeavesRoomForTheReplicaSuffix) {
  const std::string n61(61, 'a');
  EXPECT_TRUE(ValidateSetName(n61, 10).ok());  // a-9: 63
  Status too_long = ValidateSetName(n61, 11);  // a-10: 64
  EXPECT_EQ(too_long.message(),
            "\"" + n61 +
                "\" is too long for 11 replicas; expected at most 60 characters, so that its "
                "replicas' names (like " +
                n61 + "-10) have at most 63");
  auto c = ParseFleetConfig(
      "name: " + std::string(62, 'b') + "\nrun: [x]\nmemAlloc: 1M\ncpuShares: 1\nreplicas: 2\n",
      "web.yml");
  EXPECT_THAT(c.status().message(), HasSubstr("web.yml: name: "));
}

TEST(FleetSpecTest, ReplicaNamesAndLabels) {
  EXPECT_EQ(ReplicaName("web", 12), "web-12");
  EXPECT_EQ(ReplicaIndex("web", "web-12"), 12);
  EXPECT_EQ(ReplicaIndex("web", "web-012"), std::nullopt);
  EXPECT_EQ(ReplicaIndex("web", "web-x"), std::nullopt);
  EXPECT_EQ(ReplicaIndex("web", "webs-1"), std::nullopt);
  EXPECT_EQ(ReplicaIndex("web", "web-"), std::nullopt);
  ServiceConfig base;
  base.name = "web";
  base.labels = {{"team", "a"}};
  const ServiceConfig c = ReplicaConfig(base, "web", 2, 7, 3);
  EXPECT_EQ(c.name, "web-2");
  EXPECT_EQ(c.labels.at("team"), "a");
  auto labels = ReadReplicaLabels(c.labels);
  ASSERT_TRUE(labels.has_value());
  EXPECT_EQ(labels->set, "web");
  EXPECT_EQ(labels->generation, 7);
  EXPECT_EQ(labels->attempt, 3);
  EXPECT_FALSE(ReadReplicaLabels({{kSetLabel, "web"}, {kGenerationLabel, "x"}}).has_value());
  EXPECT_FALSE(ReadReplicaLabels(base.labels).has_value());
}

}  // namespace
}  // namespace spawn::fleet
