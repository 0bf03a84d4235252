// spawnctl fleet ls's text and JSON.
#include "spawn/fleet/format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spawn::fleet {
namespace {

FleetView View() {
  FleetView v;
  FleetSpec spec;
  spec.name = "web";
  spec.replicas = 3;
  spec.current.generation = 2;
  v.sets["web"] = spec;
  FleetStatus st;
  st.name = "web";
  st.generation = 2;
  st.desired = 3;
  st.running = 2;
  st.updated = 1;
  st.replicas = {{0, "site/a", "running", 2}, {1, "site/b", "running", 1}};
  st.pending = {{2, "no spawnpoint under site has 512 MiB free"}};
  v.statuses["web"] = st;
  v.drained = {"site/c"};
  return v;
}

TEST(FleetFormatTest, TextShowsCountsRolloutPlacesPendingAndDrains) {
  EXPECT_EQ(FormatFleet(View()),
            "web  generation 2  desired 3  running 2  rollout rolling (1 of 3 updated)\n"
            "  web-0  site/a  running  generation 2\n"
            "  web-1  site/b  running  generation 1\n"
            "  web-2  pending: no spawnpoint under site has 512 MiB free\n"
            "drained: site/c\n");
  FleetView unreported = View();
  unreported.statuses.clear();
  EXPECT_THAT(FormatFleet(unreported), ::testing::HasSubstr("no reconciler has reported"));
  EXPECT_EQ(FormatFleet(View(), "other"), "drained: site/c\n");
}

TEST(FleetFormatTest, JsonOneLinePerSet) {
  EXPECT_EQ(FleetJson(View()),
            "{\"Conflicts\":[],\"Desired\":3,\"Drained\":[\"site/c\"],\"Generation\":2,"
            "\"Message\":\"\",\"Name\":\"web\",\"Pending\":[{\"Reason\":\"no spawnpoint under "
            "site has 512 MiB free\",\"Replica\":2}],\"Removed\":false,\"Replicas\":[{"
            "\"Generation\":2,\"Path\":\"site/a\",\"Replica\":0,\"State\":\"running\"},{"
            "\"Generation\":1,\"Path\":\"site/b\",\"Replica\":1,\"State\":\"running\"}],"
            "\"Rollout\":\"rolling\",\"Running\":2,\"Updated\":1}\n");
}

}  // namespace
}  // namespace spawn::fleet
