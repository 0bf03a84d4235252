#include "spawn/common/units.h"

#include <cctype>
#include <cmath>

namespace spawn {
namespace {

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

Result<int64_t> ParseSize(const std::string& text) {
  const std::string expected = " is not a size; expected a number with M or G, like 512M";
  if (text.size() < 2) return Status::BadRequest(Quoted(text) + expected);
  const char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(text.back())));
  int64_t multiplier = 0;
  if (unit == 'M') multiplier = kMiB;
  if (unit == 'G') multiplier = 1024 * kMiB;
  if (multiplier == 0) return Status::BadRequest(Quoted(text) + expected);
  int64_t number = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return Status::BadRequest(Quoted(text) + expected);
    }
    number = number * 10 + (text[i] - '0');
    if (number > (int64_t{1} << 40)) return Status::BadRequest(Quoted(text) + " is too large");
  }
  if (number <= 0) return Status::BadRequest(Quoted(text) + " must be more than zero");
  return number * multiplier;
}

std::string FormatSize(int64_t bytes) {
  const int64_t mib = (bytes + kMiB - 1) / kMiB;
  if (mib > 0 && mib % 1024 == 0) return std::to_string(mib / 1024) + "G";
  return std::to_string(mib) + "M";
}

Result<Duration> ParseDuration(const std::string& text) {
  const std::string expected =
      " is not a duration; expected a number with a unit (ms, s, m, h), like 30s or 1h30m";
  if (text.empty()) return Status::BadRequest(Quoted(text) + expected);
  if (text == "0") return Duration(0);
  if (text[0] == '-') return Status::BadRequest(Quoted(text) + " must not be negative");
  double total_ns = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
      ++i;
    }
    if (start == i) return Status::BadRequest(Quoted(text) + expected);
    const std::string number_text = text.substr(start, i - start);
    if (number_text == "." || number_text.find('.') != number_text.rfind('.')) {
      return Status::BadRequest(Quoted(text) + expected);
    }
    const double number = std::stod(number_text);
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string unit = text.substr(unit_start, i - unit_start);
    double ns_per_unit = 0;
    if (unit == "ns")
      ns_per_unit = 1;
    else if (unit == "us" || unit == "µs")
      ns_per_unit = 1e3;
    else if (unit == "ms")
      ns_per_unit = 1e6;
    else if (unit == "s")
      ns_per_unit = 1e9;
    else if (unit == "m")
      ns_per_unit = 60e9;
    else if (unit == "h")
      ns_per_unit = 3600e9;
    else
      return Status::BadRequest(Quoted(text) + expected);
    total_ns += number * ns_per_unit;
    if (total_ns > 1e18) return Status::BadRequest(Quoted(text) + " is too long");
  }
  return Duration(static_cast<int64_t>(std::floor(total_ns / 1e6)));
}

std::string FormatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
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
      std::snprintf(frac, sizeof frac, ".%03lld", static_cast<long long>(millis));
      std::string f(frac);
      while (f.back() == '0') f.pop_back();
      out += f;
    }
    out += "s";
  }
  return out;
}

}  // namespace spawn
