// PahoBus: the real Bus, over Eclipse Paho MQTT C++ 1.2 (mqtt::async_client), speaking MQTT 5 or
// 3.1.1 (BusOptions::mqtt_version).
//
// Session: clean_session = false with a stable client id makes the broker keep the subscriptions
// and queue QoS 1 messages while the client is away; they arrive on reconnection. Under MQTT 5 the
// session is kept for BusOptions::session_expiry after the connection ends (clean start otherwise,
// with expiry 0), and a message's expiry travels as its Message Expiry Interval, so the broker
// drops a queued message that waited too long. Under 3.1.1 (for brokers that speak nothing newer)
// the broker alone decides how long a session lives (Mosquitto 2.0: forever, unless it sets
// persistent_client_expiration), messages never expire, and a refused publish is dropped silently.
// With `persistence true` on the broker the session and its queue survive a broker restart. An
// empty client_id forces a clean session (a random id cannot resume).
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
// Connect() errors carry the broker's reason ("not authorized", "connection refused"); refused
// credentials are kForbidden. Under MQTT 5 a PUBACK or SUBACK reason code from 0x80 is an error
// (0x87, not authorised: kForbidden).
#pragma once

#include <memory>

#include "spawn/bus/bus.h"

namespace spawn {

std::unique_ptr<Bus> MakePahoBus(const BusOptions& options);

// A client id unique to this process, for short-lived clients (spawnctl, tests).
std::string RandomClientId(const std::string& prefix);

}  // namespace spawn
