// Quoted: how a value appears in an error message. In-tree only (not installed).
#pragma once

#include <string>

namespace spawn {

// The value in quotes, cut short: a message quoting a megabyte-long value helps nobody.
inline std::string Quoted(const std::string& s) {
  constexpr size_t kMax = 100;
  return "\"" + (s.size() > kMax ? s.substr(0, kMax) + "..." : s) + "\"";
}

}  // namespace spawn
