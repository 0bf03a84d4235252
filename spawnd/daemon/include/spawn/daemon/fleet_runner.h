// FleetRunner: the fleet's reconciler (spawn::fleet's FleetAgent) inside spawnd, for spawnd.yml's
// `fleet: {base, username, passwordFile}`. It has a connection of its own, with that operator's
// identity for the base (the host's identity may command nothing but itself), and a thread and
// event loop of its own, so that its publishes never wait behind the daemon's work nor the other
// way round. The first connection is retried with back-off (BrokerConnector); after that the bus
// reconnects by itself and renews the subscriptions.
//
// Threading: Start() and Stop() from spawnd's main thread; everything else runs on the runner's
// thread. Stop() (also the destructor) ends the thread and disconnects.
#pragma once

#include <memory>
#include <thread>

#include "spawn/bus/bus.h"
#include "spawn/common/config.h"
#include "spawn/common/event_loop.h"
#include "spawn/common/status.h"

namespace spawn {

namespace fleet {
class FleetAgent;
}
class BrokerConnector;

class FleetRunner {
 public:
  // Null when `config` has no fleet:. kNotFound when its passwordFile cannot be read.
  static Result<std::unique_ptr<FleetRunner>> Make(const SpawndConfig& config);
  ~FleetRunner();
  FleetRunner(const FleetRunner&) = delete;
  FleetRunner& operator=(const FleetRunner&) = delete;

  void Start();
  void Stop();

 private:
  FleetRunner(std::string base, std::unique_ptr<Bus> bus);

  std::string base_;
  std::unique_ptr<Bus> bus_;
  RealEventLoop loop_;
  std::unique_ptr<fleet::FleetAgent> agent_;
  std::unique_ptr<BrokerConnector> connector_;
  std::thread thread_;
};

}  // namespace spawn
