#include "spawn/common/units.h"

#include <cstdio>
#include <limits>

#include "spawn/common/quoted.h"

namespace spawn {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

const char* const kSizeExpected = " is not a size; expected a number with M or G, like 512M";
const char* const kDurationExpected =
    " is not a duration; expected a number with a unit (ms, s, m, h), like 30s or 1h30m";

// Nanoseconds per unit, Go's table. "µs" (U+00B5) and "μs" (U+03BC) are Go's spellings too.
int64_t NanosPerUnit(const std::string& unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1'000;
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return 1'000'000'000;
  if (unit == "m") return 60 * int64_t{1'000'000'000};
  if (unit == "h") return 3600 * int64_t{1'000'000'000};
  return 0;
}

}  // namespace

Result<int64_t> ParseSize(const std::string& text) {
  if (text.size() < 2) return Status::BadRequest(Quoted(text) + kSizeExpected);
  int64_t multiplier = 0;
  switch (text.back()) {
    case 'M':
    case 'm':
      multiplier = kMiB;
      break;
    case 'G':
    case 'g':
      multiplier = 1024 * kMiB;
      break;
    default:
      return Status::BadRequest(Quoted(text) + kSizeExpected);
  }
  int64_t number = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (!IsDigit(text[i])) return Status::BadRequest(Quoted(text) + kSizeExpected);
    // The bound keeps number * multiplier (and sums of a few sizes) far from overflow: 8 PiB.
    number = number * 10 + (text[i] - '0');
    if (number * (multiplier / kMiB) > (int64_t{1} << 33)) {
      return Status::BadRequest(Quoted(text) +
                                " is too large; expected at most 8388608G (8 PiB), like 512M");
    }
  }
  if (number == 0) {
    return Status::BadRequest(Quoted(text) +
                              " is not a size; expected a number more than zero with M or G, "
                              "like 512M");
  }
  return number * multiplier;
}

std::string FormatSize(int64_t bytes) {
  const int64_t mib = bytes <= 0 ? 0 : bytes / kMiB + (bytes % kMiB != 0 ? 1 : 0);
  if (mib > 0 && mib % 1024 == 0) return std::to_string(mib / 1024) + "G";
  return std::to_string(mib) + "M";
}

// Exact decimal arithmetic in nanoseconds, as Go's time.ParseDuration does: binary floating point
// would turn "2.3s" into 2299 ms.
Result<Duration> ParseDuration(const std::string& text) {
  if (text.empty()) return Status::BadRequest(Quoted(text) + kDurationExpected);
  if (text == "0") return Duration(0);
  if (text[0] == '-') {
    return Status::BadRequest(Quoted(text) +
                              " is negative; expected a duration of zero or more, like 30s");
  }
  const Status too_long = Status::BadRequest(
      Quoted(text) + " is too long; expected a duration of at most about 290 years");
  size_t i = text[0] == '+' ? 1 : 0;
  if (i == text.size()) return Status::BadRequest(Quoted(text) + kDurationExpected);
  int64_t total_ns = 0;
  while (i < text.size()) {
    // number: digits, optionally "." and more digits; at least one digit overall.
    int64_t whole = 0;
    bool whole_overflow = false;
    const size_t start = i;
    for (; i < text.size() && IsDigit(text[i]); ++i) {
      if (whole > (kMaxInt64 - 9) / 10) whole_overflow = true;
      if (!whole_overflow) whole = whole * 10 + (text[i] - '0');
    }
    const bool has_whole = i > start;
    std::string fraction;
    if (i < text.size() && text[i] == '.') {
      ++i;
      for (; i < text.size() && IsDigit(text[i]); ++i) fraction.push_back(text[i]);
    }
    if (!has_whole && fraction.empty()) {
      return Status::BadRequest(Quoted(text) + kDurationExpected);
    }
    const size_t unit_start = i;
    while (i < text.size() && !IsDigit(text[i]) && text[i] != '.') ++i;
    const int64_t unit = NanosPerUnit(text.substr(unit_start, i - unit_start));
    if (unit == 0) return Status::BadRequest(Quoted(text) + kDurationExpected);
    if (whole_overflow || whole > kMaxInt64 / unit) return too_long;
    int64_t ns = whole * unit;
    // Digits beyond the unit's resolution cannot add a whole nanosecond; 18 keeps scale in range.
    int64_t scale = 1;
    int64_t frac = 0;
    for (size_t k = 0; k < fraction.size() && k < 18; ++k) {
      frac = frac * 10 + (fraction[k] - '0');
      scale *= 10;
    }
    // frac/scale < 1, so frac * unit / scale < unit; compute without overflowing frac * unit.
    const int64_t frac_ns = static_cast<int64_t>(static_cast<__int128>(frac) * unit / scale);
    if (ns > kMaxInt64 - frac_ns) return too_long;
    ns += frac_ns;
    if (total_ns > kMaxInt64 - ns) return too_long;
    total_ns += ns;
  }
  return Duration(total_ns / 1'000'000);
}

std::string FormatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = ms == std::numeric_limits<int64_t>::min() ? kMaxInt64 : -ms;
  }
  if (ms < 1000) return out + std::to_string(ms) + "ms";
  const int64_t hours = ms / 3600000;
  const int64_t minutes = ms / 60000 % 60;
  const int64_t seconds = ms / 1000 % 60;
  const int64_t millis = ms % 1000;
  if (hours) out += std::to_string(hours) + "h";
  if (minutes) out += std::to_string(minutes) + "m";
  if (seconds || millis) {
    out += std::to_string(seconds);
    if (millis) {
      char frac[8];
      std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(millis));
      std::string f(frac);
      while (f.back() == '0') f.pop_back();
      out += f;
    }
    out += "s";
  }
  return out;
}

}  // namespace spawn
