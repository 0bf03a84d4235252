// What a service running under spawnd gets: its environment, and a ready MQTT connection for its
// own topics.
//
// spawnd starts every service container with (design.md, "deploy.yml"):
//   SPAWNPOINT_BROKER         the broker URI to use (tcp:// or ssl://)
//   SPAWNPOINT_SERVICE_TOPIC  <path>/s.spawnpoint/<name>: the root of the service's own topics
//   SPAWNPOINT_ALIAS          the spawnpoint's alias
//   SPAWNPOINT_PATH           the spawnpoint's path
//   SPAWNPOINT_ENTITY         (when the deploy had an `entity`) the credentials file, a YAML map
//                             with `username` and `password` for the broker (both optional)
// Under the service topic, a service publishes retained metadata at !meta/<key> and signals at
// i.<iface>/signal/<name>, and takes commands on its slots at i.<iface>/slot/<name>, the layout of
// the original Spawnpoint (spawnd itself publishes the service's log on i.spawnable/signal/log).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "spawn/bus/bus.h"
#include "spawn/common/mutex.h"
#include "spawn/common/status.h"

namespace spawn {

struct ServiceEnvironment {
  std::string broker = "tcp://127.0.0.1:1883";
  std::string service_topic;  // required
  std::string alias;
  std::string path;
  std::string entity;  // path of the credentials file; empty when none
  // The host's services identity that spawnd hands every service (SPAWNPOINT_BROKER_USERNAME,
  // SPAWNPOINT_BROKER_PASSWORD_FILE), and the CA of an ssl:// broker (SPAWNPOINT_BROKER_CA_FILE).
  std::string broker_username;
  std::string broker_password_file;
  std::string broker_ca_file;

  // The last element of service_topic: the service's name.
  std::string ServiceName() const;
};

// Reads the variables through `getenv` (injected for tests; nullptr means unset). 400 naming the
// variable when SPAWNPOINT_SERVICE_TOPIC is missing or empty ("not running under spawnd?");
// SPAWNPOINT_BROKER defaults to tcp://127.0.0.1:1883.
Result<ServiceEnvironment> ReadServiceEnvironment(
    const std::function<const char*(const char*)>& getenv);
// The same from this process's environment.
Result<ServiceEnvironment> ServiceEnvironmentFromProcess();

// Bus options for a service: the broker of `env`, a fresh client id (clean session), the services
// identity spawnd gave it (user name, and the password file's contents without its trailing
// newline), the CA file, and the credentials of the entity file when there is one, which win over
// the services identity (the deployer chose them). 400 naming the file when one cannot be read, or
// the entity is not a map of strings.
Result<BusOptions> ServiceBusOptions(const ServiceEnvironment& env);

// Topic names under a service topic. Interface and signal/slot names may not contain / + # or be
// empty (the publish/subscribe methods below answer 400 then).
std::string MetadataTopic(const std::string& service_topic, const std::string& key);
std::string SignalTopic(const std::string& service_topic, const std::string& iface,
                        const std::string& name);
std::string SlotTopic(const std::string& service_topic, const std::string& iface,
                      const std::string& name);

// A service's connection. Owns its Bus; thread-safe (every method may be called from any thread,
// except from inside a slot handler where only non-blocking work belongs, see below).
class Service {
 public:
  // Slot handlers run on the transport's thread: hand work off (queue, atomic, Poller::Reset),
  // never publish or wait from there.
  using SlotHandler = std::function<void(const BusMessage&)>;

  // Takes a bus that is not connected yet, and connects it. 503 when the broker cannot be reached.
  static Result<std::unique_ptr<Service>> Connect(ServiceEnvironment env, std::unique_ptr<Bus> bus);
  // ServiceEnvironmentFromProcess + ServiceBusOptions + MakePahoBus + Connect: the one call a
  // service's main() needs.
  static Result<std::unique_ptr<Service>> ConnectFromEnvironment();

  ~Service();  // disconnects
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  const ServiceEnvironment& environment() const { return env_; }
  Bus& bus() { return *bus_; }

  // Publishes each pair retained (QoS 1) at <service topic>/!meta/<key>. Stops at the first
  // failure and returns it with the key as context.
  Status PublishMetadata(const std::map<std::string, std::string>& metadata);
  // Clears a metadata key (an empty retained message).
  Status ClearMetadata(const std::string& key);
  // Publishes `payload` at <service topic>/i.<iface>/signal/<name>.
  Status PublishSignal(const std::string& iface, const std::string& name,
                       const std::string& payload, int qos = 1, bool retained = false);
  // Subscribes to <service topic>/i.<iface>/slot/<name>; `handler` gets each message. A second
  // subscription to the same slot replaces the handler.
  Status SubscribeSlot(const std::string& iface, const std::string& name, SlotHandler handler,
                       int qos = 1) EXCLUDES(mu_);

  // Disconnects cleanly; idempotent.
  Status Close();

 private:
  Service(ServiceEnvironment env, std::unique_ptr<Bus> bus);
  void Dispatch(const BusMessage& message) EXCLUDES(mu_);

  ServiceEnvironment env_;
  Mutex mu_;
  std::map<std::string, SlotHandler> slots_ GUARDED_BY(mu_);  // topic -> handler
  // Last, so that it is destroyed first: no handler can run once the members it uses are gone.
  std::unique_ptr<Bus> bus_;
};

}  // namespace spawn
