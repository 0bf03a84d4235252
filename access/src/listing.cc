#include "spawn/access/listing.h"

#include <algorithm>

#include "spawn/access/access_admin.h"

namespace spawn::access {
namespace {

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ",") + w;
  return out;
}

std::string Pad(const std::string& text, size_t width) {
  return text + std::string(width > text.size() ? width - text.size() : 0, ' ');
}

}  // namespace

std::string FormatClientTable(const std::vector<dynsec::ClientInfo>& clients) {
  std::vector<std::vector<std::string>> rows{{"USERNAME", "KIND", "ROLES"}};
  for (const auto& c : clients) {
    const std::string kind = KindOf(c), roles = Join(c.roles);
    rows.push_back({c.username, kind.empty() ? "-" : kind, roles.empty() ? "-" : roles});
  }
  size_t user_width = 0, kind_width = 0;
  for (const auto& row : rows) {
    user_width = std::max(user_width, row[0].size());
    kind_width = std::max(kind_width, row[1].size());
  }
  std::string out;
  for (const auto& row : rows)
    out += Pad(row[0], user_width) + "  " + Pad(row[1], kind_width) + "  " + row[2] + "\n";
  return out;
}

std::string FormatClientJson(const std::vector<dynsec::ClientInfo>& clients) {
  std::string out;
  for (const auto& c : clients) {
    const dynsec::Json line = {{"username", c.username}, {"kind", KindOf(c)}, {"roles", c.roles}};
    out += line.dump() + "\n";
  }
  return out;
}

}  // namespace spawn::access
