// PahoBus: the real Bus, over Eclipse Paho MQTT C++ (MQTT 3.1.1).
//
// A persistent session (clean_session = false with a stable client id) makes the broker keep the
// subscriptions and queue QoS 1 messages while the client is away; they arrive on reconnection.
// Reconnection is automatic (1 s doubling to 30 s) once the first Connect() succeeded. Publish
// fails fast with kUnavailable while disconnected instead of buffering: callers republish state
// (heartbeats, presence) on reconnection, and a caller's thread is never held for the length of an
// outage.
#pragma once

#include <memory>

#include "spawn/bus/bus.h"

namespace spawn {

std::unique_ptr<Bus> MakePahoBus(const BusOptions& options);

// A client id unique to this process, for short-lived clients (spawnctl, tests).
std::string RandomClientId(const std::string& prefix);

}  // namespace spawn
