// How `spawnctl access list` prints the broker's users: a table for people, JSON lines for
// programs. Pure functions.
#pragma once

#include <string>
#include <vector>

#include "spawn/access/dynsec_commands.h"

namespace spawn::access {

// A header line "USERNAME  KIND  ROLES" and a line per client, columns padded to the longest
// value; KIND is KindOf (or "-"), ROLES comma-separated (or "-"). Ends with a newline.
std::string FormatClientTable(const std::vector<dynsec::ClientInfo>& clients);
// One line per client: {"username":...,"kind":...,"roles":[...]} (kind "" when none).
std::string FormatClientJson(const std::vector<dynsec::ClientInfo>& clients);

}  // namespace spawn::access
