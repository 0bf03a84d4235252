#include "spawn/bus/paho_bus.h"

#include <MQTTAsync.h>
#include <mqtt/async_client.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <set>

#include "paho_connect_hooks.h"
#include "spawn/common/mutex.h"

namespace spawn {
namespace {

constexpr auto kAckTimeout = std::chrono::seconds(10);
// How many messages of a batch may be handed to Paho and not yet settled (see PublishBatch), at
// most: a broker that allows fewer unacknowledged messages in flight narrows it (PublishWindow).
constexpr size_t kPublishWindow = 64;
// While a connect waits for its CONNACK, the awaiting_connack hook (if a program set one) is called
// every millisecond for 150 ms.
constexpr auto kConnackLookEvery = std::chrono::milliseconds(1);
constexpr int kConnackLooks = 150;

std::atomic<void (*)(const std::string&)> before_connect_hook{nullptr};
std::atomic<void (*)()> awaiting_connack_hook{nullptr};

// Paho initialises OpenSSL itself unless told not to, loading its configuration and error strings
// in every process, a millisecond of each spawnctl command even on tcp://. OpenSSL 1.1 and later
// initialise themselves on first use, so a TLS connection still gets the same setup. Must run
// before the first client is created.
void SkipPahoOpenSslInit() {
  MQTTAsync_init_options init = MQTTAsync_init_options_initializer;
  init.do_openssl_init = 0;
  MQTTAsync_global_init(&init);
}

// Paho keeps an in-memory trace of its recent events unless told otherwise: a formatted,
// time-stamped entry for every packet and a record of every call, under a lock. That was a good
// part of the time a scan's receive thread took, and of spawnd's CPU time per message. Only
// errors are traced, unless the user asked for Paho's trace (MQTT_C_CLIENT_TRACE).
void QuietPahoTrace() {
  if (std::getenv("MQTT_C_CLIENT_TRACE") == nullptr) MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
}

// MQTT 5 reason codes from 0x80 are failures; under them a token's outcome is a success that Paho
// C++ may still throw for (it throws for any code above "granted QoS 2", such as a PUBACK's 0x10
// "no matching subscribers").
constexpr int kFirstFailureReason = 0x80;
constexpr int kNotAuthorised = 0x87;
constexpr int kBadCredentials = 0x86;
// MQTT 3.1.1 CONNACK return codes (Paho reports them as the connect's return code).
constexpr int kV311BadCredentials = 4;
constexpr int kV311NotAuthorised = 5;

int PahoVersion(MqttVersion version) {
  return version == MqttVersion::kV5 ? MQTTVERSION_5 : MQTTVERSION_3_1_1;
}

// The reason code an MQTT 5 broker gave for a failed operation; 0 when it gave none.
int BrokerReason(const mqtt::exception& e) {
  const int reason = e.get_reason_code();
  return reason >= kFirstFailureReason && reason <= 0xff ? reason : 0;
}

// Whether `e` reports a success all the same: an operation that completed with an MQTT 5 reason
// code below 0x80.
bool IsSuccess(const mqtt::exception& e) {
  return e.get_return_code() == MQTTASYNC_SUCCESS && BrokerReason(e) == 0;
}

std::string ReasonName(int reason) {
  const char* name = MQTTReasonCode_toString(static_cast<MQTTReasonCodes>(reason));
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", reason);
  return (name ? std::string(name) + " " : std::string()) + "(" + hex + ")";
}

// The publish window for a connection whose CONNACK is `response`: kPublishWindow, or the broker's
// Receive Maximum (MQTT 5) when that is lower. Paho C keeps the QoS 1 messages beyond the broker's
// maximum queued and, when an acknowledgement frees a place, does not send the next one until
// something else wakes its send thread, which is shared by every client of the process, or a
// second has passed (upstream eclipse-paho/paho.mqtt.c#1457). Within the broker's maximum, every
// message handed over can go out at once, and each one handed over after an acknowledgement wakes
// that thread.
size_t PublishWindow(const mqtt::connect_response& response) {
  const mqtt::properties& properties = response.get_properties();
  if (!properties.contains(mqtt::property::RECEIVE_MAXIMUM)) return kPublishWindow;
  const size_t maximum = mqtt::get<uint16_t>(properties, mqtt::property::RECEIVE_MAXIMUM);
  return std::clamp<size_t>(maximum, 1, kPublishWindow);
}

// Sets up the Paho library once per process, before its first client.
void PreparePaho() {
  static std::once_flag once;
  std::call_once(once, [] {
    SkipPahoOpenSslInit();
    QuietPahoTrace();
  });
}

class PahoBus final : public Bus {
 public:
  explicit PahoBus(const BusOptions& options)
      : options_(options),
        client_(options.uri,
                options.client_id.empty() ? RandomClientId("spawn") : options.client_id,
                mqtt::create_options(PahoVersion(options.mqtt_version)), nullptr) {
    client_.set_message_callback([this](mqtt::const_message_ptr m) {
      if (!m) return;
      BusMessage message{m->get_topic(), m->get_payload_str(), m->get_qos(), m->is_retained()};
      const mqtt::properties& properties = m->get_properties();
      if (properties.contains(mqtt::property::MESSAGE_EXPIRY_INTERVAL)) {
        message.expiry = std::chrono::seconds(
            mqtt::get<uint32_t>(properties, mqtt::property::MESSAGE_EXPIRY_INTERVAL));
      }
      MessageHandler handler;
      {
        MutexLock lock(mu_);
        handler = on_message_;
      }
      if (handler) handler(message);
    });
    client_.set_connected_handler([this](const std::string&) {
      connected_ = true;
      // The first connection has no filters to renew; one renewed anyway would race the caller's
      // own first subscription and send it twice.
      if (connections_++ == 0) {
        Notify(true);
        return;
      }
      // After a reconnection, renew every remembered filter. A clean session forgot them; a
      // persistent one normally kept them, but the broker may have lost it (restarted without
      // persistence, session expired) and Paho does not tell us whether CONNACK's session-present
      // was set on an automatic reconnect. Re-subscribing is idempotent and keeps queued messages.
      // Never wait here: this is Paho's thread.
      std::set<std::pair<std::string, int>> filters;
      {
        MutexLock lock(mu_);
        filters = filters_;
      }
      for (const auto& [filter, qos] : filters) {
        try {
          client_.subscribe(filter, qos);
        } catch (const mqtt::exception& e) {
          spdlog::warn("bus: cannot renew subscription {}: {}", filter, e.what());
        }
      }
      Notify(true);
    });
    client_.set_connection_lost_handler([this](const std::string& cause) {
      connected_ = false;
      spdlog::warn("bus: connection to {} lost{}{}", options_.uri, cause.empty() ? "" : ": ",
                   cause);
      Notify(false);
    });
  }

  ~PahoBus() override { Disconnect().IgnoreError(); }

  void SetMessageHandler(MessageHandler handler) override {
    MutexLock lock(mu_);
    on_message_ = std::move(handler);
  }
  void SetConnectionHandler(ConnectionHandler handler) override {
    MutexLock lock(mu_);
    on_connection_ = std::move(handler);
  }

  Status Connect() override {
    // A connect that timed out may still have succeeded later (Paho kept trying): then we are done.
    if (client_.is_connected()) {
      connected_ = true;
      return Status::Ok();
    }
    // The version is always named, never Paho's default: after an attempt that fails (a broker
    // that drops the connection, say) that one tries again as MQTT 3.1, whose client ids are at
    // most 23 long.
    const bool clean = options_.clean_session || options_.client_id.empty();
    auto builder = mqtt::connect_options_builder().mqtt_version(PahoVersion(options_.mqtt_version));
    if (options_.mqtt_version == MqttVersion::kV5) {
      // Paho sets the version's flags with the version: clean start only after it. A clean session
      // ends with the connection (expiry 0); a persistent one outlives it by session_expiry.
      const auto expiry = clean ? std::chrono::seconds(0) : options_.session_expiry;
      builder.clean_start(clean).properties({mqtt::property(
          mqtt::property::SESSION_EXPIRY_INTERVAL,
          static_cast<uint32_t>(std::clamp<int64_t>(expiry.count(), 0, UINT32_MAX)))});
    } else {
      builder.clean_session(clean);
    }
    builder.keep_alive_interval(options_.keep_alive)
        .connect_timeout(options_.connect_timeout)
        .automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(30))
        .max_inflight(1000);
    if (!options_.username.empty()) builder.user_name(options_.username);
    if (!options_.password.empty()) builder.password(options_.password);
    if (options_.will) {
      builder.will(mqtt::message(options_.will->topic, options_.will->payload, options_.will->qos,
                                 options_.will->retained));
    }
    if (BrokerUsesTls(options_.uri)) {
      auto ssl = mqtt::ssl_options_builder();
      if (!options_.ca_file.empty()) ssl.trust_store(options_.ca_file);
      if (!options_.cert_file.empty()) ssl.key_store(options_.cert_file);
      if (!options_.key_file.empty()) ssl.private_key(options_.key_file);
      builder.ssl(ssl.finalize());
    }
    if (auto hook = before_connect_hook.load()) hook(options_.uri);
    try {
      auto token = client_.connect(builder.finalize());
      if (!WaitForConnack(*token)) {
        return Status::Timeout("no answer from the broker at " + options_.uri);
      }
      try {
        publish_window_ = PublishWindow(token->get_connect_response());
      } catch (const mqtt::exception&) {
        // No response to read (Paho gives none in some failures): the default window stays.
      }
      connected_ = true;
      ever_connected_ = true;
      return Status::Ok();
    } catch (const mqtt::exception& e) {
      if (Status refused = RefusedCredentials(e); !refused.ok()) return refused;
      const std::string reason = e.get_reason_code_str();
      return Status::Unavailable(
          "cannot connect to the broker at " + options_.uri + ": " + e.get_message() +
          (reason.empty() || reason == "Success" ? "" : " (" + reason + ")"));
    }
  }

  Status Publish(const BusMessage& m) override {
    mqtt::delivery_token_ptr token;
    const Status handed = HandOver(m, token);
    if (!handed.ok()) return handed;
    return AwaitAcknowledgement(m, token, std::chrono::steady_clock::now() + kAckTimeout);
  }

  std::vector<Status> PublishBatch(const std::vector<BusMessage>& messages) override {
    std::vector<Status> statuses(messages.size());
    std::vector<mqtt::delivery_token_ptr> tokens(messages.size());
    const auto deadline = std::chrono::steady_clock::now() + kAckTimeout;
    const size_t window = publish_window_;
    size_t settled = 0;  // those before it have their final status
    auto settle_next = [&] {
      const BusMessage& m = messages[settled];
      if (statuses[settled].ok()) {
        if (m.qos > 0) {
          statuses[settled] = AwaitAcknowledgement(m, tokens[settled], deadline);
        } else {
          AwaitWrite(tokens[settled], deadline);  // published once handed over, as by Publish
        }
      }
      tokens[settled++].reset();
    };
    for (size_t i = 0; i < messages.size(); ++i) {
      if (i > settled && messages[i].qos != messages[i - 1].qos) {
        // Paho keeps the order within a QoS, but may send a QoS 0 message ahead of QoS 1 ones
        // handed over before it: at a change of QoS, what came before goes out first.
        while (settled < i) settle_next();
      } else if (i - settled == window) {
        // Paho queues at most 100 messages per client: a window under that keeps it from
        // refusing the rest of a long batch. And within the broker's Receive Maximum, Paho sends
        // each at once (see PublishWindow).
        settle_next();
      }
      statuses[i] = HandOver(messages[i], tokens[i]);
    }
    while (settled < messages.size()) settle_next();
    return statuses;
  }

  Status Subscribe(const std::string& filter, int qos) override {
    {
      MutexLock lock(mu_);
      std::erase_if(filters_, [&](const auto& f) { return f.first == filter; });
      filters_.emplace(filter, qos);
    }
    try {
      auto token = client_.subscribe(filter, qos);
      if (!token->wait_for(kAckTimeout)) {
        return Status::Timeout("the broker did not acknowledge the subscription to " + filter);
      }
      // MQTT 3.1.1 says a refusal in the SUBACK's code (0x80), which Paho C++ does not throw for.
      const mqtt::subscribe_response response = token->get_subscribe_response();
      for (const auto code : response.get_reason_codes()) {
        if (code >= kFirstFailureReason) return SubscribeRefused(filter, code);
      }
      return Status::Ok();
    } catch (const mqtt::exception& e) {
      if (IsSuccess(e)) return Status::Ok();
      if (const int reason = BrokerReason(e)) return SubscribeRefused(filter, reason);
      return Status::Unavailable("subscribe to " + filter + " failed: " + e.get_message());
    }
  }

  Status Unsubscribe(const std::string& filter) override {
    {
      MutexLock lock(mu_);
      std::erase_if(filters_, [&](const auto& f) { return f.first == filter; });
    }
    try {
      // Not waiting for the UNSUBACK: nothing depends on it (the broker acts on the request
      // before anything sent after it), and a command that scans and leaves saves a round trip.
      client_.unsubscribe(filter);
      return Status::Ok();
    } catch (const mqtt::exception& e) {
      return Status::Unavailable("unsubscribe from " + filter + " failed: " + e.get_message());
    }
  }

  Status Disconnect() override {
    connected_ = false;
    if (!ever_connected_) return Status::Ok();  // no connection and no reconnection to end
    try {
      // Also when not connected: it ends automatic reconnection attempts.
      client_.disconnect()->wait_for(std::chrono::seconds(5));
    } catch (const mqtt::exception& e) {
      // Already disconnected (never connected, lost, or disconnected before): nothing to do.
      if (client_.is_connected())
        return Status::Unavailable(std::string("disconnect failed: ") + e.get_message());
    }
    return Status::Ok();
  }

  bool IsConnected() const override { return connected_ && client_.is_connected(); }

 private:
  // Gives `m` to Paho (which sends it from its own thread); `token` then tracks its delivery.
  Status HandOver(const BusMessage& m, mqtt::delivery_token_ptr& token) {
    if (!connected_) return Status::Unavailable("not connected to the broker at " + options_.uri);
    try {
      if (m.expiry.count() > 0 && options_.mqtt_version == MqttVersion::kV5) {
        auto message = mqtt::make_message(m.topic, m.payload, m.qos, m.retained);
        message->set_properties({mqtt::property(
            mqtt::property::MESSAGE_EXPIRY_INTERVAL,
            static_cast<uint32_t>(std::min<int64_t>(m.expiry.count(), UINT32_MAX)))});
        token = client_.publish(message);
      } else {
        token = client_.publish(m.topic, m.payload.data(), m.payload.size(), m.qos, m.retained);
      }
      return Status::Ok();
    } catch (const mqtt::exception& e) {
      return PublishFailed(m, e);
    }
  }
  // Waits, until `deadline` at most, for Paho to have written a QoS 0 message handed over.
  static void AwaitWrite(const mqtt::delivery_token_ptr& token,
                         std::chrono::steady_clock::time_point deadline) {
    try {
      token->wait_for(Left(deadline));
    } catch (const mqtt::exception&) {
      // Lost with the connection: QoS 0 promises no more.
    }
  }
  static std::chrono::milliseconds Left(std::chrono::steady_clock::time_point deadline) {
    return std::max(std::chrono::milliseconds(0), std::chrono::ceil<std::chrono::milliseconds>(
                                                      deadline - std::chrono::steady_clock::now()));
  }
  static Status PublishFailed(const BusMessage& m, const mqtt::exception& e) {
    if (IsSuccess(e)) return Status::Ok();
    if (const int reason = BrokerReason(e); reason == kNotAuthorised) {
      return Status::Forbidden("publish to " + m.topic +
                               " failed: the broker refused it (not authorised)");
    } else if (reason != 0) {
      return Status::Unavailable("publish to " + m.topic +
                                 " failed: the broker refused it: " + ReasonName(reason));
    }
    return Status::Unavailable("publish to " + m.topic + " failed: " + e.get_message());
  }
  static Status SubscribeRefused(const std::string& filter, int reason) {
    // MQTT 3.1.1's only failure code (0x80) means the same as 5's 0x87 for Mosquitto: an ACL.
    if (reason == kNotAuthorised || reason == kFirstFailureReason) {
      return Status::Forbidden("subscribe to " + filter +
                               " failed: the broker refused it (not authorised)");
    }
    return Status::Unavailable("subscribe to " + filter +
                               " failed: the broker refused it: " + ReasonName(reason));
  }
  // kForbidden when a failed connect was the broker refusing the credentials; ok otherwise.
  Status RefusedCredentials(const mqtt::exception& e) const {
    // Paho C 1.3.12 reports an MQTT 5 CONNACK's refusal as the return code, its reason code
    // left at 0; an MQTT 3.1.1 one as the return code too.
    const int code = e.get_return_code() > 0 ? e.get_return_code() : e.get_reason_code();
    const bool v5 = options_.mqtt_version == MqttVersion::kV5;
    const bool bad = v5 ? code == kBadCredentials : code == kV311BadCredentials;
    const bool not_authorised = v5 ? code == kNotAuthorised : code == kV311NotAuthorised;
    if (!bad && !not_authorised) return Status::Ok();
    const std::string who = options_.username.empty() ? "anonymous" : "user " + options_.username;
    return Status::Forbidden("the broker at " + options_.uri + " refused the credentials of " +
                             who + " (" + (bad ? "bad user name or password" : "not authorised") +
                             ")");
  }
  // Waits, until `deadline` at most, for the broker's acknowledgement of a QoS 1 message handed
  // over; a QoS 0 one has none to wait for.
  Status AwaitAcknowledgement(const BusMessage& m, const mqtt::delivery_token_ptr& token,
                              std::chrono::steady_clock::time_point deadline) {
    if (m.qos == 0) return Status::Ok();
    try {
      if (!token->wait_for(Left(deadline))) {
        return Status::Timeout("the broker did not acknowledge a publish to " + m.topic);
      }
      return Status::Ok();
    } catch (const mqtt::exception& e) {
      return PublishFailed(m, e);
    }
  }

  // Waits for the connect's outcome, calling the awaiting_connack hook meanwhile if one is set.
  bool WaitForConnack(mqtt::token& token) {
    using namespace std::chrono;
    const auto deadline = steady_clock::now() + options_.connect_timeout + seconds(1);
    if (auto hook = awaiting_connack_hook.load()) {
      for (int look = 0; look < kConnackLooks; ++look) {
        if (token.wait_for(kConnackLookEvery)) return true;
        hook();
      }
    }
    const auto left = duration_cast<milliseconds>(deadline - steady_clock::now());
    return token.wait_for(std::max(left, milliseconds(1)));
  }

  void Notify(bool connected) {
    ConnectionHandler handler;
    {
      MutexLock lock(mu_);
      handler = on_connection_;
    }
    if (handler) handler(connected);
  }

  const BusOptions options_;
  mqtt::async_client client_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> ever_connected_{false};  // automatic reconnection runs only after a success
  std::atomic<int> connections_{0};          // how often the connected handler ran
  // PublishBatch's window, from the CONNACK of Connect() (an automatic reconnection keeps it).
  std::atomic<size_t> publish_window_{kPublishWindow};
  Mutex mu_;
  MessageHandler on_message_ GUARDED_BY(mu_);
  ConnectionHandler on_connection_ GUARDED_BY(mu_);
  std::set<std::pair<std::string, int>> filters_ GUARDED_BY(mu_);  // (filter, qos)
};

}  // namespace

namespace internal {

void SetPahoConnectHooks(const PahoConnectHooks& hooks) {
  before_connect_hook = hooks.before_connect;
  awaiting_connack_hook = hooks.awaiting_connack;
}

}  // namespace internal

std::unique_ptr<Bus> MakePahoBus(const BusOptions& options) {
  PreparePaho();
  return std::make_unique<PahoBus>(options);
}

std::string RandomClientId(const std::string& prefix) {
  std::random_device rd;
  std::mt19937_64 gen(rd());
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(gen()));
  return prefix + "-" + std::to_string(getpid()) + "-" + suffix;
}

}  // namespace spawn
