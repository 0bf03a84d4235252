#include <string_view>

#include "spawn/bus/bus.h"

namespace spawn {

// MQTT 3.1.1 section 4.7: levels split on '/', '+' matches exactly one level (possibly empty), a
// final '#' matches any number of levels including none. Malformed filters match nothing.
bool TopicMatches(const std::string& filter, const std::string& topic) {
  std::string_view f(filter), t(topic);
  // Wildcards at the first level do not match topics that start with '$' (MQTT 4.7.2).
  if (!t.empty() && t[0] == '$' && !f.empty() && (f[0] == '+' || f[0] == '#')) return false;
  while (true) {
    const size_t fs = f.find('/');
    const std::string_view flevel = f.substr(0, fs);
    // "#" matches the parent level too ("a/#" matches "a"); anywhere but last it is invalid.
    if (flevel == "#") return fs == std::string_view::npos;
    const size_t ts = t.find('/');
    const std::string_view tlevel = t.substr(0, ts);
    if (flevel != "+" && flevel != tlevel) return false;
    if (fs == std::string_view::npos || ts == std::string_view::npos) {
      if (fs == std::string_view::npos && ts == std::string_view::npos) return true;
      // The topic ended but the filter goes on: only "/#" may follow.
      return ts == std::string_view::npos && f.substr(fs + 1) == "#";
    }
    f = f.substr(fs + 1);
    t = t.substr(ts + 1);
  }
}

}  // namespace spawn
