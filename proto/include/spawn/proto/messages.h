// The wire format: every message of design.md's topic table as a struct, with msgpack
// encode/decode. This is the only place that knows the bytes; it does no I/O.
//
// Maps use exactly the design's CamelCase keys. Decoding never throws and never crashes: malformed,
// truncated, wrongly typed or oversized input yields a Status (kBadRequest) that names the
// offending key. Unknown extra keys are ignored (forward compatibility); missing optional keys take
// defaults.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "spawn/common/config.h"
#include "spawn/common/status.h"

namespace spawn::proto {

// Bounds on what a decoder accepts; a larger payload is refused before it is parsed.
constexpr size_t kMaxPayloadBytes = 64 * 1024 * 1024;  // a deploy with its archive
constexpr size_t kMaxArchiveBytes = 48 * 1024 * 1024;

// Service states as they appear in `State`.
enum class ServiceState { kBuilding, kStarting, kRunning, kExited, kRestarting, kZombie };
const char* ToString(ServiceState state);
Result<ServiceState> ParseServiceState(const std::string& text);

// slot/config: {RequestId, Config, Archive, Replace, Entity}
struct DeployRequest {
  std::string request_id;
  ServiceConfig config;  // travels as a map with deploy.yml's keys and value forms
  std::string archive;   // tar of included files and dirs (bytes); may be empty
  bool replace = false;
  std::string entity;  // contents of the config's `entity` file (bytes); may be empty. Extra key.
};

// slot/restart and slot/stop: {RequestId, Service}; a bare UTF-8 service name is accepted too.
struct ServiceCommand {
  std::string request_id;  // empty when the command was a bare name
  std::string service;
  // slot/stop only, extra key "Now" (sent only when true): KILL at once, without stopTimeout's
  // TERM grace.
  bool now = false;
};

// slot/logs: {RequestId, Service, Since}; Since in unix nanoseconds, 0 = all that is kept.
struct LogsRequest {
  std::string request_id;
  std::string service;
  int64_t since_unix_ns = 0;
};

// signal/reply/<RequestId>: {RequestId, Ok, Code, Message}
struct Reply {
  std::string request_id;
  bool ok = false;
  int code = 0;
  std::string message;
  static Reply FromStatus(const std::string& request_id, const Status& status,
                          const std::string& ok_message);
};

// signal/heartbeat: memory in MiB.
struct SpawnpointHeartbeat {
  std::string alias;
  int64_t time_unix_ns = 0;
  std::string version;
  int64_t total_mem_mib = 0;
  int64_t total_cpu_shares = 0;
  int64_t available_mem_mib = 0;
  int64_t available_cpu_shares = 0;
  std::vector<std::string> services;
  // How often spawnd sends this (ms), so a client can tell "silent for three intervals"; 0 when
  // the sender did not say (older spawnds): clients then assume the default.
  int64_t heartbeat_interval_ms = 0;
  // What the spawnpoint's owner should act on, e.g. that its engine cannot enforce pidsLimit.
  // "Warnings" on the wire, sent only when there are any; absent (older spawnds): none.
  std::vector<std::string> warnings;
  // The disk budget (diskAlloc) and what is left of it, in MiB; "TotalDisk"/"AvailableDisk" on the
  // wire, sent only when the spawnpoint has a budget (0 here: none).
  int64_t total_disk_mib = 0;
  int64_t available_disk_mib = 0;
  // How the services' heartbeats are sent; "HeartbeatPolicy" on the wire, sent only when set.
  // kReportByException: only when something about the service changed (see spawnd's
  // HeartbeatPolicy), so a service heartbeat's Time is when its report was made, and it is as
  // fresh as this heartbeat. Absent (older spawnds): every interval, each fresh by its own Time.
  std::string heartbeat_policy;
};

// SpawnpointHeartbeat::heartbeat_policy of a spawnd that reports its services by exception.
inline constexpr const char* kReportByException = "exception";

// signal/heartbeat/<svc>: MemAlloc/MemUsage MiB, CpuPercent as docker stats (100 = one core),
// network and block I/O in MB.
struct ServiceHeartbeat {
  std::string spawnpoint_uri;
  std::string name;
  int64_t time_unix_ns = 0;
  ServiceState state = ServiceState::kBuilding;
  std::string container_id;
  int64_t mem_alloc_mib = 0;
  int64_t cpu_shares = 0;
  double mem_usage_mib = 0;
  double cpu_percent = 0;
  double network_rx_mb = 0;
  double network_tx_mb = 0;
  double mb_read = 0;
  double mb_written = 0;
  int64_t restarts = 0;
  int64_t exit_code = 0;
  ServiceConfig original_config;  // a map, like DeployRequest's Config
  std::string backoff;  // extra key "Backoff": current restart delay ("8s") when backing off
  // Extra keys "Health" and "HealthOutput", sent only for a service with a healthCheck: starting,
  // healthy or unhealthy; and the output of the last failing probe.
  std::string health;
  std::string health_output;
  // Decoding only, never encoded: why OriginalConfig could not be read (original_config is then
  // left default); empty when it was read or absent. The rest of the heartbeat is still decoded.
  std::string original_config_error;
};

// <svc>/i.spawnable/signal/log: one container output line or one daemon status line.
struct LogMessage {
  int64_t time_unix_ns = 0;
  std::string sp_alias;
  std::string service;
  std::string stream;  // "stdout", "stderr" or "spawnd"
  std::string contents;
  friend bool operator==(const LogMessage&, const LogMessage&) = default;
};

// signal/logs/<RequestId>: {RequestId, Messages}; a reply with an empty list ends the history.
struct LogsReply {
  std::string request_id;
  std::vector<LogMessage> messages;
};

// slot/meta: {RequestId, Key, Value, Remove}: sets (or, with Remove, drops) one metadata key at
// run time. Key: 1-128 printable characters, none of '/', '+', '#'; Value at most 4 KiB.
struct MetaCommand {
  std::string request_id;
  std::string key;
  std::string value;
  bool remove = false;
};

// A job: one command (or one restart spawnd decided itself) and what became of it.
enum class JobState { kQueued, kRunning, kDone, kFailed };
const char* ToString(JobState state);
Result<JobState> ParseJobState(const std::string& text);

// signal/job/<Id> and each item of JobsReply: {Id, Kind, Service, State, Reason, Count, Created,
// Started, Ended, Code, Message}; times in unix ns (0: not yet).
struct Job {
  std::string id;    // the command's RequestId, or one spawnd made
  std::string kind;  // "deploy", "restart", "stop", "rollback", "auto-restart"; open-ended
  std::string service;
  JobState state = JobState::kQueued;
  std::string reason;  // auto-restart: "died", "unhealthy", "back-off"
  int64_t count = 1;   // auto-restart: restarts folded into this job (a crash loop is one job)
  int64_t created_unix_ns = 0;
  int64_t started_unix_ns = 0;
  int64_t ended_unix_ns = 0;
  int code = 0;  // as Reply's: 200 done, else the failure's
  std::string message;
  bool ended() const { return state == JobState::kDone || state == JobState::kFailed; }
  // The newest of its times: what JobsRequest's Since compares with.
  int64_t updated_unix_ns() const;
  friend bool operator==(const Job&, const Job&) = default;
};

// slot/jobs: {RequestId, Service, Since}: the jobs (of one service, or all when Service is empty)
// changed at or after Since (unix ns; 0: all that are kept).
struct JobsRequest {
  std::string request_id;
  std::string service;
  int64_t since_unix_ns = 0;
};

// signal/jobs/<RequestId>: {RequestId, Jobs}, oldest first; a reply with an empty list ends it.
struct JobsReply {
  std::string request_id;
  std::vector<Job> jobs;
};

std::string Encode(const DeployRequest& m);
std::string Encode(const ServiceCommand& m);
std::string Encode(const LogsRequest& m);
std::string Encode(const Reply& m);
std::string Encode(const SpawnpointHeartbeat& m);
std::string Encode(const ServiceHeartbeat& m);
std::string Encode(const LogMessage& m);
std::string Encode(const LogsReply& m);
std::string Encode(const MetaCommand& m);
std::string Encode(const Job& m);
std::string Encode(const JobsRequest& m);
std::string Encode(const JobsReply& m);

Result<DeployRequest> DecodeDeployRequest(const std::string& bytes);
// A msgpack map, a msgpack string, or bare UTF-8 text (surrounding whitespace dropped) taken as
// the service name with an empty request_id. The name must pass ValidateServiceName (else 400,
// "command: Service: ..."), so callers may build topics from it; whether it exists is theirs.
Result<ServiceCommand> DecodeServiceCommand(const std::string& bytes);
Result<LogsRequest> DecodeLogsRequest(const std::string& bytes);
Result<Reply> DecodeReply(const std::string& bytes);
Result<SpawnpointHeartbeat> DecodeSpawnpointHeartbeat(const std::string& bytes);
// How much of a service heartbeat DecodeServiceHeartbeat reads. OriginalConfig goes through the
// config parser, most of a decode's cost; a reader that shows only state and usage (a scan's
// listing of many spawnpoints) leaves it out, and original_config then stays default.
enum class HeartbeatDetail { kWithOriginalConfig, kWithoutOriginalConfig };
Result<ServiceHeartbeat> DecodeServiceHeartbeat(
    const std::string& bytes, HeartbeatDetail detail = HeartbeatDetail::kWithOriginalConfig);
Result<LogMessage> DecodeLogMessage(const std::string& bytes);
Result<LogsReply> DecodeLogsReply(const std::string& bytes);
// Key and Value are checked as MetaCommand says (400 naming the key otherwise).
Result<MetaCommand> DecodeMetaCommand(const std::string& bytes);
Result<Job> DecodeJob(const std::string& bytes);
Result<JobsRequest> DecodeJobsRequest(const std::string& bytes);
// Also reads the job log's own file (a JobsReply with every job kept), hence the larger bound.
Result<JobsReply> DecodeJobsReply(const std::string& bytes);

// Best effort: the RequestId of a payload that otherwise fails to decode (so a 400 can be
// answered); empty when there is none.
std::string PeekRequestId(const std::string& bytes);

}  // namespace spawn::proto
