// The fleet in Prometheus' text exposition format (version 0.0.4), for GET /metrics. Names are
// prefixed spawnpoint_, in base units (bytes, seconds); labels spawnpoint (the path), alias and,
// per service, service. The README's "The gateway" section lists them.
//
// A pure function of the fleet and the time: liveness is judged from each spawnpoint's heartbeat
// (IsDown), never from a service heartbeat's time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spawn/client/client.h"

namespace spawn::gateway {

// The exposition's content type.
constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string RenderMetrics(const std::vector<SpawnpointInfo>& fleet, int64_t now_unix_ns,
                          Duration down_after = Duration::zero());

// A label value escaped for the exposition format (\\, \" and \n).
std::string EscapeLabelValue(const std::string& value);

}  // namespace spawn::gateway
