#include "paho_workarounds.h"

#include <gtest/gtest.h>

namespace spawn {
namespace {

TEST(PahoWorkaroundsTest, ApplyToPahoC1_3_12Only) {
  EXPECT_TRUE(PahoCNeedsWorkarounds("1.3.12"));
  EXPECT_TRUE(PahoCNeedsWorkarounds("1.3.11"));  // what Debian 12's 1.3.12 reports
  EXPECT_FALSE(PahoCNeedsWorkarounds("1.3.13"));
  EXPECT_FALSE(PahoCNeedsWorkarounds("1.3.1"));
  EXPECT_FALSE(PahoCNeedsWorkarounds("1.3.120"));
  EXPECT_FALSE(PahoCNeedsWorkarounds(""));
}

// The version is the one the loaded library reports, and the switch follows it.
TEST(PahoWorkaroundsTest, FollowTheVersionOfThePahoLoaded) {
  const std::string loaded = LoadedPahoCVersion();
  ASSERT_FALSE(loaded.empty());
  const PahoWorkaroundsState state = InstallPahoWorkarounds();
  EXPECT_EQ(state.paho_version, loaded);
  EXPECT_EQ(state.active, PahoCNeedsWorkarounds(loaded));
  EXPECT_EQ(PahoWorkaroundsActive(), state.active);
  EXPECT_TRUE(state.interposed);

  EXPECT_FALSE(InstallPahoWorkaroundsFor("1.3.13").active);
  EXPECT_FALSE(PahoWorkaroundsActive());
  EXPECT_TRUE(InstallPahoWorkaroundsFor("1.3.12").active);
  EXPECT_TRUE(PahoWorkaroundsActive());
}

}  // namespace
}  // namespace spawn
