#include "spawn/common/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string_view>

#include "spawn/common/config_yaml.h"
#include "spawn/common/files.h"
#include "spawn/common/units.h"
#include "spawn/common/yaml_fields.h"

namespace spawn {
namespace {

using namespace yaml_fields;

// `run` is argv: a single string is refused rather than split, since splitting would need shell
// quoting rules the original never had.
constexpr const char* kArgvList =
    "the command as a list of strings (a single string is not split), like [./svc, -v]";

// A key of the original spawnd.yml with no meaning on MQTT: accepted, and a line for `warnings`
// saying what to use instead.
FieldReader::Setter Superseded(std::vector<std::string>* warnings, std::string message) {
  return [warnings, message](const YAML::Node&) {
    warnings->push_back(message);
    return Status::Ok();
  };
}

FieldReader::Setter MqttVersionOf(MqttVersion* out) {
  return [out](const YAML::Node& v) {
    auto version = ParseMqttVersion(v.IsScalar() ? v.Scalar() : "");
    if (!version.ok()) {
      return Status::BadRequest(Describe(v) + " is not an MQTT version; expected 5 or 3.1.1");
    }
    *out = *version;
    return Status::Ok();
  };
}

// Hand-written matchers rather than std::regex: libstdc++'s regex recurses per character and
// overflows the stack on long input, and these strings come from the bus.
bool IsAlnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

std::string Lowercase(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// [A-Za-z0-9][A-Za-z0-9_.-]*, between `min` and `max` characters long.
bool IsDockerName(const std::string& s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max || !IsAlnum(s[0])) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// One path component of an image name: [a-z0-9]+ joined by ".", "_", "__" or any run of "-".
bool IsImagePathComponent(const std::string& s) {
  if (s.empty() || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (IsLowerAlnum(s[i])) continue;
    size_t j = i;
    while (j < s.size() && !IsLowerAlnum(s[j])) ++j;
    const std::string sep = s.substr(i, j - i);
    const bool dashes = sep.find_first_not_of('-') == std::string::npos;
    if (sep != "." && sep != "_" && sep != "__" && !dashes) return false;
    i = j - 1;
  }
  return true;
}

// A registry host: dot-separated labels of letters, digits and inner dashes, then :port.
bool IsRegistryHost(const std::string& s) {
  const size_t colon = s.find(':');
  const std::string host = s.substr(0, colon);
  if (colon != std::string::npos) {
    const std::string port = s.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos)
      return false;
  }
  if (host.empty()) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    if (dot == std::string::npos) dot = host.size();
    const std::string label = host.substr(start, dot - start);
    if (label.empty() || !IsAlnum(label.front()) || !IsAlnum(label.back())) return false;
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
    }
    start = dot + 1;
  }
  return true;
}

bool IsImageReference(const std::string& ref) {
  if (ref.empty() || ref.size() > 255) return false;
  std::string rest = ref;
  if (const size_t at = rest.find('@'); at != std::string::npos) {
    const std::string digest = rest.substr(at + 1);
    constexpr std::string_view kAlgo = "sha256:";
    if (digest.size() != kAlgo.size() + 64 || digest.compare(0, kAlgo.size(), kAlgo) != 0)
      return false;
    for (size_t i = kAlgo.size(); i < digest.size(); ++i) {
      if (!IsHex(digest[i])) return false;
    }
    rest.resize(at);
  }
  const size_t last_slash = rest.rfind('/');
  const size_t colon = rest.rfind(':');
  if (colon != std::string::npos && (last_slash == std::string::npos || colon > last_slash)) {
    const std::string tag = rest.substr(colon + 1);
    if (tag.empty() || tag.size() > 128 || !(IsAlnum(tag[0]) || tag[0] == '_')) return false;
    for (char c : tag) {
      if (!IsAlnum(c) && c != '_' && c != '.' && c != '-') return false;
    }
    rest.resize(colon);
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t slash = rest.find('/', start);
    parts.push_back(rest.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  size_t first = 0;
  // As Docker decides: a first part with a dot or a port, or localhost, names a registry.
  if (parts.size() > 1 && (parts[0].find_first_of(".:") != std::string::npos ||
                           parts[0] == "localhost" || parts[0] != Lowercase(parts[0]))) {
    if (!IsRegistryHost(parts[0])) return false;
    first = 1;
  }
  for (size_t i = first; i < parts.size(); ++i) {
    if (!IsImagePathComponent(parts[i])) return false;
  }
  return true;
}

Status CheckAptPackage(const std::string& item) { return ValidateAptPackage(item); }

FieldReader::Setter ImageReference(std::string* out) {
  return [out](const YAML::Node& v) {
    if (!v.IsScalar()) {
      return Status::BadRequest(Describe(v) + " is not a string; expected an image reference, " +
                                "like debian:12");
    }
    SPAWN_RETURN_IF_ERROR(ValidateImageReference(v.Scalar()));
    *out = v.Scalar();
    return Status::Ok();
  };
}

FieldReader::Setter UserSpec(std::string* out) {
  return [out](const YAML::Node& v) {
    if (!v.IsScalar()) {
      return Status::BadRequest(Describe(v) + " is not a user; expected UID or UID:GID, like " +
                                "1000:1000");
    }
    SPAWN_RETURN_IF_ERROR(ValidateUserSpec(v.Scalar()));
    *out = v.Scalar();
    return Status::Ok();
  };
}

Status CheckEnv(const std::string& item) {
  const size_t eq = item.find('=');
  bool ok = eq != std::string::npos && eq > 0 && !(item[0] >= '0' && item[0] <= '9') &&
            item.find('\0') == std::string::npos;
  for (size_t i = 0; ok && i < eq; ++i) ok = IsAlnum(item[i]) || item[i] == '_';
  if (!ok) {
    return Status::BadRequest(Quoted(item) +
                              " is not an environment entry; expected KEY=value, KEY "
                              "being letters, digits and _ not starting with a digit");
  }
  return Status::Ok();
}

// Docker's own rule for volume names ([a-zA-Z0-9][a-zA-Z0-9_.-]+), checked here so that a bad
// name fails the deploy with a message instead of failing container creation.
Status CheckVolume(const std::string& item) {
  if (!IsDockerName(item, 2, 255)) {
    return Status::BadRequest(Quoted(item) +
                              " is not a volume name; expected 2 or more letters, digits, _ . - "
                              "starting with a letter or digit (mounted at /srv/<name>)");
  }
  return Status::Ok();
}

FieldReader::Setter NetworkName(std::string* out) {
  return [out](const YAML::Node& v) {
    if (!v.IsScalar()) {
      return Status::BadRequest(Describe(v) + " is not a network name; expected text, like svcnet");
    }
    SPAWN_RETURN_IF_ERROR(ValidateNetworkName(v.Scalar()));
    *out = v.Scalar();
    return Status::Ok();
  };
}

Status CheckRelativePath(const std::string& item) {
  if (item.empty()) return Status::BadRequest("an empty path; expected a file path");
  return Status::Ok();
}

Status CheckDevice(const std::string& item) {
  if (item.rfind("/dev/", 0) != 0) {
    return Status::BadRequest(Quoted(item) + " is not a device; expected /dev/x[:/dev/y[:rwm]]");
  }
  return Status::Ok();
}

Result<YAML::Node> LoadYaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    const std::string line = e.mark.line >= 0 ? ":" + std::to_string(e.mark.line + 1) : "";
    return Status::BadRequest(source + line + ": not valid YAML: " + e.msg);
  } catch (const std::exception& e) {  // e.g. bad_alloc on absurd nesting: still a bad file
    return Status::BadRequest(source + ": not valid YAML: " + e.what());
  }
}

// A topic path as spawnd.yml gives one (`path`, `fleet.base`): trailing '/' dropped; false when
// nothing is left or it holds an MQTT wildcard.
bool NormalizeTopicPath(std::string* path) {
  while (!path->empty() && path->back() == '/') path->pop_back();
  return !path->empty() && path->find_first_of("+#") == std::string::npos;
}

// labels: a map of text values, keys as ValidateLabelKey.
FieldReader::Setter LabelMap(std::map<std::string, std::string>* out) {
  return [out](const YAML::Node& v) {
    if (v.IsNull()) {
      out->clear();
      return Status::Ok();
    }
    if (!v.IsMap()) {
      return Status::BadRequest(Describe(v) + " is not a map; expected key: value pairs, like " +
                                "{team: web}");
    }
    std::map<std::string, std::string> labels;
    for (const auto& entry : v) {
      const std::string key = entry.first.Scalar();
      SPAWN_RETURN_IF_ERROR(ValidateLabelKey(key));
      if (!entry.second.IsScalar() || entry.second.Scalar().size() > 256) {
        return Status::BadRequest(key + ": " + Describe(entry.second) +
                                  " is not a label value; expected text of at most 256 characters");
      }
      labels[key] = entry.second.Scalar();
    }
    *out = std::move(labels);
    return Status::Ok();
  };
}

// healthCheck: a map read by its own FieldReader; errors read "healthCheck: interval: ...".
FieldReader::Setter HealthCheckOf(std::optional<HealthCheck>* out) {
  return [out](const YAML::Node& v) {
    if (!v.IsMap()) {
      return Status::BadRequest(Describe(v) +
                                " is not a health check; expected a map, like {cmd: [test, -f, "
                                "/tmp/ok]} or {http: \"http://127.0.0.1:8080/health\"}");
    }
    HealthCheck check;
    FieldReader r("");
    r.On("cmd", StringList(&check.cmd, nullptr, kArgvList));
    r.On("http", String(&check.http));
    r.On("expect", String(&check.expect));
    r.On("interval", DurationOf(&check.interval));
    r.On("timeout", DurationOf(&check.timeout));
    r.On("retries", PositiveInt(&check.retries));
    r.On("startPeriod", DurationOf(&check.start_period));
    SPAWN_RETURN_IF_ERROR(r.Read(v));
    Status valid = ValidateHealthCheck(check);
    if (!valid.ok()) {
      // ValidateHealthCheck names "healthCheck.<key>"; the outer reader adds "healthCheck: ".
      std::string message = valid.message();
      const std::string prefix = "healthCheck";
      if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
      if (message.rfind(".", 0) == 0) message = message.substr(1);
      if (message.rfind(": ", 0) == 0) message = message.substr(2);
      return Status::BadRequest(message);
    }
    *out = std::move(check);
    return Status::Ok();
  };
}

// fleet: of spawnd.yml, a map read by its own FieldReader; base is required.
FieldReader::Setter FleetAgentOf(std::optional<FleetAgentConfig>* out) {
  return [out](const YAML::Node& v) {
    if (!v.IsMap()) {
      return Status::BadRequest(Describe(v) +
                                " is not a fleet; expected a map, like {base: site, username: "
                                "fleet-op, passwordFile: /etc/spawnd/fleet-password}");
    }
    FleetAgentConfig fleet;
    FieldReader r("");
    r.On("base", String(&fleet.base));
    r.On("username", String(&fleet.username));
    r.On("passwordFile", String(&fleet.password_file));
    SPAWN_RETURN_IF_ERROR(r.Read(v));
    if (!NormalizeTopicPath(&fleet.base)) {
      return Status::BadRequest("base: " + Quoted(fleet.base) +
                                " is not a base; expected the topic its spawnpoints are under, "
                                "like site");
    }
    *out = std::move(fleet);
    return Status::Ok();
  };
}

const std::pair<const char*, const char*> kSpawndRequired[] = {
    {"path", "scratch.ns/spawnpoint/alpha"}, {"memAlloc", "4G"}, {"cpuShares", "4096"}};
const std::pair<const char*, const char*> kServiceRequired[] = {
    {"run", "[./svc, --flag]"}, {"memAlloc", "512M"}, {"cpuShares", "512"}};

}  // namespace

Result<SpawndConfig> ParseSpawndConfig(const std::string& yaml_text,
                                       const std::string& source_name) {
  auto root = LoadYaml(yaml_text, source_name);
  if (!root.ok()) return root.status();
  SpawndConfig c;
  FieldReader r(source_name);
  r.On("path", String(&c.path));
  r.On("alias", String(&c.alias));
  r.On("broker", String(&c.broker));
  r.On("containerBroker", String(&c.container_broker));
  r.On("containerRouter", String(&c.container_broker), "containerBroker");
  r.On("username", String(&c.username));
  r.On("passwordFile", String(&c.password_file));
  r.On("caFile", String(&c.ca_file));
  r.On("certFile", String(&c.cert_file));
  r.On("keyFile", String(&c.key_file));
  r.On("mqttVersion", MqttVersionOf(&c.mqtt_version));
  r.On("sessionExpiry", DurationOf(&c.session_expiry));
  r.On("memAlloc", Size(&c.mem_alloc_bytes));
  r.On("cpuShares", PositiveInt(&c.cpu_shares));
  r.On("zombiePeriod", DurationOf(&c.zombie_period));
  r.On("heartbeatInterval", DurationOf(&c.heartbeat_interval));
  r.On("heartbeatMemDeadband", Size(&c.heartbeat_mem_deadband_bytes));
  r.On("heartbeatMemDeadbandPercent",
       WholeNumberUpTo(&c.heartbeat_mem_deadband_percent, 100,
                       "a percentage; expected a whole number from 0 to 100, like 10"));
  r.On("heartbeatCpuDeadband",
       WholeNumberUpTo(&c.heartbeat_cpu_deadband_points, 100000,
                       "a number of CPU percentage points (100 = one core); expected a whole "
                       "number from 0, like 5"));
  r.On("allowHostNet", Bool(&c.allow_host_net));
  r.On("allowDeviceMappings", Bool(&c.allow_device_mappings));
  r.On("stateDir", String(&c.state_dir));
  r.On("dockerSocket", String(&c.docker_socket));
  r.On("defaultImage", ImageReference(&c.default_image));
  r.On("pidsLimit", PositiveInt(&c.pids_limit));
  r.On("diskAlloc", Size(&c.disk_alloc_bytes));
  r.On("imageGrace", DurationOf(&c.image_grace));
  r.On("serviceUsername", String(&c.service_username));
  r.On("servicePasswordFile", String(&c.service_password_file));
  r.On("fleet", FleetAgentOf(&c.fleet));
  r.On("entity",
       Superseded(&c.warnings, source_name +
                                   ": entity (the original's BOSSWAVE entity) is ignored; give the "
                                   "broker's credentials instead: username and passwordFile"));
  r.On("localRouter",
       Superseded(&c.warnings, source_name +
                                   ": localRouter (the original's BOSSWAVE agent) is ignored; "
                                   "give broker instead, like tcp://127.0.0.1:1883"));
  try {
    SPAWN_RETURN_IF_ERROR(r.Read(*root));
  } catch (const YAML::Exception& e) {
    return Status::BadRequest(source_name + ": not a valid config: " + e.msg);
  }
  for (const auto& [required, example] : kSpawndRequired) {
    if (!r.Seen(required)) {
      return Status::BadRequest(source_name + ": " + required + " is required; expected e.g. " +
                                required + ": " + example);
    }
  }
  if (!NormalizeTopicPath(&c.path)) {
    return Status::BadRequest(source_name + ": path: " + Quoted(c.path) +
                              " is not a topic path; expected e.g. scratch.ns/spawnpoint/alpha");
  }
  const bool alias_given = !c.alias.empty();
  if (!alias_given) c.alias = c.path.substr(c.path.rfind('/') + 1);
  // The alias names containers (spawnpoint_<alias>_<name>), so it obeys Docker's name rule.
  if (!IsDockerName(c.alias, 1, 63)) {
    return Status::BadRequest(
        source_name + ": " + (alias_given ? "alias: " : "alias (the last element of path): ") +
        Quoted(c.alias) +
        " is not an alias; expected 1-63 letters, digits, _ . - starting with a letter or digit");
  }
  if (c.container_broker.empty()) c.container_broker = c.broker;
  for (const auto& [key, uri] : {std::pair<const char*, const std::string*>{"broker", &c.broker},
                                 {"containerBroker", &c.container_broker}}) {
    if (uri->rfind("tcp://", 0) != 0 && uri->rfind("ssl://", 0) != 0) {
      return Status::BadRequest(
          source_name + ": " + key + ": " + Quoted(*uri) +
          " is not a broker URI; expected tcp://host:port or ssl://host:port");
    }
  }
  // Under MQTT 5 a session of expiry 0 ends with the connection: spawnd would miss every command
  // sent while it restarts.
  if (c.session_expiry < std::chrono::seconds(1)) {
    return Status::BadRequest(source_name +
                              ": sessionExpiry: " + Quoted(FormatDuration(c.session_expiry)) +
                              " is too short; expected at least 1s, like 168h");
  }
  if (c.heartbeat_interval.count() <= 0) {
    return Status::BadRequest(
        source_name + ": heartbeatInterval: " + Quoted(FormatDuration(c.heartbeat_interval)) +
        " is too short; expected at least 1ms, like 5s");
  }
  return c;
}

Result<SpawndConfig> LoadSpawndConfigFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseSpawndConfig(*text, path);
}

Result<ServiceConfig> ParseServiceConfigNode(const YAML::Node& node, const std::string& source_name,
                                             const std::optional<std::string>& name_override) {
  ServiceConfig c;
  FieldReader r(source_name);
  try {
    // A replicated service (spawn/fleet's keys) is no single spawnpoint's to deploy.
    for (const char* fleet_key : {"replicas", "placement"}) {
      if (node.IsMap() && node[fleet_key]) {
        return Status::BadRequest(
            r.Where(node[fleet_key]) + fleet_key + ": " + Describe(node[fleet_key]) +
            " makes a replicated service; expected it applied to a fleet with spawnctl fleet "
            "apply -u BASE -c FILE, not deployed with spawnctl deploy");
      }
    }
    r.On("name", String(&c.name));
    r.On("image", ImageReference(&c.image));
    r.On("container", ImageReference(&c.image), "image");
    r.On("source", String(&c.source));
    r.On("aptRequires", StringList(&c.apt_requires, CheckAptPackage));
    r.On("build", StringList(&c.build));
    r.On("run", StringList(&c.run, nullptr, kArgvList));
    r.On("memAlloc", Size(&c.mem_alloc_bytes));
    r.On("cpuShares", PositiveInt(&c.cpu_shares));
    r.On("autoRestart", Bool(&c.auto_restart));
    r.On("restartInt", DurationOf(&c.restart_interval));
    r.On("includedFiles", StringList(&c.included_files, CheckRelativePath));
    r.On("includedDirs", StringList(&c.included_dirs, CheckRelativePath));
    r.On("volumes", StringList(&c.volumes, CheckVolume));
    r.On("useHostNet", Bool(&c.use_host_net));
    r.On("overlayNet", NetworkName(&c.overlay_net));
    r.On("network", NetworkName(&c.overlay_net), "overlayNet");
    r.On("devices", StringList(&c.devices, CheckDevice));
    r.On("env", StringList(&c.env, CheckEnv));
    r.On("entity", String(&c.entity));
    r.On("stopTimeout", DurationOf(&c.stop_timeout));
    r.On("maxRestartInt", DurationOf(&c.max_restart_interval));
    r.On("pidsLimit", PositiveInt(&c.pids_limit));
    r.On("readOnly", Bool(&c.read_only));
    r.On("user", UserSpec(&c.user));
    r.On("healthCheck", HealthCheckOf(&c.health_check));
    r.On("labels", LabelMap(&c.labels));
    SPAWN_RETURN_IF_ERROR(r.Read(node));
  } catch (const YAML::Exception& e) {
    return Status::BadRequest(source_name + ": not a valid config: " + e.msg);
  }
  if (name_override) c.name = *name_override;
  if (c.name.empty()) {
    return Status::BadRequest(source_name + ": name is required (in the file or with -n NAME)");
  }
  Status name_ok = ValidateServiceName(c.name);
  if (!name_ok.ok()) return Status::BadRequest(source_name + ": name: " + name_ok.message());
  for (const auto& [required, example] : kServiceRequired) {
    if (!r.Seen(required)) {
      return Status::BadRequest(source_name + ": " + required + " is required; expected e.g. " +
                                required + ": " + example);
    }
  }
  if (c.run.empty()) {
    return Status::BadRequest(
        source_name + ": run: an empty list; expected the command as a list, like [./svc, -v]");
  }
  if (!c.source.empty() && c.source.rfind("https://", 0) != 0) {
    return Status::BadRequest(source_name + ": source: " + Quoted(c.source) +
                              " is not an https git URL; expected https://host/repo.git");
  }
  if (c.use_host_net && !c.overlay_net.empty()) {
    return Status::BadRequest(source_name + ": overlayNet: " + Quoted(c.overlay_net) +
                              " cannot be combined with useHostNet: true (a container on the "
                              "host's network joins no other); expected one of overlayNet and "
                              "useHostNet");
  }
  return c;
}

Result<ServiceConfig> ParseServiceConfig(const std::string& yaml_text,
                                         const std::string& source_name,
                                         const std::optional<std::string>& name_override) {
  auto root = LoadYaml(yaml_text, source_name);
  if (!root.ok()) return root.status();
  return ParseServiceConfigNode(*root, source_name, name_override);
}

Result<ServiceConfig> LoadServiceConfigFile(const std::string& path,
                                            const std::optional<std::string>& name_override) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseServiceConfig(*text, path, name_override);
}

YAML::Node ServiceConfigToNode(const ServiceConfig& c) {
  const ServiceConfig d;
  YAML::Node n(YAML::NodeType::Map);
  auto list = [&n](const char* key, const std::vector<std::string>& v) {
    if (v.empty()) return;
    YAML::Node seq(YAML::NodeType::Sequence);
    for (const auto& s : v) seq.push_back(s);
    n[key] = seq;
  };
  n["name"] = c.name;
  if (!c.image.empty()) n["image"] = c.image;
  if (!c.source.empty()) n["source"] = c.source;
  list("aptRequires", c.apt_requires);
  list("build", c.build);
  list("run", c.run);
  n["memAlloc"] = FormatSize(c.mem_alloc_bytes);
  n["cpuShares"] = c.cpu_shares;
  if (c.auto_restart) n["autoRestart"] = true;
  if (c.restart_interval != d.restart_interval)
    n["restartInt"] = FormatDuration(c.restart_interval);
  list("includedFiles", c.included_files);
  list("includedDirs", c.included_dirs);
  list("volumes", c.volumes);
  if (c.use_host_net) n["useHostNet"] = true;
  if (!c.overlay_net.empty()) n["overlayNet"] = c.overlay_net;
  list("devices", c.devices);
  list("env", c.env);
  if (!c.entity.empty()) n["entity"] = c.entity;
  if (c.stop_timeout != d.stop_timeout) n["stopTimeout"] = FormatDuration(c.stop_timeout);
  if (c.max_restart_interval != d.max_restart_interval) {
    n["maxRestartInt"] = FormatDuration(c.max_restart_interval);
  }
  if (c.pids_limit != d.pids_limit) n["pidsLimit"] = c.pids_limit;
  if (c.read_only) n["readOnly"] = true;
  if (!c.user.empty()) n["user"] = c.user;
  if (c.health_check) {
    const HealthCheck& h = *c.health_check;
    const HealthCheck hd;
    YAML::Node check(YAML::NodeType::Map);
    if (!h.cmd.empty()) {
      YAML::Node seq(YAML::NodeType::Sequence);
      for (const auto& arg : h.cmd) seq.push_back(arg);
      check["cmd"] = seq;
    }
    if (!h.http.empty()) check["http"] = h.http;
    if (!h.expect.empty()) check["expect"] = h.expect;
    if (h.interval != hd.interval) check["interval"] = FormatDuration(h.interval);
    if (h.timeout != hd.timeout) check["timeout"] = FormatDuration(h.timeout);
    if (h.retries != hd.retries) check["retries"] = h.retries;
    if (h.start_period != hd.start_period) check["startPeriod"] = FormatDuration(h.start_period);
    n["healthCheck"] = check;
  }
  if (!c.labels.empty()) {
    YAML::Node labels(YAML::NodeType::Map);
    for (const auto& [key, value] : c.labels) labels[key] = value;
    n["labels"] = labels;
  }
  return n;
}

std::string ServiceConfigToYaml(const ServiceConfig& config) {
  YAML::Emitter out;
  out << ServiceConfigToNode(config);
  return std::string(out.c_str()) + "\n";
}

Status ValidateServiceName(const std::string& name) {
  if (!IsDockerName(name, 1, 63)) {
    return Status::BadRequest(Quoted(name) +
                              " is not a service name; expected 1-63 letters, digits, _ . - "
                              "starting with a letter or digit");
  }
  if (name == "server") {
    return Status::BadRequest("\"server\" is reserved (it is the spawnpoint's own topic)");
  }
  return Status::Ok();
}

Status ValidateLabelKey(const std::string& key) {
  bool ok = !key.empty() && key.size() <= 128 && IsAlnum(key[0]);
  for (char c : key) ok = ok && (IsAlnum(c) || c == '_' || c == '.' || c == '-' || c == '/');
  if (!ok) {
    return Status::BadRequest(Quoted(key) +
                              " is not a label key; expected 1-128 letters, digits, _ . - / "
                              "starting with a letter or digit, like team");
  }
  return Status::Ok();
}

Status ValidateNetworkName(const std::string& name) {
  if (!IsDockerName(name, 1, 255)) {
    return Status::BadRequest(Quoted(name) +
                              " is not a network name; expected 1-255 letters, digits, _ . - "
                              "starting with a letter or digit, like svcnet");
  }
  if (name == "bridge" || name == "host" || name == "none") {
    return Status::BadRequest(Quoted(name) +
                              " is one of Docker's own networks; expected the name of a network of "
                              "your own, like svcnet (useHostNet: true for the host's)");
  }
  return Status::Ok();
}

Status ValidateImageReference(const std::string& image) {
  if (!IsImageReference(image)) {
    return Status::BadRequest(
        Quoted(image) +
        " is not an image reference; expected [registry[:port]/]name[:tag][@sha256:digest] with "
        "lowercase name parts and no spaces, like debian:12 or ghcr.io/example/svc:1.2");
  }
  return Status::Ok();
}

Status ValidateAptPackage(const std::string& package) {
  const size_t eq = package.find('=');
  const std::string head = package.substr(0, eq);
  const size_t colon = head.find(':');
  const std::string name = head.substr(0, colon);
  bool ok = name.size() >= 2 && IsLowerAlnum(name[0]);
  for (char c : name) ok = ok && (IsLowerAlnum(c) || c == '+' || c == '.' || c == '-');
  if (colon != std::string::npos) {
    const std::string arch = head.substr(colon + 1);
    ok = ok && !arch.empty();
    for (char c : arch) ok = ok && (IsLowerAlnum(c) || c == '-');
  }
  if (eq != std::string::npos) {
    const std::string version = package.substr(eq + 1);
    ok = ok && !version.empty() && IsAlnum(version[0]);
    for (char c : version) {
      ok = ok && (IsAlnum(c) || c == '.' || c == '+' || c == '~' || c == ':' || c == '-');
    }
  }
  if (!ok) {
    return Status::BadRequest(Quoted(package) +
                              " is not a Debian package name; expected lowercase letters, digits, "
                              "+ . - (at least 2), optionally :arch or =version, like jq or "
                              "libssl3=3.0.11-1");
  }
  return Status::Ok();
}

Status ValidateUserSpec(const std::string& user) {
  const size_t colon = user.find(':');
  auto number = [](const std::string& s) {
    return !s.empty() && s.size() <= 10 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  const bool ok = number(user.substr(0, colon)) &&
                  (colon == std::string::npos || number(user.substr(colon + 1)));
  if (!ok) {
    return Status::BadRequest(Quoted(user) +
                              " is not a user; expected UID or UID:GID, numbers only, like "
                              "1000:1000");
  }
  return Status::Ok();
}

Result<std::map<std::string, std::string>> LoadMetadataFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto root = LoadYaml(*text, path);
  if (!root.ok()) return root.status();
  std::map<std::string, std::string> out;
  if (root->IsNull()) return out;
  if (!root->IsMap()) return Status::BadRequest(path + ": expected a map of key: value pairs");
  for (const auto& entry : *root) {
    if (!entry.second.IsScalar()) {
      return Status::BadRequest(path + ": " + entry.first.Scalar() + ": " + Describe(entry.second) +
                                " is not a value; expected text or a number");
    }
    out[entry.first.Scalar()] = entry.second.Scalar();
  }
  return out;
}

}  // namespace spawn
