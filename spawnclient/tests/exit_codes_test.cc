#include "spawn/client/exit_codes.h"

#include <gtest/gtest.h>

#include <set>

namespace spawn {
namespace {

TEST(ExitCodesTest, TheTableHasEachCodeOnceInOrder) {
  std::vector<int> codes;
  for (const ExitCodeDoc& e : ExitCodeTable()) {
    codes.push_back(static_cast<int>(e.code));
    EXPECT_FALSE(e.meaning.empty());
  }
  EXPECT_EQ(codes, (std::vector<int>{0, 1, 2, 69, 77, 130}));
}

TEST(ExitCodesTest, StatusCodesMapToTheTable) {
  EXPECT_EQ(ExitCodeFor(Status::Ok()), ExitCode::kDone);
  EXPECT_EQ(ExitCodeFor(Status::BadRequest("deploy.yml:3: memAlloc: ...")), ExitCode::kUsage);
  EXPECT_EQ(ExitCodeFor(Status::Forbidden("not authorised")), ExitCode::kNotAuthorised);
  EXPECT_EQ(ExitCodeFor(Status::Unavailable("cannot connect to the broker")), ExitCode::kNoAnswer);
  EXPECT_EQ(ExitCodeFor(Status::Timeout("no answer from the spawnpoint")), ExitCode::kNoAnswer);
  EXPECT_EQ(ExitCodeFor(Status::NotFound("no service named x")), ExitCode::kRefused);
  EXPECT_EQ(ExitCodeFor(Status::Conflict("exists")), ExitCode::kRefused);
  EXPECT_EQ(ExitCodeFor(Status::Internal("odd")), ExitCode::kRefused);
}

TEST(ExitCodesTest, EveryRefusalIsOneWhateverItsCode) {
  EXPECT_EQ(ExitCodeFor(proto::Reply{"id", true, 200, "ok"}), ExitCode::kDone);
  for (int code : {400, 403, 404, 409, 500, 503}) {
    EXPECT_EQ(ExitCodeFor(proto::Reply{"id", false, code, "no"}), ExitCode::kRefused) << code;
  }
}

TEST(ExitCodesTest, AFailedWaitForAStateIsARefusal) {
  EXPECT_EQ(ExitCodeForWait(Status::Ok()), ExitCode::kDone);
  // The spawnpoint answered; the service did not get there.
  EXPECT_EQ(ExitCodeForWait(Status::Timeout("not running after 10m")), ExitCode::kRefused);
  EXPECT_EQ(ExitCodeForWait(Status::Unavailable("became a zombie")), ExitCode::kRefused);
  EXPECT_EQ(ExitCodeForWait(Status::NotFound("the service is gone")), ExitCode::kRefused);
}

}  // namespace
}  // namespace spawn
