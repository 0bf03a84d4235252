// The YAML-node side of the service config (config.h), for the wire format, which converts a config
// to and from msgpack through a YAML node. In-tree only: this header is not installed, so that the
// installed headers, and a program built against them, need nothing of yaml-cpp.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>

#include "spawn/common/config.h"
#include "spawn/common/status.h"

namespace spawn {

// ParseServiceConfig on an already-parsed node: the same checks and the same errors.
Result<ServiceConfig> ParseServiceConfigNode(const YAML::Node& node, const std::string& source_name,
                                             const std::optional<std::string>& name_override = {});

// The config as a YAML node with the design's keys and value forms (sizes "64M", durations "30s"),
// omitting keys at their defaults; ParseServiceConfigNode(ServiceConfigToNode(c)) == c.
YAML::Node ServiceConfigToNode(const ServiceConfig& config);

}  // namespace spawn
