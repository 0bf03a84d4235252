#include "spawn/access/dynsec_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spawn/access/password.h"

namespace spawn::access::dynsec {
namespace {

TEST(DynsecCommandsTest, CreateRoleCarriesItsAcls) {
  const Role role{"sp-x",
                  "what for",
                  {{AclType::kSubscribePattern, "a/#", true, 1},
                   {AclType::kPublishClientReceive, "a/+/s", false, 10}}};
  EXPECT_EQ(CreateRole(role), Json::parse(R"({"command":"createRole","rolename":"sp-x",
    "textdescription":"what for","acls":[
      {"acltype":"subscribePattern","topic":"a/#","priority":1,"allow":true},
      {"acltype":"publishClientReceive","topic":"a/+/s","priority":10,"allow":false}]})"));
}

TEST(DynsecCommandsTest, ClientCommands) {
  EXPECT_EQ(CreateClient("u", "pw", {"r1", "r2"}), Json::parse(R"({"command":"createClient",
    "username":"u","password":"pw","roles":[{"rolename":"r1","priority":0},
    {"rolename":"r2","priority":0}]})"));
  EXPECT_EQ(SetClientPassword("u", "pw"),
            Json::parse(R"({"command":"setClientPassword","username":"u","password":"pw"})"));
  EXPECT_EQ(DeleteClient("u"), Json::parse(R"({"command":"deleteClient","username":"u"})"));
  EXPECT_EQ(GetClient("u"), Json::parse(R"({"command":"getClient","username":"u"})"));
  EXPECT_EQ(ListClients(), Json::parse(R"({"command":"listClients","verbose":true})"));
  EXPECT_EQ(DeleteRole("r"), Json::parse(R"({"command":"deleteRole","rolename":"r"})"));
  EXPECT_EQ(GetRole("r"), Json::parse(R"({"command":"getRole","rolename":"r"})"));
}

TEST(DynsecCommandsTest, DecodesClients) {
  auto one = ClientOf(Json::parse(R"({"client":{"username":"u","roles":[{"rolename":"r"}]}})"));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, (ClientInfo{"u", {"r"}}));
  auto all = ClientsOf(Json::parse(R"({"totalCount":2,"clients":[
    {"username":"admin","textname":"Dynsec admin user","roles":[{"rolename":"admin"}]},
    {"username":"v","roles":[]}]})"));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<ClientInfo>{{"admin", {"admin"}}, {"v", {}}}));
  EXPECT_EQ(ClientsOf(Json::parse(R"({"clients":[{"roles":[]}]})")).status().code(),
            Code::kInternal);
  EXPECT_EQ(ClientOf(Json()).status().code(), Code::kInternal);
}

TEST(DynsecCommandsTest, ErrorsMapToCodes) {
  EXPECT_EQ(StatusOfError("Client already exists"), Status::Conflict("Client already exists"));
  EXPECT_EQ(StatusOfError("Role not found").code(), Code::kNotFound);
  EXPECT_EQ(StatusOfError("Invalid/missing username").code(), Code::kBadRequest);
  EXPECT_EQ(StatusOfError("Internal error").code(), Code::kInternal);
}

TEST(PasswordTest, LongAndOfLettersAndDigits) {
  auto a = GeneratePassword(), b = GeneratePassword();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->size(), kPasswordLength);
  EXPECT_GE(kPasswordLength, 24u);
  EXPECT_NE(*a, *b);
  EXPECT_THAT(*a, ::testing::MatchesRegex("[A-Za-z0-9]+"));
}

}  // namespace
}  // namespace spawn::access::dynsec
