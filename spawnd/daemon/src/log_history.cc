#include "spawn/daemon/log_history.h"

#include <algorithm>
#include <cstring>

namespace spawn {
namespace {

// A record: time (8 bytes), stream length (1), contents length (4), stream, contents. Streams
// are short names ("stdout", "spawnd"); a longer one is cut to 255 bytes.
constexpr size_t kHeaderBytes = 8 + 1 + 4;
constexpr size_t kMinBytesToCut = 1024;

template <typename T>
void Append(std::string& buffer, T value) {
  buffer.append(reinterpret_cast<const char*>(&value), sizeof value);
}

template <typename T>
T Load(const std::string& buffer, size_t offset) {
  T value;
  std::memcpy(&value, buffer.data() + offset, sizeof value);
  return value;
}

}  // namespace

void LogHistory::Add(int64_t time_unix_ns, std::string_view stream, std::string_view contents) {
  stream = stream.substr(0, 255);
  Append(buffer_, time_unix_ns);
  Append(buffer_, static_cast<uint8_t>(stream.size()));
  Append(buffer_, static_cast<uint32_t>(contents.size()));
  buffer_.append(stream);
  buffer_.append(contents);
  ++lines_;
  bytes_ += contents.size();
  while (lines_ > 1 && (lines_ > max_lines_ || bytes_ > max_bytes_)) DropOldest();
  // Dropped records are cut away once they are a quarter of the kept ones (and at least 1 KiB):
  // the buffer stays within 1.25 times what it keeps, and a kept byte moves a few times at most.
  const size_t dropped = front_, kept = buffer_.size() - front_;
  if (dropped >= kMinBytesToCut && dropped * 4 >= kept) {
    buffer_.erase(0, front_);
    front_ = 0;
  }
}

void LogHistory::DropOldest() {
  size_t next = 0;
  const Line oldest = Read(front_, &next);
  bytes_ -= oldest.contents.size();
  --lines_;
  front_ = next;
}

LogHistory::Line LogHistory::Read(size_t offset, size_t* next) const {
  const auto time = Load<int64_t>(buffer_, offset);
  const auto stream_size = Load<uint8_t>(buffer_, offset + 8);
  const auto contents_size = Load<uint32_t>(buffer_, offset + 9);
  const char* text = buffer_.data() + offset + kHeaderBytes;
  *next = offset + kHeaderBytes + stream_size + contents_size;
  return {time, {text, stream_size}, {text + stream_size, contents_size}};
}

void LogHistory::ForEachSince(int64_t since_unix_ns,
                              const std::function<void(const Line&)>& visit) const {
  for (size_t offset = front_, next = 0; offset < buffer_.size(); offset = next) {
    const Line line = Read(offset, &next);
    if (line.time_unix_ns >= since_unix_ns) visit(line);
  }
}

}  // namespace spawn
