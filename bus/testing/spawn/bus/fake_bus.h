// FakeBroker and FakeBus: an in-memory MQTT for unit tests. Messages published by one FakeBus reach
// every connected FakeBus of the same broker whose filters match, synchronously, on the
// publisher's thread (handlers in tests are expected to Post to a ManualEventLoop). Retained
// messages are kept (an empty retained payload clears) and delivered, flagged retained, on
// Subscribe. Every publish is recorded, and a client can be told to fail its publishes, to have
// those on some topics refused as an MQTT 5 broker refuses them (kForbidden, not recorded, not
// routed), or drop its connection (its will is then routed). Messages keep their expiry as given:
// the fake never expires one. Filters survive DropConnection()/Connect(), as with a
// persistent session; messages routed while a client is away are not queued for it.
//
// Thread-safety: every method may be called from any thread; handlers are called without the
// fake's locks held, so they may publish again. A FakeBus must not be destroyed while another
// thread publishes through its broker.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "spawn/bus/bus.h"
#include "spawn/common/mutex.h"

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
  mutable Mutex mu_;
  std::map<std::string, BusMessage> retained_ GUARDED_BY(mu_);
  std::set<FakeBus*> clients_ GUARDED_BY(mu_);
};

class FakeBus final : public Bus {
 public:
  // A client of `broker`, which must outlive it.
  explicit FakeBus(FakeBroker& broker, BusOptions options = {});
  // A client with a broker of its own (for tests with one client: use Deliver to inject).
  FakeBus();
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
  // Publishes on topics matching `filter` fail with kForbidden, worded as PahoBus words a PUBACK
  // of "not authorised".
  void RefusePublishesTo(const std::string& filter);
  // Simulates a lost connection: the will (if any) is routed, the handler told.
  void DropConnection();
  std::vector<BusMessage> Published() const;
  // Published messages on topics matching `filter`.
  std::vector<BusMessage> PublishedOn(const std::string& filter) const;
  void ClearPublished();
  std::set<std::string> Subscriptions() const;
  // Injects an incoming message: the handler gets it if connected and a filter matches (the
  // broker's retained store is not touched; publish through another client for that).
  void Deliver(const BusMessage& message);
  FakeBroker& broker() { return broker_; }

 private:
  std::unique_ptr<FakeBroker> own_broker_;  // only for the default constructor
  FakeBroker& broker_;
  BusOptions options_;
  MessageHandler on_message_;
  ConnectionHandler on_connection_;
  mutable Mutex mu_;
  std::atomic<bool> fail_publishes_{false};
  bool connected_ GUARDED_BY(mu_) = false;
  std::set<std::string> filters_ GUARDED_BY(mu_);
  std::set<std::string> refused_ GUARDED_BY(mu_);  // filters whose publishes are kForbidden
  std::vector<BusMessage> published_ GUARDED_BY(mu_);
};

}  // namespace spawn
