// Bus: the MQTT transport port. spawnd, spawnclient and spawnable talk to the broker only through
// this interface; PahoBus (paho_bus.h) is the real one, FakeBus (spawn::bus_testing) the test
// double.
//
// Thread-safety: every method may be called from any thread. Handlers run on the transport's own
// thread and must only hand work off (queue, Post): a blocking call there (waiting for a publish to
// be acknowledged, for instance) deadlocks the real transport.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "spawn/common/mqtt_version.h"
#include "spawn/common/status.h"

namespace spawn {

struct BusMessage {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retained = false;
  // Publishing: how long the broker may hold the message for a subscriber that is away before it
  // drops it (MQTT 5's message expiry; 0: no limit). Received: what was left of that interval when
  // the broker delivered it (0: the sender set none). Under MQTT 3.1.1 always 0: it has no expiry.
  std::chrono::seconds expiry{0};
};

struct BusOptions {
  std::string uri = "tcp://127.0.0.1:1883";  // tcp:// or ssl://
  std::string client_id;                     // empty: generated (and clean_session forced on)
  bool clean_session = true;                 // false: persistent session (spawnd)
  MqttVersion mqtt_version = MqttVersion::kV5;
  // MQTT 5, persistent session (clean_session false): how long the broker keeps it after the
  // connection ends. It must not be 0 there, or the session ends with the connection. A clean
  // session always ends with the connection. MQTT 3.1.1 has no session expiry: the broker decides.
  std::chrono::seconds session_expiry{0};
  std::string username;
  std::string password;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::optional<BusMessage> will;  // last will, published by the broker on loss
  std::chrono::seconds keep_alive{10};
  std::chrono::seconds connect_timeout{10};
  bool auto_reconnect = true;  // reconnect with back-off (1 s doubling to 30 s)
};

// Whether a broker uri means a TLS connection (ssl://), with ca_file and the key pair applied.
bool BrokerUsesTls(const std::string& uri);

class Bus {
 public:
  using MessageHandler = std::function<void(const BusMessage&)>;
  // Called with true on every (re)connection, false on a loss. On reconnection the subscriptions
  // made through Subscribe() are renewed by the transport before the handler runs.
  using ConnectionHandler = std::function<void(bool connected)>;

  virtual ~Bus() = default;

  // Set handlers before Connect().
  virtual void SetMessageHandler(MessageHandler handler) = 0;
  virtual void SetConnectionHandler(ConnectionHandler handler) = 0;

  // Blocks until connected or options.connect_timeout; kUnavailable with the broker's reason, or
  // kForbidden when the broker refused the credentials (bad user name or password, not
  // authorised).
  virtual Status Connect() = 0;
  // Publishes a message; returns once it is handed to the transport (QoS 0) or acknowledged (QoS
  // 1), bounded by a timeout. Never call with wait on the transport's thread. Under MQTT 5 a
  // broker that refuses a QoS 1 message says so in its acknowledgement: kForbidden when it was
  // not authorised (naming the topic), kUnavailable with the broker's reason otherwise. An MQTT
  // 3.1.1 broker drops a refused message silently: the publish succeeds.
  virtual Status Publish(const BusMessage& message) = 0;
  // Publishes `messages` in this order, handing each to the transport without waiting for the
  // acknowledgement of the one before, so that a batch costs about one round trip to the broker
  // instead of one per message. Returns a status per message, each what Publish would have
  // returned, all bounded by one timeout. The default publishes them one by one.
  virtual std::vector<Status> PublishBatch(const std::vector<BusMessage>& messages);
  // Subscribes (and remembers the filter, to renew it after a reconnection). Blocks for the SUBACK;
  // kForbidden when the broker refused the filter as not authorised.
  virtual Status Subscribe(const std::string& filter, int qos) = 0;
  // Forgets the filter and asks the broker to drop it; returns once the request is handed over
  // (the broker acts on it before anything sent after it). Messages already on their way may
  // still arrive.
  virtual Status Unsubscribe(const std::string& filter) = 0;
  // Disconnects cleanly (the broker drops the will). Idempotent.
  virtual Status Disconnect() = 0;
  virtual bool IsConnected() const = 0;
};

// True if `topic` matches the MQTT filter `filter` (+ and # wildcards).
bool TopicMatches(const std::string& filter, const std::string& topic);

}  // namespace spawn
