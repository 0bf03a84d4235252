// bench_fleet: the fleet's reconciler against the floor of a plain client, on the real broker.
// N scripted spawnpoints (one connection answering for all: a retained heartbeat each, and for
// every deploy a reply and a retained service heartbeat) under a base of the run's own. The floor:
// a plain client publishes N deploys, one to each, as the agent publishes its commands (QoS 1,
// the same expiry, one PublishBatch), and waits for the N replies. The fleet: a FleetAgent (as
// spawnd runs it) has read the base; `fleet apply` of a set of N replicas is published and the
// time runs until the N deploys it makes are acknowledged. Both count the same replies with the
// same counter, subscribed before either starts. Each side has a warm-up round, then the rounds
// alternate (which side goes first alternates too), each with a new name, and the figure of a
// side is its median. The program installs Paho's workarounds as spawnd and spawnctl do, for every
// connection alike. Prints each round, both medians and their ratio (fleet / floor).
// Usage: bench_fleet [--n 1000] [--rounds 3] [--broker tcp://127.0.0.1:1883]
#include <unistd.h>

#include <atomic>
#include <deque>
#include <iostream>
#include <thread>
#include <utility>
#include <vector>

#include "bench_util.h"
#include "paho_workarounds.h"
#include "spawn/bus/paho_bus.h"
#include "spawn/common/mutex.h"
#include "spawn/fleet/agent.h"
#include "spawn/fleet/fleet_client.h"
#include "spawn/proto/topics.h"

namespace spawn::bench {
namespace {

// Answers every deploy under `base`: reply, then the service's retained heartbeat.
class ScriptedSpawnpoints {
 public:
  ScriptedSpawnpoints(const std::string& broker, std::string base, int n)
      : base_(std::move(base)), n_(n) {
    BusOptions o;
    o.uri = broker;
    bus_ = MakePahoBus(o);
    bus_->SetMessageHandler([this](const BusMessage& m) {
      MutexLock lock(mu_);
      queue_.push_back(m);
      cv_.NotifyOne();
    });
  }
  ~ScriptedSpawnpoints() {
    {
      MutexLock lock(mu_);
      stop_ = true;
      cv_.NotifyOne();
    }
    if (worker_.joinable()) worker_.join();
  }
  bool Start() {
    if (!bus_->Connect().ok()) return false;
    std::vector<BusMessage> beats;
    for (int i = 0; i < n_; ++i) {
      proto::SpawnpointHeartbeat hb;
      hb.alias = "sp" + std::to_string(i);
      hb.time_unix_ns = WallNanos();
      hb.total_mem_mib = hb.available_mem_mib = 4096;
      hb.total_cpu_shares = hb.available_cpu_shares = 4096;
      hb.heartbeat_interval_ms = 600000;  // fresh for the whole run without another
      beats.push_back({topics::Heartbeat(Path(i)), proto::Encode(hb), 1, true});
    }
    for (const Status& s : bus_->PublishBatch(beats))
      if (!s.ok()) return false;
    if (!bus_->Subscribe(topics::ConfigSlot(base_ + "/+"), 1).ok()) return false;
    worker_ = std::thread([this] { Work(); });
    return true;
  }
  std::string Path(int i) const { return base_ + "/sp" + std::to_string(i); }
  void Clear() {
    std::vector<BusMessage> clear;
    for (int i = 0; i < n_; ++i) clear.push_back({topics::Heartbeat(Path(i)), "", 1, true});
    for (const auto& topic : services_) clear.push_back({topic, "", 1, true});
    bus_->PublishBatch(clear);
    bus_->Disconnect().IgnoreError();
  }

 private:
  void Work() {
    while (true) {
      std::deque<BusMessage> batch;
      {
        MutexLock lock(mu_);
        cv_.Wait(lock, [this]() NO_THREAD_SAFETY_ANALYSIS { return stop_ || !queue_.empty(); });
        if (stop_) return;
        batch.swap(queue_);
      }
      std::vector<BusMessage> out;
      for (const BusMessage& m : batch) {
        auto req = proto::DecodeDeployRequest(m.payload);
        if (!req.ok()) continue;
        const std::string path = m.topic.substr(0, m.topic.find("/s.spawnpoint/"));
        proto::Reply reply{req->request_id, true, 200, "deployed"};
        out.push_back({topics::Reply(path, req->request_id), proto::Encode(reply), 1, false});
        proto::ServiceHeartbeat hb;
        hb.spawnpoint_uri = path;
        hb.name = req->config.name;
        hb.time_unix_ns = WallNanos();
        hb.state = proto::ServiceState::kRunning;
        hb.original_config = req->config;
        const std::string topic = topics::ServiceHeartbeat(path, hb.name);
        services_.push_back(topic);
        out.push_back({topic, proto::Encode(hb), 1, true});
      }
      bus_->PublishBatch(out);
    }
  }

  std::string base_;
  int n_;
  std::unique_ptr<Bus> bus_;
  Mutex mu_;
  CondVar cv_;
  std::deque<BusMessage> queue_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::vector<std::string> services_;  // the worker's only
  std::thread worker_;
};

// Counts every reply under `base`. Each side's deploys are the only requests in flight during its
// round, so a round waits for N and finds none left over at the next Reset.
class ReplyCounter {
 public:
  ReplyCounter(const std::string& broker, const std::string& base) {
    BusOptions o;
    o.uri = broker;
    bus_ = MakePahoBus(o);
    bus_->SetMessageHandler([this](const BusMessage&) {
      MutexLock lock(mu_);
      ++count_;
      cv_.NotifyAll();
    });
    ok_ = bus_->Connect().ok() && bus_->Subscribe(topics::Reply(base + "/+", "+"), 1).ok();
  }
  bool ok() const { return ok_; }
  // Starts counting again; returns how many came since the last Reset.
  int Reset() {
    MutexLock lock(mu_);
    return std::exchange(count_, 0);
  }
  bool WaitFor(int n, std::chrono::seconds limit) {
    MutexLock lock(mu_);
    return cv_.WaitFor(lock, limit, [&]() NO_THREAD_SAFETY_ANALYSIS { return count_ >= n; });
  }
  Bus& bus() { return *bus_; }

 private:
  std::unique_ptr<Bus> bus_;
  bool ok_ = false;
  Mutex mu_;
  CondVar cv_;
  int count_ GUARDED_BY(mu_) = 0;
};

ServiceConfig Config(const std::string& name) {
  ServiceConfig c;
  c.name = name;
  c.run = {"./svc"};
  c.mem_alloc_bytes = int64_t{64} << 20;
  c.cpu_shares = 64;
  return c;
}

// The time of one round, in its two steps: handing the work over, then the replies.
struct Round {
  double hand_over_ms = 0;  // the floor's PublishBatch; the fleet's Apply (read and write the set)
  double total_ms = 0;      // until the N replies were counted
};

// The fleet's agent with the loop it runs on, as spawnd runs it, on its own connection.
class Fleet {
 public:
  Fleet(const std::string& broker, const std::string& base) {
    BusOptions o;
    o.uri = broker;
    agent_bus_ = MakePahoBus(o);
    client_bus_ = MakePahoBus(o);
    options_.reconciler.base = base;
    agent_ = std::make_unique<fleet::FleetAgent>(options_, *agent_bus_, loop_);
    client_ = std::make_unique<fleet::FleetClient>(*client_bus_);
  }
  ~Fleet() { Stop(); }
  // Stops the agent and its loop. Idempotent.
  void Stop() {
    if (!loop_thread_.joinable()) return;
    loop_.Post([this] {
      agent_->Stop();
      loop_.Stop();
    });
    loop_thread_.join();
  }
  const fleet::AgentOptions& options() const { return options_; }
  // Connects and starts the agent; returns once its view has `n` spawnpoints.
  bool Start(int n) {
    agent_->Install();
    if (!agent_bus_->Connect().ok() || !client_bus_->Connect().ok()) return false;
    loop_thread_ = std::thread([this] { loop_.Run(); });
    std::atomic<size_t> seen{0};
    loop_.Post([this] { (void)agent_->Start(); });
    for (int i = 0; i < 600 && seen.load() < static_cast<size_t>(n); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      loop_.Post([&] { seen = agent_->view().spawnpoints.size(); });
    }
    // The last look may still be queued: let it run before `seen` goes away.
    std::atomic<bool> looked{false};
    loop_.Post([&] { looked = true; });
    while (!looked) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return seen.load() >= static_cast<size_t>(n);
  }
  Status Apply(const std::string& base, const fleet::FleetConfig& set) {
    names_.push_back(set.config.name);
    return client_->Apply(base, set, "", "", std::chrono::seconds(30)).status();
  }
  // Stops the agent, then forgets the sets applied, so that the next run's agent finds none.
  void Clear(const std::string& base) {
    Stop();
    for (const std::string& name : names_) {
      for (const std::string& topic : {topics::FleetSet(base, name), topics::FleetFiles(base, name),
                                       topics::FleetStatus(base, name)})
        client_bus_->Publish({topic, "", 1, true}).IgnoreError();
    }
    client_bus_->Disconnect().IgnoreError();
    agent_bus_->Disconnect().IgnoreError();
  }

 private:
  fleet::AgentOptions options_;
  std::unique_ptr<Bus> agent_bus_;
  std::unique_ptr<Bus> client_bus_;
  RealEventLoop loop_;
  std::unique_ptr<fleet::FleetAgent> agent_;
  std::unique_ptr<fleet::FleetClient> client_;
  std::vector<std::string> names_;
  std::thread loop_thread_;
};

int Main(int argc, char** argv) {
  const PahoWorkaroundsState paho = InstallPahoWorkarounds();  // as in spawnd's and spawnctl's main
  int n = 1000;
  int rounds = 3;
  std::string broker = "tcp://127.0.0.1:1883";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--n") n = std::atoi(argv[i + 1]);
    if (flag == "--rounds") rounds = std::max(1, std::atoi(argv[i + 1]));
    if (flag == "--broker") broker = argv[i + 1];
  }
  const std::string base = "benchfleet-" + std::to_string(getpid());
  ScriptedSpawnpoints fakes(broker, base, n);
  if (!fakes.Start()) {
    std::cerr << "cannot start the scripted spawnpoints on " << broker << "\n";
    return 1;
  }
  ReplyCounter replies(broker, base);
  if (!replies.ok()) return 1;
  BusOptions plain_options;
  plain_options.uri = broker;
  auto plain_bus = MakePahoBus(plain_options);  // its own connection, as the agent has
  if (!plain_bus->Connect().ok()) return 1;
  Fleet fleet(broker, base);
  if (!fleet.Start(n)) {
    std::cerr << "the agent did not see the " << n << " spawnpoints\n";
    return 1;
  }

  // Waits for the round's replies; the time since `start`.
  auto finish = [&](const char* side, Clock::time_point start, Round& round) {
    if (!replies.WaitFor(n, std::chrono::seconds(300))) std::cerr << side << ": not all replied\n";
    round.total_ms = MillisSince(start);
  };
  // Lets what a round leaves behind (the agent's statuses, the services' heartbeats reaching it)
  // finish before the next round starts, whichever side that is, and checks that the replies
  // counted were the round's own.
  auto settle = [&](const char* side) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (const int counted = replies.Reset(); counted != n)
      std::cerr << side << ": " << counted << " replies counted for " << n << " deploys\n";
  };
  auto plain_round = [&](int r) {
    std::vector<BusMessage> deploys;
    for (int i = 0; i < n; ++i) {
      const std::string name = "plain" + std::to_string(r) + "-" + std::to_string(i);
      proto::DeployRequest req;
      req.request_id = name;
      req.config = Config(name);
      BusMessage m{topics::ConfigSlot(fakes.Path(i)), proto::Encode(req), 1, false};
      m.expiry = fleet.options().command_expiry;  // as the agent sends its commands
      deploys.push_back(std::move(m));
    }
    Round round;
    const auto start = Clock::now();
    for (const Status& s : plain_bus->PublishBatch(deploys)) {
      if (!s.ok()) std::cerr << "plain: " << s.message() << "\n";
    }
    round.hand_over_ms = MillisSince(start);
    finish("plain", start, round);
    settle("plain");
    return round;
  };
  auto fleet_round = [&](int r) {
    fleet::FleetConfig set;
    set.replicas = n;
    set.config = Config("bench" + std::to_string(r));
    Round round;
    const auto start = Clock::now();
    if (Status applied = fleet.Apply(base, set); !applied.ok())
      std::cerr << "apply: " << applied.message() << "\n";
    round.hand_over_ms = MillisSince(start);
    finish("fleet", start, round);
    settle("fleet");
    return round;
  };

  std::cout << "spawnpoints: " << n << ", rounds: " << rounds << " each after a warm-up, "
            << "Paho C " << paho.paho_version << " workarounds "
            << (paho.active && paho.interposed ? "on" : "off") << "\n";
  plain_round(0);
  fleet_round(0);
  std::vector<double> plain_ms, fleet_ms;
  auto print = [](const char* side, int r, const Round& round) {
    std::printf("round %d %-6s %9.1f ms (handed over in %.1f ms)\n", r, side, round.total_ms,
                round.hand_over_ms);
  };
  for (int r = 1; r <= rounds; ++r) {
    for (int side = 0; side < 2; ++side) {
      if ((side + r) % 2 == 0) {
        const Round round = plain_round(r);
        print("plain", r, round);
        plain_ms.push_back(round.total_ms);
      } else {
        const Round round = fleet_round(r);
        print("fleet", r, round);
        fleet_ms.push_back(round.total_ms);
      }
    }
  }

  fleet.Clear(base);
  fakes.Clear();
  replies.bus().Disconnect().IgnoreError();
  plain_bus->Disconnect().IgnoreError();
  const double plain_median = Summarize(plain_ms).median;
  const double fleet_median = Summarize(fleet_ms).median;
  std::cout << "plain client, " << n << " deploys until all acknowledged: median " << plain_median
            << " ms\n"
            << "fleet apply of " << n << " replicas until all acknowledged: median " << fleet_median
            << " ms\n"
            << "ratio (fleet / plain): " << fleet_median / plain_median << std::endl;
  std::_Exit(0);  // Paho's teardown waits for its threads in 100 ms steps
}

}  // namespace
}  // namespace spawn::bench

int main(int argc, char** argv) { return spawn::bench::Main(argc, argv); }
