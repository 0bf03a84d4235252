// The fleet's retained messages round-trip, and bad bytes are errors, not crashes.
#include "spawn/fleet/wire.h"

#include <gtest/gtest.h>

namespace spawn::fleet {
namespace {

FleetSpec Spec() {
  FleetSpec s;
  s.name = "web";
  s.replicas = 3;
  s.placement.spread = false;
  s.placement.require = {{"location", "building-a"}};
  s.placement.reschedule_after = std::chrono::seconds(3);
  s.current.generation = 2;
  s.current.config.name = "web";
  s.current.config.run = {"./web", "-v"};
  s.current.config.mem_alloc_bytes = int64_t{512} << 20;
  s.current.config.cpu_shares = 512;
  s.current.config.labels = {{"team", "a"}};
  s.previous = s.current;
  s.previous->generation = 1;
  s.previous->config.env = {"V=1"};
  return s;
}

TEST(WireTest, SpecRoundTrips) {
  const FleetSpec s = Spec();
  auto back = DecodeFleetSpec(Encode(s));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, s);
  FleetSpec removed = s;
  removed.previous.reset();
  removed.removed = true;
  EXPECT_EQ(*DecodeFleetSpec(Encode(removed)), removed);
}

TEST(WireTest, FilesAndStatusRoundTrip) {
  FleetFiles f{2, std::string("tar\0bytes", 9), "secret", "old", "oldsecret"};
  EXPECT_EQ(*DecodeFleetFiles(Encode(f)), f);
  FleetStatus st;
  st.name = "web";
  st.generation = 2;
  st.desired = 3;
  st.running = 2;
  st.replicas = {{0, "site/a", "running", 2}, {1, "site/b", "deploying", 2}};
  st.pending = {{2, "no spawnpoint under site has 512 MiB free"}};
  st.conflicts = {"web-2 on site/c is not labelled as the set's; left alone"};
  st.rollout = RolloutState::kFailed;
  st.updated = 1;
  st.message = "rollout of generation 2 failed";
  auto back = DecodeFleetStatus(Encode(st));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, st);
}

TEST(WireTest, BadBytesAreErrors) {
  for (const std::string& bad : {std::string(), std::string("\xc1"), std::string("\x92\x01\x02"),
                                 std::string("\x81\xa4Name\x05")}) {
    EXPECT_FALSE(DecodeFleetSpec(bad).ok());
    EXPECT_FALSE(DecodeFleetStatus(bad).ok() && bad.size() < 3);
  }
  std::string spec = Encode(Spec());
  for (size_t cut = 1; cut < spec.size(); cut += 7)
    EXPECT_FALSE(DecodeFleetSpec(spec.substr(0, cut)).ok()) << cut;
}

}  // namespace
}  // namespace spawn::fleet
