// PahoBus: the real Bus, over Eclipse Paho MQTT C++ 1.2 (mqtt::async_client), MQTT 3.1.1.
//
// Session: clean_session = false with a stable client id makes the broker keep the subscriptions
// and queue QoS 1 messages while the client is away; they arrive on reconnection. MQTT 3.1.1 is
// enough for that with Mosquitto 2.0.11 (its persistent sessions do not expire unless the broker
// sets persistent_client_expiration), and works with every broker; MQTT 5's session expiry would
// add nothing spawnd needs. With `persistence true` on the broker the session and its queue
// survive a broker restart. An empty client_id forces a clean session (a random id cannot resume).
//
// Reconnection is automatic (1 s doubling to 30 s) once the first Connect() succeeded; after each
// one the remembered filters are subscribed again (without waiting, on Paho's thread) and then the
// connection handler runs with true. A loss runs it with false.
//
// Publish fails fast with kUnavailable while disconnected instead of buffering inside Paho, so a
// caller's thread is never held for the length of an outage; callers that must not lose a message
// retry (spawnd's Outbox) and republish state (heartbeats, presence) on reconnection. While
// connected, a QoS 1 publish waits for its PUBACK at most 10 s (kTimeout). Never call Publish,
// Subscribe or Unsubscribe from a handler: they wait for the broker.
//
// Paho C 1.3.12 has defects this library does not work around (it interposes nothing and claims
// no signal): spawnd and spawnctl carry their own workarounds (bus/workarounds/); see the README
// ("The broker") for what a service without them risks.
//
// TLS: an ssl:// uri uses ca_file as trust store and cert_file/key_file as the client's key pair.
// Connect() errors carry the broker's reason ("not authorized", "connection refused").
#pragma once

#include <memory>

#include "spawn/bus/bus.h"

namespace spawn {

std::unique_ptr<Bus> MakePahoBus(const BusOptions& options);

// A client id unique to this process, for short-lived clients (spawnctl, tests).
std::string RandomClientId(const std::string& prefix);

}  // namespace spawn
