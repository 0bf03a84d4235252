// The two YAML configuration files of spawnpoint, as typed structs: spawnd.yml (one spawnpoint) and
// deploy.yml (one service). Parsing is strict: unknown keys and malformed values are errors that
// name the key, the value and what was expected, e.g.
//   memAlloc: "12X" is not a size; expected a number with M or G, like 512M
// The same parser reads a service config that arrived on the bus (a msgpack map, converted to a
// YAML node by the wire format through spawn/common/config_yaml.h, which is in-tree only), so a
// deploy is validated identically by spawnctl and spawnd. yaml-cpp is not part of this interface.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "spawn/common/event_loop.h"
#include "spawn/common/mqtt_version.h"
#include "spawn/common/status.h"

namespace spawn {

// fleet: of spawnd.yml: spawnd also runs the fleet's reconciler for a base (spawn::fleet), on a
// connection of its own with an operator's identity for that base (not the host's).
struct FleetAgentConfig {
  std::string base;  // required
  std::string username;
  std::string password_file;  // passwordFile
  friend bool operator==(const FleetAgentConfig&, const FleetAgentConfig&) = default;
};

// spawnd.yml. Defaults are the design's.
struct SpawndConfig {
  std::string path;   // required: base topic, e.g. "scratch.ns/spawnpoint/alpha"
  std::string alias;  // default: last element of path
  std::string broker = "tcp://127.0.0.1:1883";
  std::string container_broker;  // default: broker
  std::string username;
  std::string password_file;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // mqttVersion: what spawnd speaks to the broker; 3.1.1 for a broker that speaks nothing newer
  // (no session or message expiry, refusals unannounced).
  MqttVersion mqtt_version = MqttVersion::kV5;
  // sessionExpiry (MQTT 5): how long the broker keeps spawnd's session, with the commands queued
  // for it, while spawnd is away.
  Duration session_expiry = std::chrono::hours(7 * 24);
  int64_t mem_alloc_bytes = 0;  // required (memAlloc)
  int64_t cpu_shares = 0;       // required
  Duration zombie_period = std::chrono::minutes(2);
  Duration heartbeat_interval = std::chrono::seconds(5);
  // Report by exception: a service's heartbeat goes out again for its usage only when memory moved
  // by more than the larger of heartbeatMemDeadband and heartbeatMemDeadbandPercent % of the
  // figure last published, or CPU by more than heartbeatCpuDeadband points (100 = one core) in
  // two samples in a row.
  int64_t heartbeat_mem_deadband_bytes = 1024 * 1024;
  int64_t heartbeat_mem_deadband_percent = 10;
  int64_t heartbeat_cpu_deadband_points = 5;
  bool allow_host_net = false;
  bool allow_device_mappings = false;
  std::string state_dir = "/var/lib/spawnd";
  std::string docker_socket = "/var/run/docker.sock";
  std::string default_image =
      "spawnpoint/base:latest";  // defaultImage: image for configs without one
  // pidsLimit: the most processes (and threads) a service's container may have, for services
  // whose deploy.yml gives none.
  int64_t pids_limit = 1024;
  // diskAlloc: what the images spawnd builds and its services' logs may take (0: no budget).
  int64_t disk_alloc_bytes = 0;
  // imageGrace: how long an image no service uses is kept before it is removed.
  Duration image_grace = std::chrono::hours(1);
  // The services identity (`spawnctl access host` makes it): handed to every service, so that a
  // service connects as a services account, never as the spawnpoint. Empty: none.
  std::string service_username;           // serviceUsername
  std::string service_password_file;      // servicePasswordFile
  std::optional<FleetAgentConfig> fleet;  // fleet: none, no reconciler here
  // One line for each key of the original spawnd.yml that is accepted but means nothing here
  // (entity, localRouter: BOSSWAVE's), saying what to use instead; spawnd logs them.
  std::vector<std::string> warnings;
};

// healthCheck of deploy.yml: exactly one of `cmd` (run in the container by the engine, Docker's
// HEALTHCHECK) and `http` (probed by spawnd itself; the URL's host stands for the container).
struct HealthCheck {
  std::vector<std::string> cmd;  // argv, run in the container
  std::string http;              // "http://127.0.0.1:PORT/path"
  std::string expect;            // extended regular expression the body must match; "" any body
  Duration interval = std::chrono::seconds(10);
  Duration timeout = std::chrono::seconds(2);
  int64_t retries = 3;       // failures in a row that make the service unhealthy
  Duration start_period{0};  // failures in this long after a start do not count

  friend bool operator==(const HealthCheck&, const HealthCheck&) = default;
};

// deploy.yml: one service. Keys as in the original Spawnpoint (`container` is an alias of `image`).
struct ServiceConfig {
  std::string name;    // `name`, or spawnctl deploy -n
  std::string image;   // `image` / `container`; empty: the spawnpoint's default
  std::string source;  // https git URL cloned into the build
  std::vector<std::string> apt_requires;
  std::vector<std::string> build;  // RUN commands
  std::vector<std::string> run;    // required: argv
  int64_t mem_alloc_bytes = 0;     // required (memAlloc)
  int64_t cpu_shares = 0;          // required
  bool auto_restart = false;
  Duration restart_interval{0};  // restartInt
  std::vector<std::string> included_files;
  std::vector<std::string> included_dirs;
  std::vector<std::string> volumes;  // named volumes, mounted at /srv/<name>
  bool use_host_net = false;
  // overlayNet (alias network): a Docker network the container joins, made if missing, with the
  // service's name as its alias there. Not with useHostNet.
  std::string overlay_net;
  std::vector<std::string> devices;  // "/dev/x[:/dev/y[:rwm]]"
  std::vector<std::string> env;      // "KEY=value"
  std::string entity;                // path of a credentials file (client side)
  Duration stop_timeout = std::chrono::seconds(10);
  Duration max_restart_interval = std::chrono::minutes(5);  // maxRestartInt
  int64_t pids_limit = 0;  // pidsLimit; 0: the spawnpoint's pidsLimit
  bool read_only = false;  // readOnly: read-only root filesystem, /tmp a tmpfs
  std::string user;        // "UID" or "UID:GID" (numbers only); empty: the image's user
  std::optional<HealthCheck> health_check;  // healthCheck; none: no health checking
  // labels: key: value pairs the service carries (in its heartbeat's OriginalConfig, and on its
  // container). The fleet marks its replicas with them (spawn/fleet/fleet_spec.h). Keys as
  // ValidateLabelKey; values at most 256 characters.
  std::map<std::string, std::string> labels;

  friend bool operator==(const ServiceConfig&, const ServiceConfig&) = default;
};

// Parses spawnd.yml text. `source_name` (a file name) prefixes error messages.
Result<SpawndConfig> ParseSpawndConfig(const std::string& yaml_text,
                                       const std::string& source_name);
Result<SpawndConfig> LoadSpawndConfigFile(const std::string& path);

// Parses a service config from YAML text. `name` is required unless `name_override` is given
// (spawnctl deploy -n), which wins over the file's name.
Result<ServiceConfig> ParseServiceConfig(const std::string& yaml_text,
                                         const std::string& source_name,
                                         const std::optional<std::string>& name_override = {});
Result<ServiceConfig> LoadServiceConfigFile(const std::string& path,
                                            const std::optional<std::string>& name_override = {});

// The config as YAML text with the design's keys and value forms (sizes "64M", durations "30s"),
// omitting keys at their defaults; ParseServiceConfig(ServiceConfigToYaml(c), ...) == c.
std::string ServiceConfigToYaml(const ServiceConfig& config);

// Names a service may have: [A-Za-z0-9][A-Za-z0-9_.-]{0,62}, and not "server" (reserved topic).
Status ValidateServiceName(const std::string& name);

// A label key: 1-128 letters, digits, _ . - /, starting with a letter or digit.
Status ValidateLabelKey(const std::string& key);

// Names a network may have (overlayNet): Docker's [A-Za-z0-9][A-Za-z0-9_.-]*, at most 255
// characters, and none of Docker's own networks (bridge, host, none).
Status ValidateNetworkName(const std::string& name);

// A Docker image reference: [host[:port]/]name[/name...][:tag][@sha256:<64 hex>], name
// components [a-z0-9]+ joined by . _ __ or dashes, at most 255 characters. 400 saying what was
// expected otherwise (the value is quoted; the caller adds the key).
Status ValidateImageReference(const std::string& image);

// A Debian package name for apt-get install: [a-z0-9][a-z0-9+.-]+, optionally :arch and/or
// =version (version characters [A-Za-z0-9.+~:-]).
Status ValidateAptPackage(const std::string& package);

// `user` of deploy.yml: "UID" or "UID:GID", numbers only.
Status ValidateUserSpec(const std::string& user);

// A healthCheck: one of cmd and http; http an http:// URL with an optional port; expect a valid
// extended regular expression; interval and timeout positive, startPeriod not negative, retries
// at least 1. 400 naming the key ("healthCheck.expect: ...") otherwise.
Status ValidateHealthCheck(const HealthCheck& check);

// The parts of a healthCheck's http URL: the URL's host is replaced by the container's address.
struct HttpTarget {
  int port = 80;
  std::string path = "/";  // with its query, if any
};
Result<HttpTarget> ParseHttpTarget(const std::string& url);

// Whether `text` matches the extended regular expression `pattern` anywhere (POSIX regex, which
// does not recurse per character as std::regex does). An invalid pattern matches nothing.
bool MatchesExtendedRegex(const std::string& pattern, const std::string& text);

// key: value pairs of metadata.yml (scalars only).
Result<std::map<std::string, std::string>> LoadMetadataFile(const std::string& path);

}  // namespace spawn
