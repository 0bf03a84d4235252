// Parsing and formatting of the value forms used in YAML configs and on the bus: memory sizes
// ("512M", "4G", case-insensitive unit) and Go-style durations ("250ms", "30s", "5m", "1h30m").
// Pure functions, no I/O. Errors say what was expected, e.g.
//   "\"12X\" is not a size; expected a number with M or G, like 512M".
#pragma once

#include <cstdint>
#include <string>

#include "spawn/common/event_loop.h"
#include "spawn/common/status.h"

namespace spawn {

constexpr int64_t kMiB = 1024 * 1024;

// "512M" -> 536870912. Units M/m (MiB) and G/g (GiB); the number is a positive integer.
Result<int64_t> ParseSize(const std::string& text);
// Bytes -> the shortest exact form: "4G", "512M" (bytes that are not whole MiB round up to MiB).
std::string FormatSize(int64_t bytes);

// Go duration syntax: a sequence of decimal numbers with units ns, us, ms, s, m, h ("1h30m", "0s").
// Sub-millisecond parts are rounded down. Negative durations are errors.
Result<Duration> ParseDuration(const std::string& text);
// Milliseconds -> Go form: "0s", "250ms", "30s", "1h30m".
std::string FormatDuration(Duration d);

}  // namespace spawn
