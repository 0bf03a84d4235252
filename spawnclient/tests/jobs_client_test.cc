// SpawnClient's jobs, job wait, stop --now and meta against FakeBroker, with a scripted spawnpoint
// on its own FakeBus. FakeBus delivers synchronously on the publisher's thread: no sleeps.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spawn/bus/fake_bus.h"
#include "spawn/client/client.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

const std::string kPath = "test.ns/spawnpoint/alpha";

proto::Job MakeJob(const std::string& id, proto::JobState state) {
  proto::Job j;
  j.id = id;
  j.kind = "deploy";
  j.service = "demo";
  j.state = state;
  j.code = state == proto::JobState::kFailed ? 500 : 200;
  return j;
}

// Answers slot/jobs with `jobs` (split in messages of two) and commands with ok; records them.
class JobsSpawnpoint {
 public:
  explicit JobsSpawnpoint(FakeBroker& broker) : bus_(broker) {
    bus_.SetMessageHandler([this](const BusMessage& m) { Handle(m); });
    EXPECT_TRUE(bus_.Connect().ok());
    for (const auto& slot :
         {topics::JobsSlot(kPath), topics::StopSlot(kPath), topics::MetaSlot(kPath)}) {
      EXPECT_TRUE(bus_.Subscribe(slot, 1).ok());
    }
  }
  void PublishEnd(const proto::Job& job) {
    EXPECT_TRUE(bus_.Publish({topics::JobEnd(kPath, job.id), proto::Encode(job), 1, true}).ok());
  }

  std::vector<proto::Job> jobs;
  std::vector<proto::JobsRequest> requests;
  std::vector<proto::ServiceCommand> stops;
  std::vector<proto::MetaCommand> metas;

 private:
  void Handle(const BusMessage& m) {
    if (m.topic == topics::JobsSlot(kPath)) {
      auto request = proto::DecodeJobsRequest(m.payload);
      ASSERT_TRUE(request.ok());
      requests.push_back(*request);
      const std::string topic = topics::JobsReply(kPath, request->request_id);
      for (size_t i = 0; i < jobs.size(); i += 2) {
        proto::JobsReply reply{request->request_id, {}};
        for (size_t k = i; k < std::min(i + 2, jobs.size()); ++k) reply.jobs.push_back(jobs[k]);
        Send(topic, proto::Encode(reply));
      }
      Send(topic, proto::Encode(proto::JobsReply{request->request_id, {}}));
      return;
    }
    std::string id;
    if (m.topic == topics::StopSlot(kPath)) {
      auto stop = proto::DecodeServiceCommand(m.payload);
      ASSERT_TRUE(stop.ok());
      stops.push_back(*stop);
      id = stop->request_id;
    } else {
      auto meta = proto::DecodeMetaCommand(m.payload);
      ASSERT_TRUE(meta.ok());
      metas.push_back(*meta);
      id = meta->request_id;
    }
    Send(topics::Reply(kPath, id), proto::Encode(proto::Reply{id, true, 200, "ok"}));
  }
  void Send(const std::string& topic, const std::string& payload) {
    EXPECT_TRUE(bus_.Publish({topic, payload, 1, false}).ok());
  }
  FakeBus bus_;
};

class JobsClientTest : public ::testing::Test {
 protected:
  JobsClientTest() : spawnpoint_(broker_), bus_(broker_), client_(bus_) {
    EXPECT_TRUE(bus_.Connect().ok());
  }
  FakeBroker broker_;
  JobsSpawnpoint spawnpoint_;
  FakeBus bus_;
  SpawnClient client_;
  const Duration kTimeout = std::chrono::seconds(5);
};

TEST_F(JobsClientTest, JobsGathersRepliesUntilTheEmptyList) {
  spawnpoint_.jobs = {MakeJob("a", proto::JobState::kDone), MakeJob("b", proto::JobState::kDone),
                      MakeJob("c", proto::JobState::kRunning)};
  auto jobs = client_.Jobs(kPath, "demo", 42, kTimeout);
  ASSERT_TRUE(jobs.ok()) << jobs.status().message();
  ASSERT_EQ(jobs->size(), 3u);
  EXPECT_EQ((*jobs)[2].id, "c");
  ASSERT_EQ(spawnpoint_.requests.size(), 1u);
  EXPECT_EQ(spawnpoint_.requests[0].service, "demo");
  EXPECT_EQ(spawnpoint_.requests[0].since_unix_ns, 42);
}

TEST_F(JobsClientTest, WaitForAJobThatEndedReturnsItFromTheList) {
  spawnpoint_.jobs = {MakeJob("a", proto::JobState::kFailed)};
  auto job = client_.WaitForJob(kPath, "a", kTimeout);
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->state, proto::JobState::kFailed);
}

TEST_F(JobsClientTest, WaitForAJobTakesItsRetainedEnd) {
  spawnpoint_.jobs = {MakeJob("a", proto::JobState::kRunning)};
  spawnpoint_.PublishEnd(MakeJob("a", proto::JobState::kDone));
  auto job = client_.WaitForJob(kPath, "a", kTimeout);
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(job->state, proto::JobState::kDone);
}

TEST_F(JobsClientTest, WaitForAnUnknownJobIsNotFoundAndForOneThatDoesNotEndTimesOut) {
  auto unknown = client_.WaitForJob(kPath, "nope", kTimeout);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Code::kNotFound);
  spawnpoint_.jobs = {MakeJob("a", proto::JobState::kRunning)};
  auto running = client_.WaitForJob(kPath, "a", std::chrono::milliseconds(1));
  ASSERT_FALSE(running.ok());
  EXPECT_EQ(running.status().code(), Code::kTimeout);
}

TEST_F(JobsClientTest, StopNowAndMetaGoToTheirSlots) {
  ASSERT_TRUE(client_.Stop(kPath, "demo", kTimeout, /*now=*/true).ok());
  ASSERT_TRUE(client_.Stop(kPath, "demo", kTimeout).ok());
  ASSERT_EQ(spawnpoint_.stops.size(), 2u);
  EXPECT_TRUE(spawnpoint_.stops[0].now);
  EXPECT_FALSE(spawnpoint_.stops[1].now);
  auto set = client_.Meta(kPath, "room", "411", false, kTimeout);
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->ok);
  ASSERT_TRUE(client_.Meta(kPath, "room", "", true, kTimeout).ok());
  ASSERT_EQ(spawnpoint_.metas.size(), 2u);
  EXPECT_EQ(spawnpoint_.metas[0].value, "411");
  EXPECT_TRUE(spawnpoint_.metas[1].remove);
}

}  // namespace
}  // namespace spawn
