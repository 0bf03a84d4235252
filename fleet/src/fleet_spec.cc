#include "spawn/fleet/fleet_spec.h"

#include <yaml-cpp/yaml.h>

#include "spawn/common/config_yaml.h"
#include "spawn/common/files.h"
#include "spawn/common/units.h"
#include "spawn/common/yaml_fields.h"

namespace spawn::fleet {
namespace {

std::string Where(const std::string& source, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.line >= 0 && !node.IsNull()) return source + ":" + std::to_string(mark.line + 1) + ": ";
  return source + ": ";
}

Status Replicas(const YAML::Node& v, int64_t* out) {
  const std::string s = v.IsScalar() ? v.Scalar() : "";
  bool digits = !s.empty() && s.size() <= 6;
  int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') digits = false;
    if (digits) n = n * 10 + (c - '0');
  }
  if (!digits || n > kMaxReplicas) {
    return Status::BadRequest(Describe(v) +
                              " is not a number of replicas; expected an integer from 0 to " +
                              std::to_string(kMaxReplicas) + ", like 3");
  }
  *out = n;
  return Status::Ok();
}

Status ReadPlacement(const YAML::Node& v, Placement* out) {
  if (!v.IsMap()) {
    return Status::BadRequest(Describe(v) +
                              " is not a placement; expected a map with spread, require and "
                              "rescheduleAfter, like {spread: true, rescheduleAfter: 60s}");
  }
  for (const auto& entry : v) {
    const std::string key = entry.first.Scalar();
    const YAML::Node& value = entry.second;
    if (key == "spread") {
      const std::string s = value.IsScalar() ? value.Scalar() : "";
      if (s == "true" || s == "True" || s == "yes") {
        out->spread = true;
      } else if (s == "false" || s == "False" || s == "no") {
        out->spread = false;
      } else {
        return Status::BadRequest("spread: " + Describe(value) +
                                  " is not a boolean; expected true or false");
      }
    } else if (key == "require") {
      if (!value.IsMap()) {
        return Status::BadRequest("require: " + Describe(value) +
                                  " is not a map; expected key: value pairs matched against the "
                                  "spawnpoints' metadata, like {location: building-a}");
      }
      for (const auto& pair : value) {
        if (!pair.second.IsScalar()) {
          return Status::BadRequest("require: " + pair.first.Scalar() + ": " +
                                    Describe(pair.second) +
                                    " is not a value; expected text, like building-a");
        }
        out->require[pair.first.Scalar()] = pair.second.Scalar();
      }
    } else if (key == "rescheduleAfter") {
      auto d = value.IsScalar() ? ParseDuration(value.Scalar())
                                : Result<Duration>(Status::BadRequest("not a duration"));
      if (!d.ok() || d->count() <= 0) {
        return Status::BadRequest("rescheduleAfter: " + Describe(value) +
                                  " is not a positive duration; expected e.g. 60s or 5m");
      }
      out->reschedule_after = *d;
    } else {
      return Status::BadRequest("unknown key " + Quoted(key) +
                                "; expected one of spread, require, rescheduleAfter");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<FleetConfig> ParseFleetConfig(const std::string& yaml_text, const std::string& source_name,
                                     const std::optional<std::string>& name_override) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    const std::string line = e.mark.line >= 0 ? ":" + std::to_string(e.mark.line + 1) : "";
    return Status::BadRequest(source_name + line + ": not valid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return Status::BadRequest(source_name + ": not valid YAML: " + e.what());
  }
  FleetConfig out;
  try {
    if (!root.IsMap()) {
      return Status::BadRequest(source_name + ": expected a map of key: value pairs");
    }
    const YAML::Node replicas = root["replicas"];
    if (!replicas) {
      return Status::BadRequest(source_name +
                                ": replicas is required for a replicated service; expected e.g. "
                                "replicas: 3 (a single service is deployed with spawnctl deploy)");
    }
    Status s = Replicas(replicas, &out.replicas);
    if (!s.ok())
      return Status::BadRequest(Where(source_name, replicas) + "replicas: " + s.message());
    const YAML::Node placement = root["placement"];
    if (placement) {
      s = ReadPlacement(placement, &out.placement);
      if (!s.ok()) {
        return Status::BadRequest(Where(source_name, placement) + "placement: " + s.message());
      }
    }
    YAML::Node rest = YAML::Clone(root);
    rest.remove("replicas");
    rest.remove("placement");
    auto config = ParseServiceConfigNode(rest, source_name, name_override);
    if (!config.ok()) return config.status();
    out.config = std::move(*config);
  } catch (const YAML::Exception& e) {
    return Status::BadRequest(source_name + ": not a valid config: " + e.msg);
  }
  for (const auto& [key, unused] : out.config.labels) {
    if (key.rfind("spawnpoint.fleet/", 0) == 0) {
      return Status::BadRequest(source_name + ": labels: " + Quoted(key) +
                                " is the fleet's own label; expected a key not starting with "
                                "spawnpoint.fleet/");
    }
  }
  Status name_ok = ValidateSetName(out.config.name, out.replicas);
  if (!name_ok.ok()) return Status::BadRequest(source_name + ": name: " + name_ok.message());
  return out;
}

Result<FleetConfig> LoadFleetConfigFile(const std::string& path,
                                        const std::optional<std::string>& name_override) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return ParseFleetConfig(*text, path, name_override);
}

std::string ReplicaName(const std::string& set, int64_t replica) {
  return set + "-" + std::to_string(replica);
}

std::optional<int64_t> ReplicaIndex(const std::string& set, const std::string& service) {
  if (service.size() < set.size() + 2 || service.compare(0, set.size(), set) != 0 ||
      service[set.size()] != '-') {
    return std::nullopt;
  }
  const std::string digits = service.substr(set.size() + 1);
  if (digits.size() > 6 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  int64_t k = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    k = k * 10 + (c - '0');
  }
  return k;
}

Status ValidateSetName(const std::string& name, int64_t replicas) {
  Status plain = ValidateServiceName(name);
  if (!plain.ok()) return plain;
  const std::string last = ReplicaName(name, replicas > 0 ? replicas - 1 : 0);
  if (!ValidateServiceName(last).ok()) {
    return Status::BadRequest(
        "\"" + name + "\" is too long for " + std::to_string(replicas) +
        " replicas; expected at most " + std::to_string(63 - (last.size() - name.size())) +
        " characters, so that its replicas' names (like " + last + ") have at most 63");
  }
  return Status::Ok();
}

ServiceConfig ReplicaConfig(const ServiceConfig& config, const std::string& set, int64_t replica,
                            int64_t generation, int64_t attempt) {
  ServiceConfig c = config;
  c.name = ReplicaName(set, replica);
  c.labels[kSetLabel] = set;
  c.labels[kGenerationLabel] = std::to_string(generation);
  c.labels[kAttemptLabel] = std::to_string(attempt);
  return c;
}

std::optional<ReplicaLabels> ReadReplicaLabels(const std::map<std::string, std::string>& labels) {
  auto set = labels.find(kSetLabel);
  if (set == labels.end() || set->second.empty()) return std::nullopt;
  ReplicaLabels out;
  out.set = set->second;
  for (auto [key, field] :
       {std::pair{kGenerationLabel, &out.generation}, std::pair{kAttemptLabel, &out.attempt}}) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second.empty() || it->second.size() > 18 ||
        it->second.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    *field = std::stoll(it->second);
  }
  return out;
}

}  // namespace spawn::fleet
