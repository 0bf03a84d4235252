#include "spawn/bus/fake_bus.h"

namespace spawn {

void FakeBroker::Route(const BusMessage& message) {
  MutexLock lock(mu_);
  if (message.retained) {
    if (message.payload.empty())
      retained_.erase(message.topic);
    else
      retained_[message.topic] = message;
  }
  BusMessage delivered = message;
  delivered.retained = false;  // live deliveries are not flagged retained (as with a real broker)
  const std::set<FakeBus*> clients = clients_;
  // Delivered without the lock: a handler may publish again, through this broker.
  lock.Unlock();
  for (FakeBus* client : clients) client->Deliver(delivered);
}

std::map<std::string, BusMessage> FakeBroker::Retained() const {
  MutexLock lock(mu_);
  return retained_;
}

void FakeBroker::Attach(FakeBus* bus) {
  MutexLock lock(mu_);
  clients_.insert(bus);
}

void FakeBroker::Detach(FakeBus* bus) {
  MutexLock lock(mu_);
  clients_.erase(bus);
}

FakeBus::FakeBus(FakeBroker& broker, BusOptions options)
    : broker_(broker), options_(std::move(options)) {}

FakeBus::FakeBus() : own_broker_(std::make_unique<FakeBroker>()), broker_(*own_broker_) {}

FakeBus::~FakeBus() { broker_.Detach(this); }

Status FakeBus::Connect() {
  {
    MutexLock lock(mu_);
    connected_ = true;
  }
  broker_.Attach(this);
  if (on_connection_) on_connection_(true);
  return Status::Ok();
}

Status FakeBus::Publish(const BusMessage& message) {
  {
    MutexLock lock(mu_);
    if (!connected_) return Status::Unavailable("not connected to the broker");
    if (fail_publishes_) return Status::Unavailable("publish failed (FakeBus told to fail)");
    for (const auto& filter : refused_) {
      if (TopicMatches(filter, message.topic)) {
        return Status::Forbidden("publish to " + message.topic +
                                 " failed: the broker refused it (not authorised)");
      }
    }
    published_.push_back(message);
  }
  broker_.Route(message);
  return Status::Ok();
}

void FakeBus::RefusePublishesTo(const std::string& filter) {
  MutexLock lock(mu_);
  refused_.insert(filter);
}

Status FakeBus::Subscribe(const std::string& filter, int /*qos*/) {
  {
    MutexLock lock(mu_);
    if (!connected_) return Status::Unavailable("not connected to the broker");
    filters_.insert(filter);
  }
  for (const auto& [topic, message] : broker_.Retained()) {
    if (TopicMatches(filter, topic) && on_message_) on_message_(message);
  }
  return Status::Ok();
}

Status FakeBus::Unsubscribe(const std::string& filter) {
  MutexLock lock(mu_);
  filters_.erase(filter);
  return Status::Ok();
}

Status FakeBus::Disconnect() {
  {
    MutexLock lock(mu_);
    connected_ = false;
  }
  broker_.Detach(this);
  return Status::Ok();
}

bool FakeBus::IsConnected() const {
  MutexLock lock(mu_);
  return connected_;
}

void FakeBus::DropConnection() {
  {
    MutexLock lock(mu_);
    connected_ = false;
  }
  broker_.Detach(this);
  if (options_.will) broker_.Route(*options_.will);
  if (on_connection_) on_connection_(false);
}

void FakeBus::Deliver(const BusMessage& message) {
  bool matches = false;
  {
    MutexLock lock(mu_);
    if (!connected_) return;
    for (const auto& filter : filters_) matches = matches || TopicMatches(filter, message.topic);
  }
  if (matches && on_message_) on_message_(message);
}

std::vector<BusMessage> FakeBus::Published() const {
  MutexLock lock(mu_);
  return published_;
}

std::vector<BusMessage> FakeBus::PublishedOn(const std::string& filter) const {
  MutexLock lock(mu_);
  std::vector<BusMessage> out;
  for (const auto& m : published_) {
    if (TopicMatches(filter, m.topic)) out.push_back(m);
  }
  return out;
}

void FakeBus::ClearPublished() {
  MutexLock lock(mu_);
  published_.clear();
}

std::set<std::string> FakeBus::Subscriptions() const {
  MutexLock lock(mu_);
  return filters_;
}

}  // namespace spawn
