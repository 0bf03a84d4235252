// LogHistory: the last output lines of one service, for the logs slot, kept compactly.
//
// Holds as many of the newest lines as fit both bounds, a number of lines and a number of bytes
// of contents; a line longer than the byte bound is still kept, alone. Lines are packed one after
// another in a single buffer (13 bytes of time and lengths, the stream's name, the text), not as
// an object each: a deque of strings spent 72 bytes a line besides the text (and an allocation
// for a line over 15 bytes), so a hundred chatty services' full histories took MiBs more than
// their text.
//
// Memory: the buffer holds the kept records plus dropped ones worth at most a quarter of them
// (or 1 KiB); those are cut away with one move of the rest.
//
// Thread-safety: none; the daemon uses it on its loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace spawn {

class LogHistory {
 public:
  struct Line {
    int64_t time_unix_ns;
    std::string_view stream;    // valid until the next Add
    std::string_view contents;  // valid until the next Add
  };

  LogHistory(size_t max_lines, size_t max_bytes) : max_lines_(max_lines), max_bytes_(max_bytes) {}

  void Add(int64_t time_unix_ns, std::string_view stream, std::string_view contents);
  // The kept lines stamped at or after `since_unix_ns`, oldest first.
  void ForEachSince(int64_t since_unix_ns, const std::function<void(const Line&)>& visit) const;

  size_t lines() const { return lines_; }
  size_t bytes() const { return bytes_; }  // of the kept lines' contents
  // Bytes the history holds on to, for tests of its bound.
  size_t capacity() const { return buffer_.capacity(); }

 private:
  Line Read(size_t offset, size_t* next) const;
  void DropOldest();

  const size_t max_lines_, max_bytes_;
  std::string buffer_;  // records from `front_` on are kept; before it, dropped ones
  size_t front_ = 0;
  size_t lines_ = 0, bytes_ = 0;
};

}  // namespace spawn
