#include "spawn/access/access_admin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_dynsec.h"

namespace spawn::access {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

class AccessAdminTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(bus_.Connect().ok()); }

  // Passwords "pw1", "pw2", ... in the order asked for.
  Result<std::string> NextPassword() { return "pw" + std::to_string(++passwords_); }

  FakeBroker broker_;
  FakeDynsec plugin_{broker_};
  FakeBus bus_{broker_};
  DynsecClient dynsec_{bus_, std::chrono::seconds(30)};
  int passwords_ = 0;
  AccessAdmin admin_{dynsec_, [this] { return NextPassword(); }};
};

dynsec::Json AclsOf(const Role& role) { return dynsec::CreateRole(role)["acls"]; }

TEST_F(AccessAdminTest, HostGetsTwoIdentitiesWithTheirRoles) {
  auto made = admin_.ProvisionHost("fleet/alpha");
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(made->username, "sp:fleet/alpha");
  EXPECT_EQ(made->password, "pw1");
  EXPECT_EQ(made->services_username, "sp-svc:fleet/alpha");
  EXPECT_EQ(made->services_password, "pw2");
  EXPECT_THAT(plugin_.CommandNames(),
              ElementsAre("getClient", "getClient", "deleteRole", "deleteRole", "createRole",
                          "createRole", "createClient", "createClient"));
  const auto clients = plugin_.Clients();
  ASSERT_EQ(clients.size(), 2u);
  EXPECT_EQ(clients.at("sp:fleet/alpha").password, "pw1");
  EXPECT_THAT(clients.at("sp:fleet/alpha").roles, ElementsAre("sp-host:fleet/alpha"));
  EXPECT_THAT(clients.at("sp-svc:fleet/alpha").roles, ElementsAre("sp-svc:fleet/alpha"));
  EXPECT_THAT(plugin_.Roles(),
              ElementsAre(Pair("sp-host:fleet/alpha", AclsOf(HostRole("fleet/alpha"))),
                          Pair("sp-svc:fleet/alpha", AclsOf(ServicesRole("fleet/alpha")))));
}

TEST_F(AccessAdminTest, HostAgainIsAConflictAndChangesNothing) {
  ASSERT_TRUE(admin_.ProvisionHost("fleet/alpha").ok());
  plugin_.ClearCommands();
  auto again = admin_.ProvisionHost("fleet/alpha");
  EXPECT_EQ(again.status().code(), Code::kConflict);
  EXPECT_THAT(again.status().message(), HasSubstr("sp:fleet/alpha already exists"));
  EXPECT_THAT(again.status().message(), HasSubstr("--rotate"));
  EXPECT_THAT(plugin_.CommandNames(), ElementsAre("getClient", "getClient"));
  EXPECT_EQ(plugin_.Clients().at("sp:fleet/alpha").password, "pw1");
}

TEST_F(AccessAdminTest, RotateSetsNewPasswords) {
  ASSERT_TRUE(admin_.ProvisionHost("fleet/alpha").ok());
  auto rotated = admin_.RotateHost("fleet/alpha");
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_EQ(plugin_.Clients().at("sp:fleet/alpha").password, "pw3");
  EXPECT_EQ(plugin_.Clients().at("sp-svc:fleet/alpha").password, "pw4");
  EXPECT_EQ(rotated->password, "pw3");
}

TEST_F(AccessAdminTest, RotateOfAnUnknownPathIsNotFound) {
  auto rotated = admin_.RotateHost("fleet/ghost");
  EXPECT_EQ(rotated.status().code(), Code::kNotFound);
  EXPECT_THAT(rotated.status().message(), HasSubstr("no user sp:fleet/ghost"));
}

TEST_F(AccessAdminTest, InvalidPathSendsNothing) {
  auto made = admin_.ProvisionHost("alpha");
  EXPECT_EQ(made.status().code(), Code::kBadRequest);
  EXPECT_THAT(made.status().message(), HasSubstr("\"alpha\""));
  EXPECT_TRUE(plugin_.Commands().empty());
  EXPECT_EQ(admin_.ProvisionOperator("alice", "fleet/#").status().code(), Code::kBadRequest);
  EXPECT_EQ(admin_.ProvisionViewer("sp:x", "fleet").status().code(), Code::kBadRequest);
  EXPECT_TRUE(plugin_.Commands().empty());
}

TEST_F(AccessAdminTest, OperatorsOfABaseShareOneRole) {
  auto alice = admin_.ProvisionOperator("alice", "fleet");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  EXPECT_EQ(alice->role, "sp-operator:fleet");
  EXPECT_EQ(alice->password, "pw1");
  EXPECT_THAT(plugin_.CommandNames(),
              ElementsAre("getClient", "getRole", "createRole", "createClient"));
  plugin_.ClearCommands();
  ASSERT_TRUE(admin_.ProvisionOperator("bob", "fleet").ok());
  EXPECT_THAT(plugin_.CommandNames(), ElementsAre("getClient", "getRole", "createClient"));
  EXPECT_THAT(plugin_.Roles(),
              ElementsAre(Pair("sp-operator:fleet", AclsOf(OperatorRole("fleet")))));
  EXPECT_EQ(admin_.ProvisionOperator("bob", "fleet").status().code(), Code::kConflict);
}

TEST_F(AccessAdminTest, ViewerGetsTheViewerRole) {
  auto carol = admin_.ProvisionViewer("carol", "fleet");
  ASSERT_TRUE(carol.ok());
  EXPECT_THAT(plugin_.Clients().at("carol").roles, ElementsAre("sp-viewer:fleet"));
  EXPECT_THAT(plugin_.Roles(), ElementsAre(Pair("sp-viewer:fleet", AclsOf(ViewerRole("fleet")))));
}

TEST_F(AccessAdminTest, RevokeDeletesTheUserAndRolesNobodyElseHas) {
  ASSERT_TRUE(admin_.ProvisionOperator("alice", "fleet").ok());
  ASSERT_TRUE(admin_.ProvisionOperator("bob", "fleet").ok());
  auto first = admin_.Revoke("alice");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->empty());  // bob still has it
  EXPECT_EQ(plugin_.Roles().count("sp-operator:fleet"), 1u);
  auto second = admin_.Revoke("bob");
  ASSERT_TRUE(second.ok());
  EXPECT_THAT(*second, ElementsAre("sp-operator:fleet"));
  EXPECT_TRUE(plugin_.Roles().empty());
  EXPECT_TRUE(plugin_.Clients().empty());
}

TEST_F(AccessAdminTest, RevokeLeavesRolesThatAreNotSpawnpoints) {
  plugin_.AddClient("admin", {"x", {"admin"}});
  auto revoked = admin_.Revoke("admin");
  ASSERT_TRUE(revoked.ok());
  EXPECT_TRUE(revoked->empty());
  EXPECT_THAT(plugin_.CommandNames(), ElementsAre("getClient", "deleteClient", "listClients"));
}

TEST_F(AccessAdminTest, RevokeOfAnUnknownUserIsNotFound) {
  auto revoked = admin_.Revoke("nobody");
  EXPECT_EQ(revoked.status().code(), Code::kNotFound);
  EXPECT_THAT(revoked.status().message(), HasSubstr("no user nobody"));
}

TEST_F(AccessAdminTest, ListShowsUsersAndRoles) {
  ASSERT_TRUE(admin_.ProvisionHost("fleet/alpha").ok());
  ASSERT_TRUE(admin_.ProvisionViewer("carol", "fleet").ok());
  auto list = admin_.List();
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(*list, ElementsAre(dynsec::ClientInfo{"carol", {"sp-viewer:fleet"}},
                                 dynsec::ClientInfo{"sp-svc:fleet/alpha", {"sp-svc:fleet/alpha"}},
                                 dynsec::ClientInfo{"sp:fleet/alpha", {"sp-host:fleet/alpha"}}));
  EXPECT_EQ(KindOf(list->at(0)), "viewer");
  EXPECT_EQ(KindOf(list->at(1)), "services");
  EXPECT_EQ(KindOf(list->at(2)), "host");
}

TEST_F(AccessAdminTest, AFailedStepSaysWhich) {
  plugin_.FailNext("createClient", "Internal error");
  auto made = admin_.ProvisionViewer("carol", "fleet");
  EXPECT_EQ(made.status(), Status::Internal("making user carol for fleet: Internal error"));
}

TEST_F(AccessAdminTest, SilentBrokerTimesOut) {
  plugin_.Silence(true);
  DynsecClient quick(bus_, std::chrono::milliseconds(1));
  AccessAdmin admin(quick, [this] { return NextPassword(); });
  auto made = admin.ProvisionHost("fleet/alpha");
  EXPECT_EQ(made.status().code(), Code::kTimeout);
  EXPECT_THAT(made.status().message(), HasSubstr("access host fleet/alpha: the broker did not"));
}

}  // namespace
}  // namespace spawn::access
