// The job, jobs and meta messages, and stop's Now: round trips, fixed bytes where older readers
// care, and errors that name the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spawn/proto/messages.h"

namespace spawn::proto {
namespace {

using ::testing::HasSubstr;

Job DemoJob() {
  Job j;
  j.id = "r1";
  j.kind = "deploy";
  j.service = "demo";
  j.state = JobState::kFailed;
  j.count = 1;
  j.created_unix_ns = 100;
  j.started_unix_ns = 200;
  j.ended_unix_ns = 300;
  j.code = 500;
  j.message = "[ERROR 500] build failed";
  return j;
}

TEST(JobMessagesTest, JobRoundTrips) {
  Job j = DemoJob();
  j.reason = "back-off";
  j.count = 7;
  auto decoded = DecodeJob(Encode(j));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, j);
  EXPECT_EQ(decoded->updated_unix_ns(), 300);
  EXPECT_TRUE(decoded->ended());
}

TEST(JobMessagesTest, JobsRequestAndReplyRoundTrip) {
  auto request = DecodeJobsRequest(Encode(JobsRequest{"q1", "demo", 42}));
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->request_id, "q1");
  EXPECT_EQ(request->service, "demo");
  EXPECT_EQ(request->since_unix_ns, 42);

  JobsReply reply{"q1", {DemoJob(), DemoJob()}};
  reply.jobs[1].id = "r2";
  reply.jobs[1].state = JobState::kRunning;
  auto decoded = DecodeJobsReply(Encode(reply));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->jobs.size(), 2u);
  EXPECT_EQ(decoded->jobs[0], reply.jobs[0]);
  EXPECT_EQ(decoded->jobs[1], reply.jobs[1]);
  auto empty = DecodeJobsReply(Encode(JobsReply{"q1", {}}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->jobs.empty());
}

TEST(JobMessagesTest, JobStatesHaveTheirNames) {
  for (auto s : {JobState::kQueued, JobState::kRunning, JobState::kDone, JobState::kFailed}) {
    auto parsed = ParseJobState(ToString(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, s);
  }
  auto bad = ParseJobState("finished");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("expected queued, running, done or failed"));
}

TEST(JobMessagesTest, AJobWithABadStateNamesWhereItIs) {
  JobsReply reply{"q", {DemoJob()}};
  std::string bytes = Encode(reply);
  const std::string failed = "failed";
  bytes.replace(bytes.find(failed), failed.size(), "broken");
  auto decoded = DecodeJobsReply(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.status().message(), HasSubstr("Jobs[0]"));
  EXPECT_THAT(decoded.status().message(), HasSubstr("broken"));
}

TEST(JobMessagesTest, StopNowTravelsOnlyWhenSet) {
  ServiceCommand plain{"r1", "demo"};
  ServiceCommand now{"r1", "demo", true};
  EXPECT_EQ(Encode(plain).find("Now"), std::string::npos);  // older spawnds' bytes
  auto decoded = DecodeServiceCommand(Encode(now));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->now);
  auto decoded_plain = DecodeServiceCommand(Encode(plain));
  ASSERT_TRUE(decoded_plain.ok());
  EXPECT_FALSE(decoded_plain->now);
}

TEST(JobMessagesTest, MetaCommandRoundTripsAndChecksItsKeyAndValue) {
  auto decoded = DecodeMetaCommand(Encode(MetaCommand{"m1", "room", "410", false}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->key, "room");
  EXPECT_EQ(decoded->value, "410");
  EXPECT_FALSE(decoded->remove);
  auto removed = DecodeMetaCommand(Encode(MetaCommand{"m2", "room", "", true}));
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->remove);

  for (const std::string& key :
       std::vector<std::string>{"", "a/b", "a+", "#", std::string(129, 'k')}) {
    auto bad = DecodeMetaCommand(Encode(MetaCommand{"m3", key, "v", false}));
    ASSERT_FALSE(bad.ok()) << key;
    EXPECT_THAT(bad.status().message(), HasSubstr("Key")) << key;
    EXPECT_EQ(bad.status().http_code(), 400);
  }
  auto big = DecodeMetaCommand(Encode(MetaCommand{"m4", "room", std::string(5000, 'v'), false}));
  ASSERT_FALSE(big.ok());
  EXPECT_THAT(big.status().message(), HasSubstr("Value"));
}

}  // namespace
}  // namespace spawn::proto
