#include "spawn/access/roles.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spawn::access {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr AclType kSend = AclType::kPublishClientSend;
constexpr AclType kReceive = AclType::kPublishClientReceive;
constexpr AclType kSubscribe = AclType::kSubscribePattern;

TEST(RolesTest, HostPublishesUnderItsRootAndReadsItsOwnSlots) {
  const Role role = HostRole("fleet/alpha");
  EXPECT_EQ(role.name, "sp-host:fleet/alpha");
  EXPECT_THAT(
      role.acls,
      ElementsAre(Acl{kSend, "fleet/alpha/s.spawnpoint/#", true, 1},
                  Acl{kSubscribe, "fleet/alpha/s.spawnpoint/server/i.spawnpoint/slot/+", true, 1}));
}

TEST(RolesTest, ServicesMayNotTouchTheSpawnpointsOwnTopics) {
  const Role role = ServicesRole("fleet/alpha");
  EXPECT_EQ(role.name, "sp-svc:fleet/alpha");
  EXPECT_THAT(
      role.acls,
      ElementsAre(Acl{kSend, "fleet/alpha/s.spawnpoint/+/#", true, 1},
                  Acl{kSend, "fleet/alpha/s.spawnpoint/server/#", false, 10},
                  Acl{kSubscribe, "fleet/alpha/s.spawnpoint/+/#", true, 1},
                  Acl{kReceive, "fleet/alpha/s.spawnpoint/server/i.spawnpoint/slot/#", false, 10}));
}

TEST(RolesTest, OperatorCommandsEverySpawnpointOfItsBaseButReadsNoSlot) {
  const Role role = OperatorRole("site/lab");
  EXPECT_EQ(role.name, "sp-operator:site/lab");
  EXPECT_THAT(
      role.acls,
      ElementsAre(Acl{kSend, "site/lab/+/s.spawnpoint/server/i.spawnpoint/slot/+", true, 1},
                  Acl{kSend, "site/lab/s.spawnfleet/#", true, 1},
                  Acl{kSend, "site/lab/s.spawnctl/sync/+", true, 1},
                  Acl{kSend, "site/lab/+/s.spawnctl/sync/+", true, 1},
                  Acl{kSubscribe, "site/lab/#", true, 1},
                  Acl{kReceive, "site/lab/+/s.spawnpoint/server/i.spawnpoint/slot/#", false, 10}));
}

TEST(RolesTest, ViewerAsksForLogsAndScansOnly) {
  const Role role = ViewerRole("fleet");
  EXPECT_EQ(role.name, "sp-viewer:fleet");
  EXPECT_THAT(
      role.acls,
      ElementsAre(Acl{kSend, "fleet/+/s.spawnpoint/server/i.spawnpoint/slot/logs", true, 1},
                  Acl{kSend, "fleet/s.spawnctl/sync/+", true, 1},
                  Acl{kSend, "fleet/+/s.spawnctl/sync/+", true, 1},
                  Acl{kSubscribe, "fleet/#", true, 1},
                  Acl{kReceive, "fleet/+/s.spawnpoint/server/i.spawnpoint/slot/#", false, 10},
                  Acl{kReceive, "fleet/s.spawnfleet/+/files", false, 10}));
}

TEST(RolesTest, UsernamesAndRoleKinds) {
  EXPECT_EQ(HostUsername("fleet/alpha"), "sp:fleet/alpha");
  EXPECT_EQ(ServicesUsername("fleet/alpha"), "sp-svc:fleet/alpha");
  EXPECT_TRUE(IsSpawnpointRole("sp-viewer:fleet"));
  EXPECT_TRUE(IsSpawnpointRole("sp-host:fleet/a"));
  EXPECT_FALSE(IsSpawnpointRole("admin"));
  EXPECT_FALSE(IsSpawnpointRole("sp-other:x"));
  EXPECT_STREQ(ToString(AclType::kUnsubscribePattern), "unsubscribePattern");
}

TEST(RolesTest, PathIsABaseAndAnAlias) {
  EXPECT_TRUE(ValidatePath("fleet/alpha").ok());
  EXPECT_TRUE(ValidatePath("site/lab/alpha").ok());
  EXPECT_EQ(BaseOf("site/lab/alpha"), "site/lab");
  const Status one_level = ValidatePath("alpha");
  EXPECT_EQ(one_level.code(), Code::kBadRequest);
  EXPECT_THAT(one_level.message(), HasSubstr("\"alpha\""));
  EXPECT_THAT(one_level.message(), HasSubstr("expected BASE/<alias>"));
  EXPECT_THAT(ValidatePath("fleet/+").message(), HasSubstr("wildcard"));
  EXPECT_THAT(ValidatePath("fleet/#").message(), HasSubstr("wildcard"));
  EXPECT_THAT(ValidatePath("fleet//a").message(), HasSubstr("empty level"));
  EXPECT_THAT(ValidatePath("/fleet/a").message(), HasSubstr("empty level"));
  EXPECT_THAT(ValidatePath("fleet/a/").message(), HasSubstr("empty level"));
  EXPECT_THAT(ValidatePath("$SYS/a").message(), HasSubstr("starts with $"));
  EXPECT_THAT(ValidatePath("").message(), HasSubstr("path is empty"));
}

TEST(RolesTest, BaseHasOneLevelOrMore) {
  EXPECT_TRUE(ValidateBase("fleet").ok());
  EXPECT_TRUE(ValidateBase("site/lab").ok());
  EXPECT_EQ(ValidateBase("fleet/+").code(), Code::kBadRequest);
  EXPECT_THAT(ValidateBase("fleet/").message(), HasSubstr("base \"fleet/\" has an empty level"));
}

TEST(RolesTest, UserNames) {
  EXPECT_TRUE(ValidateUserName("alice").ok());
  EXPECT_THAT(ValidateUserName("").message(), HasSubstr("empty"));
  EXPECT_THAT(ValidateUserName("al ice").message(), HasSubstr("\"al ice\""));
  EXPECT_THAT(ValidateUserName("sp:fleet/a").message(), HasSubstr("reserved"));
  EXPECT_THAT(ValidateUserName("sp-svc:fleet/a").message(), HasSubstr("reserved"));
}

}  // namespace
}  // namespace spawn::access
