// The byte-level pieces of the Engine API that need no socket: the log stream's frame demultiplexer
// and the arithmetic behind `docker stats`. Pure and single-threaded; unit-tested without an
// engine.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "spawn/engine/docker_engine.h"

namespace spawn {

// Splits a container's log stream into lines. Non-TTY streams carry an 8-byte header per frame
// (stream byte: 1 stdout, 2 stderr; 3 zero bytes; big-endian uint32 length); TTY streams are raw
// stdout. Frames and lines may be split across Feed() calls anywhere; partial lines are kept per
// stream until their newline arrives or Flush() is called.
class LogDemultiplexer {
 public:
  using LineSink = std::function<void(const LogLine&)>;
  LogDemultiplexer(bool tty, LineSink sink) : tty_(tty), sink_(std::move(sink)) {}

  void Feed(std::string_view chunk);
  // Emits what is left of unterminated lines (at the end of a stream).
  void Flush();

 private:
  void AppendText(int stream, std::string_view text);

  bool tty_;
  LineSink sink_;
  std::string header_;          // bytes of a header not yet complete
  size_t frame_remaining_ = 0;  // payload bytes left in the current frame
  int frame_stream_ = 1;
  std::string partial_[3];  // per stream (index 1 stdout, 2 stderr)
};

// One sample of GET /containers/{id}/stats, computed as `docker stats` does.
ContainerStats ComputeStats(const nlohmann::json& sample);
// CPU percent from the deltas between `cpu_stats` and `precpu_stats` (100 = one core).
double CpuPercent(const nlohmann::json& sample);

}  // namespace spawn
