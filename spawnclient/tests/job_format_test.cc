// The jobs table and JSON, exactly (UTC, fixed "now").
#include "spawn/client/job_format.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace spawn {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'796'000'000 * kSecond;  // 2026-11-30 00:53:20 UTC

proto::Job Deploy() {
  proto::Job j;
  j.id = "r1";
  j.kind = "deploy";
  j.service = "demo";
  j.state = proto::JobState::kDone;
  j.created_unix_ns = kT0;
  j.started_unix_ns = kT0;
  j.ended_unix_ns = kT0 + 4 * kSecond;
  j.code = 200;
  j.message = "service demo is running";
  return j;
}

proto::Job Loop() {
  proto::Job j;
  j.id = "auto-demo-1";
  j.kind = "auto-restart";
  j.reason = "back-off";
  j.count = 3;
  j.service = "demo";
  j.state = proto::JobState::kRunning;
  j.created_unix_ns = kT0 + 10 * kSecond;
  j.started_unix_ns = kT0 + 10 * kSecond;
  return j;
}

TEST(JobFormatTest, ATableWithOneRowPerJob) {
  proto::Job failed = Deploy();
  failed.id = "r2";
  failed.state = proto::JobState::kFailed;
  failed.code = 500;
  failed.message = "build failed";
  const std::string table =
      FormatJobs({Deploy(), failed, Loop()}, kT0 + 12 * kSecond, FormatOptions{});
  EXPECT_EQ(table,
            "ID           KIND                        SERVICE  STATE    CREATED              TOOK  "
            "RESULT\n"
            "r1           deploy                      demo     done     2026-11-30 00:53:20  4.0s  "
            "service demo is running\n"
            "r2           deploy                      demo     failed   2026-11-30 00:53:20  4.0s  "
            "[500] build failed\n"
            "auto-demo-1  auto-restart (back-off) x3  demo     running  2026-11-30 00:53:30  "
            "2.0s\n");
}

TEST(JobFormatTest, NoJobsSaysSo) { EXPECT_EQ(FormatJobs({}, kT0, FormatOptions{}), "No jobs.\n"); }

TEST(JobFormatTest, OneJobOnOneLineAndAsJson) {
  EXPECT_EQ(FormatJob(Deploy(), FormatOptions{}),
            "job r1: deploy of demo done service demo is running");
  EXPECT_EQ(ToJson(Loop()),
            "{\"Code\":0,\"Count\":3,\"Created\":1796000010000000000,\"Ended\":0,\"Id\":\"auto-"
            "demo-1\",\"Kind\":\"auto-restart\",\"Message\":\"\",\"Reason\":\"back-off\","
            "\"Service\":\"demo\",\"Started\":1796000010000000000,\"State\":\"running\"}");
}

}  // namespace
}  // namespace spawn
