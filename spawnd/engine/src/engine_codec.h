// The pieces of the Engine API that need no socket: the body of a container's creation, decoding of
// the engine's JSON answers (inspect, events, error messages) and of its streams (newline-separated
// JSON, the log stream's frames), and the arithmetic behind `docker stats`. Pure and
// single-threaded; unit-tested without an engine. Engine-private, so that nlohmann::json stays out
// of the public headers.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "spawn/engine/docker_engine.h"

namespace spawn {

// The engine's error message from a JSON body ({"message": ...}), or the body itself, or a
// placeholder when the body is empty.
std::string EngineMessage(const std::string& body);

// One entry of GET /events. Actor.Attributes become the labels, except exitCode, which becomes
// exit_code of a die event. Throws nlohmann::json::exception for a member of the wrong type.
EngineEvent ParseEvent(const nlohmann::json& event);

// The answer of GET /containers/{id}/json; missing members are left at their defaults. Throws
// nlohmann::json::exception for a member of the wrong type.
ContainerInfo ParseInspect(const nlohmann::json& inspect);

// One image of GET /images/{name}/json (Id, RepoTags, Size, Config.Labels) or of GET /images/json
// (Id, RepoTags, Size, Labels). Throws nlohmann::json::exception for a member of the wrong type.
ImageInfo ParseImage(const nlohmann::json& image);

// The Warnings of POST /containers/create's answer (null, missing or empty: none).
std::vector<std::string> CreateWarnings(const nlohmann::json& answer);

// The body of POST /containers/create for `spec`: never privileged, the named volumes mounted at
// /srv/<name>, devices as "/dev/x[:/dev/y[:perms]]" (the same path inside, rwm, when left out),
// the network aliases as the endpoint of the network_mode network, binds as read-only (or not)
// bind mounts, a read-only root filesystem with a tmpfs at /tmp, PidsLimit when positive.
nlohmann::json CreateContainerBody(const ContainerSpec& spec);

// Whether GET /info says the engine is an active member of a swarm (Swarm.LocalNodeState).
bool SwarmActive(const nlohmann::json& info);

// The body of POST /networks/create: an attachable overlay network in a swarm, else a bridge,
// asking the engine to refuse a second network of the same name (CheckDuplicate: not atomic, see
// CurlDockerEngine::EnsureNetwork).
nlohmann::json CreateNetworkBody(const std::string& name, bool swarm);

// One line of POST /build's progress: the text to show, without its line end (empty: nothing to
// show), or the build's error, which ends it.
struct BuildLine {
  std::string text;
  std::optional<std::string> error;
};
BuildLine ParseBuildLine(const nlohmann::json& line);

// Splits a byte stream into newline-terminated JSON documents, handing each to `sink`. A line split
// across Feed() calls is kept until its newline arrives; blank lines are skipped, and a line that
// is not JSON is logged (debug) and dropped.
class JsonLines {
 public:
  explicit JsonLines(std::function<void(const nlohmann::json&)> sink) : sink_(std::move(sink)) {}
  void Feed(std::string_view data);

 private:
  std::function<void(const nlohmann::json&)> sink_;
  std::string buffer_;
};

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

// Whether a container's inspect answer says it has a TTY, so its output is one raw stream rather
// than framed; false when the answer cannot be read (framing is the engine's default).
bool InspectSaysTty(const std::string& inspect_body);

// Splits a line of a `timestamps=1` log answer, "2026-12-06T19:40:00.123456789Z text", into its
// time (`*unix_ns`) and the text after the space; false if it does not start with such a time.
bool SplitLogTimestamp(std::string_view line, int64_t* unix_ns, std::string_view* text);

// A parser callback for a stats sample (json::parse(text, KeepStatsMember)) that keeps only the
// members ComputeStats reads: the rest (pids, storage, names, read times, a one-shot's empty
// precpu_stats) is skipped instead of built.
bool KeepStatsMember(int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed);

// One sample of GET /containers/{id}/stats, computed as `docker stats` does.
ContainerStats ComputeStats(const nlohmann::json& sample);
// CPU percent from the deltas between `cpu_stats` and `precpu_stats` (100 = one core).
double CpuPercent(const nlohmann::json& sample);

}  // namespace spawn
