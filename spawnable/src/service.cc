#include "spawn/spawnable/service.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>

#include "spawn/bus/paho_bus.h"
#include "spawn/common/files.h"

namespace spawn {
namespace {

bool ValidName(const std::string& s) {
  return !s.empty() && s.find_first_of("/+#") == std::string::npos;
}

Status CheckNames(const std::string& iface, const std::string& name) {
  if (!ValidName(iface)) {
    return Status::BadRequest("interface \"" + iface + "\" must be non-empty, without / + #");
  }
  if (!ValidName(name)) {
    return Status::BadRequest("name \"" + name + "\" must be non-empty, without / + #");
  }
  return Status::Ok();
}

}  // namespace

std::string ServiceEnvironment::ServiceName() const {
  const auto slash = service_topic.rfind('/');
  return slash == std::string::npos ? service_topic : service_topic.substr(slash + 1);
}

Result<ServiceEnvironment> ReadServiceEnvironment(
    const std::function<const char*(const char*)>& getenv) {
  auto get = [&](const char* name) {
    const char* v = getenv(name);
    return v == nullptr ? std::string() : std::string(v);
  };
  ServiceEnvironment env;
  env.service_topic = get("SPAWNPOINT_SERVICE_TOPIC");
  if (env.service_topic.empty()) {
    return Status::BadRequest(
        "SPAWNPOINT_SERVICE_TOPIC is not set (not running under spawnd? set it to "
        "<path>/s.spawnpoint/<name>)");
  }
  if (const std::string broker = get("SPAWNPOINT_BROKER"); !broker.empty()) env.broker = broker;
  env.alias = get("SPAWNPOINT_ALIAS");
  env.path = get("SPAWNPOINT_PATH");
  env.entity = get("SPAWNPOINT_ENTITY");
  env.broker_username = get("SPAWNPOINT_BROKER_USERNAME");
  env.broker_password_file = get("SPAWNPOINT_BROKER_PASSWORD_FILE");
  env.broker_ca_file = get("SPAWNPOINT_BROKER_CA_FILE");
  return env;
}

Result<ServiceEnvironment> ServiceEnvironmentFromProcess() {
  return ReadServiceEnvironment([](const char* name) { return std::getenv(name); });
}

Result<BusOptions> ServiceBusOptions(const ServiceEnvironment& env) {
  BusOptions o;
  o.uri = env.broker;
  o.client_id = RandomClientId("spawnable-" + env.ServiceName() + "-");
  o.clean_session = true;
  o.username = env.broker_username;
  o.ca_file = env.broker_ca_file;
  if (!env.broker_password_file.empty()) {
    auto password = ReadFile(env.broker_password_file);
    if (!password.ok()) {
      return Status::BadRequest("SPAWNPOINT_BROKER_PASSWORD_FILE: " + password.status().message());
    }
    std::string text = std::move(*password);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    o.password = std::move(text);
  }
  if (env.entity.empty()) return o;
  try {
    const YAML::Node root = YAML::LoadFile(env.entity);
    if (!root.IsMap()) {
      return Status::BadRequest("SPAWNPOINT_ENTITY " + env.entity +
                                ": expected a map with username and password");
    }
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      if (!kv.second.IsScalar()) {
        return Status::BadRequest("SPAWNPOINT_ENTITY " + env.entity + ": " + key +
                                  ": expected a string");
      }
      if (key == "username") {
        o.username = kv.second.Scalar();
      } else if (key == "password") {
        o.password = kv.second.Scalar();
      } else {
        return Status::BadRequest("SPAWNPOINT_ENTITY " + env.entity + ": unknown key \"" + key +
                                  "\"; expected username, password");
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::BadRequest("SPAWNPOINT_ENTITY " + env.entity + ": " + e.what());
  }
  return o;
}

std::string MetadataTopic(const std::string& service_topic, const std::string& key) {
  return service_topic + "/!meta/" + key;
}

std::string SignalTopic(const std::string& service_topic, const std::string& iface,
                        const std::string& name) {
  return service_topic + "/i." + iface + "/signal/" + name;
}

std::string SlotTopic(const std::string& service_topic, const std::string& iface,
                      const std::string& name) {
  return service_topic + "/i." + iface + "/slot/" + name;
}

Service::Service(ServiceEnvironment env, std::unique_ptr<Bus> bus)
    : env_(std::move(env)), bus_(std::move(bus)) {}

Service::~Service() { Close().IgnoreError(); }

Result<std::unique_ptr<Service>> Service::Connect(ServiceEnvironment env,
                                                  std::unique_ptr<Bus> bus) {
  std::unique_ptr<Service> service(new Service(std::move(env), std::move(bus)));
  Service* self = service.get();
  service->bus_->SetMessageHandler([self](const BusMessage& m) { self->Dispatch(m); });
  if (Status s = service->bus_->Connect(); !s.ok()) {
    return s.WithContext("connecting to " + service->env_.broker);
  }
  return service;
}

Result<std::unique_ptr<Service>> Service::ConnectFromEnvironment() {
  auto env = ServiceEnvironmentFromProcess();
  if (!env.ok()) return env.status();
  auto options = ServiceBusOptions(*env);
  if (!options.ok()) return options.status();
  return Connect(*env, MakePahoBus(*options));
}

Status Service::PublishMetadata(const std::map<std::string, std::string>& metadata) {
  for (const auto& [key, value] : metadata) {
    if (!ValidName(key)) {
      return Status::BadRequest("metadata key \"" + key + "\" must be non-empty, without / + #");
    }
    SPAWN_RETURN_IF_ERROR(bus_->Publish({MetadataTopic(env_.service_topic, key), value, 1, true})
                              .WithContext("metadata " + key));
  }
  return Status::Ok();
}

Status Service::ClearMetadata(const std::string& key) {
  if (!ValidName(key)) {
    return Status::BadRequest("metadata key \"" + key + "\" must be non-empty, without / + #");
  }
  return bus_->Publish({MetadataTopic(env_.service_topic, key), "", 1, true})
      .WithContext("metadata " + key);
}

Status Service::PublishSignal(const std::string& iface, const std::string& name,
                              const std::string& payload, int qos, bool retained) {
  SPAWN_RETURN_IF_ERROR(CheckNames(iface, name));
  return bus_->Publish({SignalTopic(env_.service_topic, iface, name), payload, qos, retained});
}

Status Service::SubscribeSlot(const std::string& iface, const std::string& name,
                              SlotHandler handler, int qos) {
  SPAWN_RETURN_IF_ERROR(CheckNames(iface, name));
  const std::string topic = SlotTopic(env_.service_topic, iface, name);
  {
    MutexLock lock(mu_);
    slots_[topic] = std::move(handler);
  }
  return bus_->Subscribe(topic, qos);
}

Status Service::Close() { return bus_->Disconnect(); }

void Service::Dispatch(const BusMessage& message) {
  SlotHandler handler;
  {
    MutexLock lock(mu_);
    auto it = slots_.find(message.topic);
    if (it == slots_.end()) return;
    handler = it->second;
  }
  handler(message);
}

}  // namespace spawn
