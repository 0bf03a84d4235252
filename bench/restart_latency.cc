// Benchmark 2: death to restart. A service with autoRestart, restartInt 0s and maxRestartInt 0s
// (no back-off: every kill here is "soon after the start") is killed from
// outside (`docker kill`); timed from launching the kill to the engine's `start` event of its
// container. The floor: the same container image and limits run by hand, killed with `docker kill`
// and started again with `docker start` at once, timed the same way (launching the kill to the
// `start` event). Both sides include the kill; spawnd's side replaces the `docker start` CLI with
// its own detection and start call. Interleaved, alternating which goes first.
//
// Detection delay alone: from the engine's `die` event to the moment a subscriber receives
// spawnd's service heartbeat saying the service died (an upper bound on spawnd's reaction: it
// includes one MQTT hop). Event times are the engine's own (timeNano), read from `docker events`.
// Prints the figures and, last, the ratio of the medians (target: at most 1.1).
#include <signal.h>

#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "bench_util.h"
#include "harness.h"
#include "spawn/bus/paho_bus.h"
#include "spawn/proto/topics.h"

using namespace spawn;
using namespace spawn::testing;
using namespace spawn::bench;

namespace {

constexpr const char* kUsage =
    "usage: bench_restart_latency [--iterations N]\n"
    "Runs a spawnd of its own on the broker at 127.0.0.1:1883 and the engine at\n"
    "/var/run/docker.sock; times docker kill -> running again under spawnd (autoRestart,\n"
    "restartInt 0s) against docker kill + docker start, and spawnd's detection delay.\n";

// Follows `docker events` for die and start events and lets a caller wait for the next one of a
// container after a given time.
class EngineEvents {
 public:
  EngineEvents() {
    pipe_ = popen(
        "exec docker events --filter event=die --filter event=start --format "
        "'{{.TimeNano}} {{.Action}} {{.Actor.ID}}'",
        "r");
    reader_ = std::thread([this] { Read(); });
  }
  ~EngineEvents() {
    // The reader blocks in fgets: ending `docker events` ends it.
    std::system("pkill -f \"^docker events --filter event=die --filter event=start\"");
    reader_.join();
    pclose(pipe_);
  }
  // The time (ns) of the first `action` event of `container` at or after `after_ns`, or -1.
  int64_t WaitFor(const std::string& container, const std::string& action, int64_t after_ns) {
    std::unique_lock lock(mu_);
    int64_t found = -1;
    cv_.wait_for(lock, std::chrono::seconds(30), [&] {
      for (const auto& e : events_) {
        if (e.id.rfind(container, 0) == 0 && e.action == action && e.time_ns >= after_ns) {
          found = e.time_ns;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  struct Event {
    int64_t time_ns;
    std::string action, id;
  };
  void Read() {
    char line[512];
    while (pipe_ && std::fgets(line, sizeof line, pipe_)) {
      char action[32], id[128];
      long long time_ns = 0;
      if (std::sscanf(line, "%lld %31s %127s", &time_ns, action, id) != 3) continue;
      std::lock_guard lock(mu_);
      events_.push_back({time_ns, action, id});
      cv_.notify_all();
    }
  }
  FILE* pipe_ = nullptr;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

// Records when each of spawnd's service heartbeats arrives (wall clock, on Paho's thread) and
// whether it said the service was running.
class HeartbeatWatch {
 public:
  explicit HeartbeatWatch(const std::string& topic) {
    BusOptions o;
    o.uri = kDefaultBroker;
    bus_ = MakePahoBus(o);
    bus_->SetMessageHandler([this](const BusMessage& m) {
      const int64_t now = WallNanos();
      auto hb = proto::DecodeServiceHeartbeat(m.payload);
      if (!hb.ok()) return;
      std::lock_guard lock(mu_);
      seen_.push_back({now, hb->state == proto::ServiceState::kRunning});
      cv_.notify_all();
    });
    if (!bus_->Connect().ok() || !bus_->Subscribe(topic, 1).ok()) std::cerr << "no broker\n";
  }
  // When the first heartbeat at or after `after_ns` with running == `running` arrived, or -1.
  int64_t WaitFor(bool running, int64_t after_ns) {
    std::unique_lock lock(mu_);
    int64_t found = -1;
    cv_.wait_for(lock, std::chrono::seconds(30), [&] {
      for (const auto& [at, was_running] : seen_) {
        if (at >= after_ns && was_running == running) {
          found = at;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  std::unique_ptr<Bus> bus_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<int64_t, bool>> seen_;
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (WantsHelp(argc, argv, kUsage)) return 0;
  const int iterations = IntFlag(argc, argv, "--iterations", 20);

  SpawndProcess spawnd;
  Probe probe;
  if (!spawnd.StartAndWaitOnline(probe)) return 1;
  EngineEvents events;
  TempDir home("bench-home"), project("bench-project");
  const std::string run = "trap 'exit 0' TERM; while true; do sleep 1; done";
  const auto yml = project.Write(
      "deploy.yml", std::string("image: ") + SPAWN_TEST_IMAGE +
                        "\nuseHostNet: true\nmemAlloc: 32M\ncpuShares: 128\nautoRestart: true\n"
                        "restartInt: 0s\nmaxRestartInt: 0s\nrun: [sh, -c, \"" +
                        run + "\"]\n");
  CliRun deployed = RunSpawnctl(
      {"deploy", "-u", spawnd.path(), "-c", yml.string(), "-n", "phoenix", "--no-follow"},
      home.str());
  if (deployed.exit_code != 0) {
    std::cerr << "deploy failed: " << deployed.out << deployed.err << spawnd.Log();
    return 1;
  }
  const std::string service =
      Trim(Docker("ps -q --no-trunc --filter label=io.spawnpoint.path=" + spawnd.path() +
                  " --filter label=io.spawnpoint.service=phoenix")
               .out);
  const std::string plain =
      Trim(Docker("run -d --name spawnpoint-bench-plain-" + std::to_string(getpid()) +
                  " --network host --memory 32m --cpu-shares 128 " + SPAWN_TEST_IMAGE +
                  " sh -c \"" + run + "\"")
               .out);
  if (service.empty() || plain.empty()) {
    std::cerr << "no containers to kill\n";
    return 1;
  }
  HeartbeatWatch watch(topics::ServiceHeartbeat(spawnd.path(), "phoenix"));

  std::vector<double> spawnpoint_ms, docker_ms, detection_ms;
  int failures = 0;
  auto restart_by_spawnd = [&](bool measured) {
    const int64_t launched = WallNanos();
    Docker("kill " + service + " >/dev/null");
    const int64_t died = events.WaitFor(service, "die", launched);
    const int64_t started = events.WaitFor(service, "start", died);
    // spawnd's heartbeat saying it died: the first after the kill that is not `running`.
    const int64_t noticed = watch.WaitFor(false, launched);
    if (died < 0 || started < 0 || noticed < 0) {
      ++failures;
      return;
    }
    if (!measured) return;
    spawnpoint_ms.push_back((started - launched) / 1e6);
    detection_ms.push_back((noticed - died) / 1e6);
  };
  auto restart_by_hand = [&](bool measured) {
    const int64_t launched = WallNanos();
    Docker("kill " + plain + " >/dev/null && docker start " + plain + " >/dev/null");
    const int64_t started = events.WaitFor(plain, "start", launched);
    if (started < 0) {
      ++failures;
      return;
    }
    if (measured) docker_ms.push_back((started - launched) / 1e6);
  };
  for (int i = -2; i < iterations; ++i) {  // two warm-up rounds
    if (i % 2 == 0) {
      restart_by_spawnd(i >= 0);
      restart_by_hand(i >= 0);
    } else {
      restart_by_hand(i >= 0);
      restart_by_spawnd(i >= 0);
    }
    // Let both settle (spawnd's heartbeat back to running) before the next round.
    watch.WaitFor(true, WallNanos() - 2'000'000'000);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  Docker("rm -f " + plain + " >/dev/null");

  std::printf("death to restart, %d iterations after 2 warm-up (engine event times)\n", iterations);
  const Summary spawnpoint = Summarize(spawnpoint_ms), docker = Summarize(docker_ms);
  PrintSummary("docker kill -> spawnd restart", spawnpoint);
  PrintSummary("docker kill && docker start", docker);
  PrintSummary("detection (die -> heartbeat seen)", Summarize(detection_ms));
  std::printf("detection median %.2f ms (target < 20 ms)\n", Summarize(detection_ms).median);
  if (failures) std::printf("failures: %d\n", failures);
  if (docker.median <= 0) return 1;
  std::printf("ratio restart/docker-start median %.2f (target <= 1.1)\n",
              spawnpoint.median / docker.median);
  return failures ? 1 : 0;
}
