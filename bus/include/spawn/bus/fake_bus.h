// FakeBroker and FakeBus: an in-memory MQTT for unit tests. Messages published by one FakeBus reach
// every FakeBus of the same broker whose filters match, synchronously, on the publisher's thread
// (handlers in tests are expected to Post to a ManualEventLoop). Retained messages are kept (an
// empty retained payload clears) and delivered on Subscribe. Every publish is recorded, and a
// client can be told to fail its publishes or drop its connection.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "spawn/bus/bus.h"

namespace spawn {

class FakeBus;

class FakeBroker {
 public:
  void Route(const BusMessage& message);
  // Retained messages now held, for assertions.
  std::map<std::string, BusMessage> Retained() const;
  void Attach(FakeBus* bus);
  void Detach(FakeBus* bus);

 private:
  friend class FakeBus;
  mutable std::recursive_mutex mu_;
  std::map<std::string, BusMessage> retained_;  // guarded by mu_
  std::set<FakeBus*> clients_;                  // guarded by mu_
};

class FakeBus final : public Bus {
 public:
  explicit FakeBus(FakeBroker& broker, BusOptions options = {});
  ~FakeBus() override;

  void SetMessageHandler(MessageHandler handler) override { on_message_ = std::move(handler); }
  void SetConnectionHandler(ConnectionHandler handler) override {
    on_connection_ = std::move(handler);
  }
  Status Connect() override;
  Status Publish(const BusMessage& message) override;
  Status Subscribe(const std::string& filter, int qos) override;
  Status Unsubscribe(const std::string& filter) override;
  Status Disconnect() override;
  bool IsConnected() const override;

  // Test controls.
  void FailPublishes(bool fail) { fail_publishes_ = fail; }
  // Simulates a lost connection: the will (if any) is routed, the handler told.
  void DropConnection();
  std::vector<BusMessage> Published() const;
  // Published messages on topics matching `filter`.
  std::vector<BusMessage> PublishedOn(const std::string& filter) const;
  void ClearPublished();
  std::set<std::string> Subscriptions() const;

 private:
  friend class FakeBroker;
  void Deliver(const BusMessage& message);

  FakeBroker& broker_;
  BusOptions options_;
  MessageHandler on_message_;
  ConnectionHandler on_connection_;
  mutable std::mutex mu_;
  bool connected_ = false;             // guarded by mu_
  std::set<std::string> filters_;      // guarded by mu_
  std::vector<BusMessage> published_;  // guarded by mu_
  bool fail_publishes_ = false;
};

}  // namespace spawn
