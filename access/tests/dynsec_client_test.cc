#include "spawn/access/dynsec_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_dynsec.h"

namespace spawn::access {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class DynsecClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(bus_.Connect().ok()); }

  FakeBroker broker_;
  FakeDynsec plugin_{broker_};
  FakeBus bus_{broker_};
  DynsecClient client_{bus_, std::chrono::seconds(30)};
};

TEST_F(DynsecClientTest, SendsOneBatchAndReturnsAnswersInOrder) {
  plugin_.AddClient("u", {"pw", {"r"}});
  auto answers = client_.Execute({dynsec::GetClient("u"), dynsec::GetClient("nobody")});
  ASSERT_TRUE(answers.ok()) << answers.status().ToString();
  ASSERT_EQ(answers->size(), 2u);
  EXPECT_TRUE((*answers)[0].status.ok());
  EXPECT_EQ((*answers)[0].data["client"]["username"], "u");
  EXPECT_EQ((*answers)[1].status, Status::NotFound("Client not found"));

  const auto sent = bus_.PublishedOn(kDynsecControlTopic);
  ASSERT_EQ(sent.size(), 1u);
  const auto body = dynsec::Json::parse(sent[0].payload);
  ASSERT_EQ(body["commands"].size(), 2u);
  EXPECT_NE(body["commands"][0]["correlationData"], body["commands"][1]["correlationData"]);
  EXPECT_THAT(bus_.Subscriptions(), ElementsAre(kDynsecResponseTopic));
}

TEST_F(DynsecClientTest, PluginErrorsBecomeStatuses) {
  plugin_.AddClient("u", {"pw", {}});
  auto answers = client_.Execute({dynsec::CreateClient("u", "x", {})});
  ASSERT_TRUE(answers.ok());
  EXPECT_EQ(answers->front().status, Status::Conflict("Client already exists"));
}

TEST_F(DynsecClientTest, IgnoresAnswersToOtherAdmins) {
  FakeBus other(broker_);
  ASSERT_TRUE(other.Connect().ok());
  ASSERT_TRUE(other
                  .Publish({kDynsecResponseTopic,
                            R"({"responses":[{"command":"getClient","error":"x",
                                 "correlationData":"someone-else-0"}]})",
                            1, false})
                  .ok());
  ASSERT_TRUE(other.Publish({kDynsecResponseTopic, "not json", 1, false}).ok());
  auto answers = client_.Execute({dynsec::ListClients()});
  ASSERT_TRUE(answers.ok());
  EXPECT_TRUE(answers->front().status.ok());
}

TEST_F(DynsecClientTest, TimesOutWhenThePluginIsSilent) {
  plugin_.Silence(true);
  DynsecClient quick(bus_, std::chrono::milliseconds(1));
  auto answers = quick.Execute({dynsec::ListClients()});
  EXPECT_EQ(answers.status().code(), Code::kTimeout);
  EXPECT_THAT(answers.status().message(), HasSubstr("did not answer 1 of 1"));
  EXPECT_THAT(answers.status().message(), HasSubstr("dynamic security plugin"));
  // An answer that comes late belongs to no call and is dropped.
  plugin_.Silence(false);
  auto next = quick.Execute({dynsec::ListClients()});
  ASSERT_TRUE(next.ok());
}

TEST_F(DynsecClientTest, PublishFailureFailsTheCall) {
  bus_.FailPublishes(true);
  auto answers = client_.Execute({dynsec::ListClients()});
  ASSERT_FALSE(answers.ok());
  EXPECT_THAT(answers.status().message(), HasSubstr("publishing to $CONTROL/dynamic-security/v1"));
}

}  // namespace
}  // namespace spawn::access
