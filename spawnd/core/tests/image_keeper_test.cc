#include "image_keeper.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spawn/common/units.h"

namespace spawn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

constexpr int64_t kLogCap = 50 * kMiB;

ImageInfo Built(const std::string& id, const std::string& tag, int64_t mib, int64_t base_mib = 0) {
  ImageInfo image;
  image.id = id;
  image.tags = {tag};
  image.size_bytes = (mib + base_mib) * kMiB;
  image.labels[kBuiltByLabel] = "base/alpha";
  if (base_mib > 0) image.labels[kBaseBytesLabel] = std::to_string(base_mib * kMiB);
  return image;
}

class ImageKeeperTest : public ::testing::Test {
 protected:
  SteadyTime t0_{std::chrono::hours(100)};
};

TEST_F(ImageKeeperTest, CountsEachImageByItsOwnLayersAndEachContainerByItsLogCap) {
  ImageKeeper keeper(0, 1h, kLogCap);
  keeper.Update({Built("sha256:a", "spawnpoint/build:a", 10, 300), Built("sha256:b", "b", 5)}, {},
                t0_);
  EXPECT_EQ(keeper.UsedBytes(0), 15 * kMiB);
  EXPECT_EQ(keeper.UsedBytes(2), 15 * kMiB + 2 * kLogCap);
  EXPECT_EQ(keeper.BytesOf("spawnpoint/build:a"), 10 * kMiB);
  EXPECT_EQ(keeper.BytesOf("sha256:b"), 5 * kMiB);
  EXPECT_EQ(keeper.BytesOf("not-built-here"), 0);
}

TEST_F(ImageKeeperTest, AnUnusedImageExpiresAGraceAfterItWasFirstSeenUnused) {
  ImageKeeper keeper(0, 1h, kLogCap);
  const std::vector<ImageInfo> built = {Built("sha256:a", "a", 1), Built("sha256:b", "b", 1)};
  keeper.Update(built, {"a", "b"}, t0_);
  EXPECT_EQ(keeper.NextExpiry(), std::nullopt);
  keeper.Update(built, {"a"}, t0_ + 10min);  // b's service was purged
  EXPECT_EQ(keeper.NextExpiry(), t0_ + 70min);
  keeper.Update(built, {"a"}, t0_ + 40min);  // a later listing does not restart its grace
  EXPECT_THAT(keeper.Expired(t0_ + 69min), IsEmpty());
  EXPECT_THAT(keeper.Expired(t0_ + 70min), ElementsAre("b"));
}

TEST_F(ImageKeeperTest, AnImageUsedAgainLosesItsGraceAndStartsAFreshOneWhenUnusedAgain) {
  ImageKeeper keeper(0, 1h, kLogCap);
  const std::vector<ImageInfo> built = {Built("sha256:a", "a", 1)};
  keeper.Update(built, {}, t0_);
  keeper.Update(built, {"sha256:a"}, t0_ + 50min);  // used by id counts too
  keeper.Update(built, {}, t0_ + 55min);
  EXPECT_THAT(keeper.Expired(t0_ + 80min), IsEmpty());
  EXPECT_THAT(keeper.Expired(t0_ + 115min), ElementsAre("a"));
}

TEST_F(ImageKeeperTest, ExpiredImagesComeOldestUnusedFirstAndNameEveryTag) {
  ImageKeeper keeper(0, 1h, kLogCap);
  ImageInfo twice = Built("sha256:c", "c1", 1);
  twice.tags.push_back("c2");
  std::vector<ImageInfo> built = {Built("sha256:a", "a", 1), Built("sha256:b", "b", 1), twice};
  keeper.Update(built, {"a", "b"}, t0_);
  keeper.Update(built, {"a"}, t0_ + 1min);
  keeper.Update(built, {}, t0_ + 2min);
  EXPECT_THAT(keeper.Expired(t0_ + 3h), ElementsAre("c1", "c2", "b", "a"));
}

TEST_F(ImageKeeperTest, MakeRoomRemovesTheOldestUnusedUntilTheCountFits) {
  ImageKeeper keeper(200 * kMiB, 1h, kLogCap);
  std::vector<ImageInfo> built = {Built("sha256:old", "old", 40), Built("sha256:mid", "mid", 40),
                                  Built("sha256:new", "new", 40), Built("sha256:live", "live", 60)};
  keeper.Update(built, {"mid", "new", "live"}, t0_);
  keeper.Update(built, {"new", "live"}, t0_ + 1min);
  keeper.Update(built, {"live"}, t0_ + 2min);
  // 180 MiB of images and one log of 50: 30 over, so the oldest unused (40) is enough.
  ImageKeeper::Room room = keeper.MakeRoom(1);
  EXPECT_TRUE(room.fits);
  EXPECT_THAT(room.remove, ElementsAre("old"));
  EXPECT_EQ(room.used_after, 190 * kMiB);
  // Two logs: 70 over, two images go.
  room = keeper.MakeRoom(2);
  EXPECT_TRUE(room.fits);
  EXPECT_THAT(room.remove, ElementsAre("old", "mid"));
}

TEST_F(ImageKeeperTest, MakeRoomRemovesNothingWhenEvenEveryUnusedImageWouldNotBeEnough) {
  ImageKeeper keeper(100 * kMiB, 1h, kLogCap);
  keeper.Update({Built("sha256:u", "unused", 10), Built("sha256:live", "live", 80)}, {"live"}, t0_);
  const ImageKeeper::Room room = keeper.MakeRoom(1);  // 140 MiB; 130 without the unused one
  EXPECT_FALSE(room.fits);
  EXPECT_THAT(room.remove, IsEmpty());
  EXPECT_EQ(room.used_after, 140 * kMiB);
}

TEST_F(ImageKeeperTest, NoBudgetAlwaysFits) {
  ImageKeeper keeper(0, 1h, kLogCap);
  keeper.Update({Built("sha256:a", "a", 100000)}, {}, t0_);
  EXPECT_TRUE(keeper.MakeRoom(100).fits);
  EXPECT_THAT(keeper.MakeRoom(100).remove, IsEmpty());
}

TEST_F(ImageKeeperTest, RemovedDropsATagAndTheImageWithItsLastTag) {
  ImageKeeper keeper(0, 1h, kLogCap);
  ImageInfo twice = Built("sha256:c", "c1", 3);
  twice.tags.push_back("c2");
  keeper.Update({twice}, {}, t0_);
  keeper.Removed("c1");
  EXPECT_EQ(keeper.UsedBytes(0), 3 * kMiB);
  keeper.Removed("c2");
  EXPECT_EQ(keeper.UsedBytes(0), 0);
  EXPECT_EQ(keeper.NextExpiry(), std::nullopt);
}

}  // namespace
}  // namespace spawn
