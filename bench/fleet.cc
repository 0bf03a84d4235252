// bench_fleet: the fleet's reconciler against the floor of a plain client, on the real broker.
// N scripted spawnpoints (one connection answering for all: a retained heartbeat each, and for
// every deploy a reply and a retained service heartbeat) under a base of the run's own. The floor:
// a plain client publishes N deploys, one to each, and waits for the N replies. The fleet: a
// FleetAgent (as spawnd runs it) has read the base; `fleet apply` of a set of N replicas is
// published and the time runs until the N deploys it makes are acknowledged. Prints both and the
// ratio (fleet / floor). Usage: bench_fleet [--n 1000] [--broker tcp://127.0.0.1:1883]
#include <unistd.h>

#include <atomic>
#include <deque>
#include <iostream>
#include <thread>

#include "bench_util.h"
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

// Counts the replies under `base` whose RequestId starts with nothing in particular: every reply.
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
  void Reset() {
    MutexLock lock(mu_);
    count_ = 0;
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

int Main(int argc, char** argv) {
  int n = 1000;
  std::string broker = "tcp://127.0.0.1:1883";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--n") n = std::atoi(argv[i + 1]);
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

  // The floor: a plain client, one deploy to each spawnpoint, all replies back. Twice: the
  // first run warms the broker and the scripted spawnpoints up; the second is the floor.
  double plain_ms = 0;
  BusOptions plain_options;
  plain_options.uri = broker;
  auto plain_bus = MakePahoBus(plain_options);  // its own connection, as the agent has
  if (!plain_bus->Connect().ok()) return 1;
  for (int round = 0; round < 2; ++round) {
    std::vector<BusMessage> deploys;
    for (int i = 0; i < n; ++i) {
      const std::string name = "plain" + std::to_string(round) + "-" + std::to_string(i);
      proto::DeployRequest req;
      req.request_id = name;
      req.config = Config(name);
      deploys.push_back({topics::ConfigSlot(fakes.Path(i)), proto::Encode(req), 1, false});
    }
    replies.Reset();
    const auto start = Clock::now();
    plain_bus->PublishBatch(deploys);
    if (!replies.WaitFor(n, std::chrono::seconds(120))) std::cerr << "plain: not all replied\n";
    plain_ms = MillisSince(start);
  }

  // The fleet: an agent that has read the base, then an apply.
  BusOptions o;
  o.uri = broker;
  auto agent_bus = MakePahoBus(o);
  RealEventLoop loop;
  fleet::AgentOptions options;
  options.reconciler.base = base;
  fleet::FleetAgent agent(options, *agent_bus, loop);
  agent.Install();
  if (!agent_bus->Connect().ok()) return 1;
  std::thread loop_thread([&] { loop.Run(); });
  std::atomic<size_t> seen{0};
  loop.Post([&] { (void)agent.Start(); });
  // Wait until the agent has every spawnpoint (and the plain services) in its view.
  for (int i = 0; i < 600 && seen.load() < static_cast<size_t>(n); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    loop.Post([&] { seen = agent.view().spawnpoints.size(); });
  }
  auto client_bus = MakePahoBus(o);
  fleet::FleetClient client(*client_bus);
  if (!client_bus->Connect().ok()) return 1;
  fleet::FleetConfig set;
  set.replicas = n;
  set.config = Config("bench");
  replies.Reset();
  const auto start = Clock::now();
  auto applied = client.Apply(base, set, "", "", std::chrono::seconds(30));
  if (!applied.ok()) {
    std::cerr << "apply: " << applied.status().message() << "\n";
    return 1;
  }
  if (!replies.WaitFor(n, std::chrono::seconds(300))) std::cerr << "fleet: not all replied\n";
  const double fleet_ms = MillisSince(start);

  loop.Post([&] {
    agent.Stop();
    loop.Stop();
  });
  loop_thread.join();
  for (const std::string& topic :
       {topics::FleetSet(base, "bench"), topics::FleetFiles(base, "bench"),
        topics::FleetStatus(base, "bench")})
    client_bus->Publish({topic, "", 1, true}).IgnoreError();
  fakes.Clear();
  std::cout << "spawnpoints: " << n << "\n"
            << "plain client, " << n << " deploys until all acknowledged: " << plain_ms << " ms\n"
            << "fleet apply of " << n << " replicas until all acknowledged: " << fleet_ms << " ms\n"
            << "ratio (fleet / plain): " << fleet_ms / plain_ms << std::endl;
  agent_bus->Disconnect().IgnoreError();
  client_bus->Disconnect().IgnoreError();
  replies.bus().Disconnect().IgnoreError();
  plain_bus->Disconnect().IgnoreError();
  std::_Exit(0);  // Paho's teardown waits for its threads in 100 ms steps
}

}  // namespace
}  // namespace spawn::bench

int main(int argc, char** argv) { return spawn::bench::Main(argc, argv); }
