// MqttVersion: which MQTT protocol a connection speaks, and its spelling in spawnd.yml
// (mqttVersion) and on spawnctl's command line (--mqtt-version): "5" or "3.1.1". Lives in common
// because both the configs (common) and the bus (which depends on common) name it. Pure functions,
// no I/O.
#pragma once

#include <string>

#include "spawn/common/status.h"

namespace spawn {

// MQTT 5 is the default: session expiry, message expiry and reason codes on acknowledgements.
// 3.1.1 is for brokers that speak nothing newer; it has none of those (see BusOptions).
enum class MqttVersion { kV5, kV311 };

inline const char* ToString(MqttVersion version) {
  return version == MqttVersion::kV5 ? "5" : "3.1.1";
}

// "5" (also "5.0") or "3.1.1"; anything else is a kBadRequest quoting the value and saying what was
// expected (the caller adds the key or option).
inline Result<MqttVersion> ParseMqttVersion(const std::string& text) {
  if (text == "5" || text == "5.0") return MqttVersion::kV5;
  if (text == "3.1.1") return MqttVersion::kV311;
  return Status::BadRequest("\"" + text + "\" is not an MQTT version; expected 5 or 3.1.1");
}

}  // namespace spawn
