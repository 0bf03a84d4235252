#include "spawn/access/listing.h"

#include <gtest/gtest.h>

namespace spawn::access {
namespace {

const std::vector<dynsec::ClientInfo> kClients{
    {"admin", {"admin"}}, {"sp:fleet/alpha", {"sp-host:fleet/alpha"}}, {"bare", {}}};

TEST(ListingTest, Table) {
  EXPECT_EQ(FormatClientTable(kClients),
            "USERNAME        KIND  ROLES\n"
            "admin           -     admin\n"
            "sp:fleet/alpha  host  sp-host:fleet/alpha\n"
            "bare            -     -\n");
}

TEST(ListingTest, JsonLines) {
  EXPECT_EQ(FormatClientJson(kClients),
            R"({"kind":"","roles":["admin"],"username":"admin"})"
            "\n"
            R"({"kind":"host","roles":["sp-host:fleet/alpha"],"username":"sp:fleet/alpha"})"
            "\n"
            R"({"kind":"","roles":[],"username":"bare"})"
            "\n");
}

}  // namespace
}  // namespace spawn::access
