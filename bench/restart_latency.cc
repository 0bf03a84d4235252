// Benchmark 2: death to restart. A service with autoRestart, restartInt 0s and maxRestartInt 0s
// (no back-off: every kill here is "soon after the start") is killed from
// outside (`docker kill`); timed from launching the kill to the engine's `start` event of its
// container. The floor: the same container image and limits run by hand, killed with `docker kill`
// and started again with `docker start` at once, timed the same way (launching the kill to the
// `start` event). Both sides include the kill; spawnd's side replaces the `docker start` CLI with
// its own detection and start call.
//
// Die to start, the ratio this benchmark is judged by: spawnd's side runs from the engine's `die`
// event of the auto-restarted container to the engine's `start` event of the same container, both
// engine timestamps, so it holds spawnd's detection (the event stream), its decision and its start
// call, and nothing of the kill. The floor is the engine's start call alone on a third container of
// the same image and limits: it is killed, and as soon as this program sees its `die` event, one
// POST /containers/{id}/start goes to the engine over its unix socket (CurlDockerEngine, the
// adapter spawnd itself uses: one libcurl handle, no retries), timed from just before the call to
// the engine's `start` event. The `start` event, not the call's return, ends both sides: spawnd's
// side ends there, and the answer travelling back after the event is in neither. Starting the call
// on the `die` event, as spawnd does, leaves the engine as unsettled (cleanup of the dead
// container) as it is for spawnd. For reference, also printed: the call's return, the floor's own
// die-to-start, the same call on a settled container (100 ms after its `die`: the engine's start
// alone with nothing else going on, which no restarter reacting to `die` gets; its ratio is
// printed too), and spawnd's side split at two lines spawnd writes to the service's log with its
// own time: "Service exited" (the death handled, after spawnd's inspect of the container) and
// "Restarting in" (the restart decided).
//
// All are interleaved in rounds; spawnd's restart and the direct starts swap which goes first every
// round, with `docker kill && docker start` between them.
//
// Detection delay alone: from the engine's `die` event to the moment a subscriber receives
// spawnd's service heartbeat saying the service died (an upper bound on spawnd's reaction: it
// includes one MQTT hop). Event times are the engine's own (timeNano), read from its event stream.
// Prints the figures and, last, the ratio of the die-to-start medians (target: at most 1.05).
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "bench_util.h"
#include "harness.h"
#include "spawn/bus/paho_bus.h"
#include "spawn/engine/curl_docker_engine.h"
#include "spawn/proto/topics.h"

using namespace spawn;
using namespace spawn::testing;
using namespace spawn::bench;

namespace {

constexpr const char* kUsage =
    "usage: bench_restart_latency [--iterations N]\n"
    "Runs a spawnd of its own on the broker at 127.0.0.1:1883 and the engine at\n"
    "/var/run/docker.sock; times docker kill -> running again under spawnd (autoRestart,\n"
    "restartInt 0s) against docker kill + docker start, and spawnd's detection delay.\n"
    "Last, the ratio it is judged by: the engine's die -> start events of the container\n"
    "spawnd restarts, against the engine's start call alone (POST /containers/{id}/start\n"
    "on its socket, issued on the die event, until the start event); target <= 1.05.\n"
    "N rounds (default 20) after 2 warm-up rounds.\n";

// Follows the engine's die and start events (its own event stream, through `engine`) and lets a
// caller wait for the next one of a container after a given time.
class EngineEvents {
 public:
  explicit EngineEvents(DockerEngine& engine) {
    stream_ = engine.FollowEvents(
        [this](const EngineEvent& e) {
          if (e.kind != EngineEvent::Kind::kDie && e.kind != EngineEvent::Kind::kStart) return;
          std::lock_guard lock(mu_);
          const char* action = e.kind == EngineEvent::Kind::kDie ? "die" : "start";
          events_.push_back({e.time_unix_ns, action, e.container_id});
          cv_.notify_all();
        },
        [] {});
  }
  // Stops the callbacks before the members they use go.
  ~EngineEvents() { stream_.reset(); }
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
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
  std::unique_ptr<Stream> stream_;  // last: destroyed first
};

// A timeline of what arrives on one topic: each message a `Decode` turns into a (time, text)
// entry; messages it gives nothing for are skipped.
class BusTimeline {
 public:
  using Entry = std::pair<int64_t, std::string>;
  using Decode = std::function<std::optional<Entry>(const BusMessage&)>;
  BusTimeline(const std::string& topic, Decode decode) : decode_(std::move(decode)) {
    BusOptions o;
    o.uri = kDefaultBroker;
    bus_ = MakePahoBus(o);
    bus_->SetMessageHandler([this](const BusMessage& m) {
      auto entry = decode_(m);
      if (!entry) return;
      std::lock_guard lock(mu_);
      entries_.push_back(std::move(*entry));
      cv_.notify_all();
    });
    if (!bus_->Connect().ok() || !bus_->Subscribe(topic, 1).ok()) std::cerr << "no broker\n";
  }
  // The time of the first entry at or after `after_ns` whose text starts with `prefix`, or -1
  // (after at most `timeout`).
  int64_t WaitFor(const std::string& prefix, int64_t after_ns, std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    int64_t found = -1;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& [at, text] : entries_) {
        if (at >= after_ns && text.rfind(prefix, 0) == 0) {
          found = at;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  const Decode decode_;
  std::unique_ptr<Bus> bus_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Entry> entries_;
};

// When each of spawnd's service heartbeats arrived (wall clock, on Paho's thread), as "running"
// or "not running".
std::optional<BusTimeline::Entry> HeartbeatArrival(const BusMessage& m) {
  const int64_t now = WallNanos();
  auto hb = proto::DecodeServiceHeartbeat(m.payload);
  if (!hb.ok()) return std::nullopt;
  return BusTimeline::Entry{now,
                            hb->state == proto::ServiceState::kRunning ? "running" : "not running"};
}

// spawnd's own lines in a service's log (stream "spawnd") with the times spawnd stamped them (its
// wall clock, on its loop thread): they tell where, between die and start, the time goes.
std::optional<BusTimeline::Entry> SpawndLine(const BusMessage& m) {
  auto line = proto::DecodeLogMessage(m.payload);
  if (!line.ok() || line->stream != "spawnd") return std::nullopt;
  return BusTimeline::Entry{line->time_unix_ns, line->contents};
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (WantsHelp(argc, argv, kUsage)) return 0;
  const int iterations = IntFlag(argc, argv, "--iterations", 20);

  CurlDockerEngine engine(kDefaultDockerSocket);
  if (auto version = engine.Connect(); !version.ok()) {
    std::cerr << "no engine: " << version.status().ToString() << "\n";
    return 1;
  }
  SpawndProcess spawnd;
  Probe probe;
  if (!spawnd.StartAndWaitOnline(probe)) return 1;
  EngineEvents events(engine);
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
  // The floors' containers: the service's image, limits and command, run by hand.
  auto run_plain = [&](const std::string& role) {
    return Trim(Docker("run -d --name spawnpoint-bench-" + role + "-" + std::to_string(getpid()) +
                       " --network host --memory 32m --cpu-shares 128 " + SPAWN_TEST_IMAGE +
                       " sh -c \"" + run + "\"")
                    .out);
  };
  const std::string plain = run_plain("plain"), direct = run_plain("direct");
  if (service.empty() || plain.empty() || direct.empty()) {
    std::cerr << "no containers to kill\n";
    return 1;
  }
  BusTimeline watch(topics::ServiceHeartbeat(spawnd.path(), "phoenix"), HeartbeatArrival);
  BusTimeline log(topics::ServiceLog(spawnd.path(), "phoenix"), SpawndLine);

  std::vector<double> spawnpoint_ms, docker_ms, detection_ms;
  // Die to start: spawnd's (die -> start events) and the floor (start call -> start event), with
  // the floor's call return and its own die -> start events for reference.
  std::vector<double> die_to_start_ms, start_call_ms, start_return_ms, direct_die_to_start_ms,
      settled_start_ms;
  // spawnd's side split at its "Service exited" line (written once its check of the container,
  // an inspect call, has come back and it handles the death) and its "Restarting in" line.
  std::vector<double> die_to_handled_ms, handled_to_decided_ms, decided_to_start_ms;
  int failures = 0;
  auto restart_by_spawnd = [&](bool measured) {
    const int64_t launched = WallNanos();
    Docker("kill " + service + " >/dev/null");
    const int64_t died = events.WaitFor(service, "die", launched);
    const int64_t started = events.WaitFor(service, "start", died);
    // spawnd's heartbeat saying it died: the first after the kill that is not `running`.
    const int64_t noticed = watch.WaitFor("not running", launched, std::chrono::seconds(30));
    if (died < 0 || started < 0 || noticed < 0) {
      ++failures;
      return;
    }
    if (!measured) return;
    spawnpoint_ms.push_back((started - launched) / 1e6);
    detection_ms.push_back((noticed - died) / 1e6);
    die_to_start_ms.push_back((started - died) / 1e6);
    const int64_t handled = log.WaitFor("[INFO] Service exited", died, std::chrono::seconds(5));
    const int64_t decided = log.WaitFor("[INFO] Restarting in", died, std::chrono::seconds(5));
    if (handled > 0 && decided > 0) {
      die_to_handled_ms.push_back((handled - died) / 1e6);
      handled_to_decided_ms.push_back((decided - handled) / 1e6);
      decided_to_start_ms.push_back((started - decided) / 1e6);
    }
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
  // The engine's start call alone, issued as soon as the die event is seen (as spawnd would).
  auto restart_directly = [&](bool measured) {
    const int64_t launched = WallNanos();
    // The engine answers a kill once the container is dead, and the CLI takes a while to exit
    // after that: waiting for it would start later than spawnd does, on a calmer engine.
    std::thread killer([&] { Docker("kill " + direct + " >/dev/null"); });
    const int64_t died = events.WaitFor(direct, "die", launched);
    const int64_t called = WallNanos();
    const Status status = died < 0 ? Status::Ok() : engine.StartContainer(direct);
    const int64_t returned = WallNanos();
    killer.join();
    if (died < 0) {
      ++failures;
      return;
    }
    const int64_t started = events.WaitFor(direct, "start", called);
    if (!status.ok() || started < 0) {
      if (!status.ok()) std::cerr << "start: " << status.ToString() << "\n";
      ++failures;
      return;
    }
    if (!measured) return;
    start_call_ms.push_back((started - called) / 1e6);
    start_return_ms.push_back((returned - called) / 1e6);
    direct_die_to_start_ms.push_back((started - died) / 1e6);
  };
  // For reference: the start call on the same container once the engine is done with its death
  // (the kill answered, and a pause), which no restarter reacting to the die event gets.
  auto start_settled = [&](bool measured) {
    const int64_t launched = WallNanos();
    Docker("kill " + direct + " >/dev/null");
    const bool died = events.WaitFor(direct, "die", launched) >= 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int64_t called = WallNanos();
    const Status status = died ? engine.StartContainer(direct) : Status::Ok();
    const int64_t started = events.WaitFor(direct, "start", called);
    if (!died || !status.ok() || started < 0) {
      ++failures;
      return;
    }
    if (measured) settled_start_ms.push_back((started - called) / 1e6);
  };
  for (int i = -2; i < iterations; ++i) {  // two warm-up rounds
    const bool measured = i >= 0;
    if (i % 2 == 0) {
      restart_by_spawnd(measured);
      restart_by_hand(measured);
      restart_directly(measured);
      start_settled(measured);
    } else {
      start_settled(measured);
      restart_directly(measured);
      restart_by_hand(measured);
      restart_by_spawnd(measured);
    }
    // Let all settle (spawnd's heartbeat back to running) before the next round.
    watch.WaitFor("running", WallNanos() - 2'000'000'000, std::chrono::seconds(30));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  Docker("rm -f " + plain + " " + direct + " >/dev/null");

  std::printf("death to restart, %d iterations after 2 warm-up (engine event times)\n", iterations);
  const Summary spawnpoint = Summarize(spawnpoint_ms), docker = Summarize(docker_ms);
  PrintSummary("docker kill -> spawnd restart", spawnpoint);
  PrintSummary("docker kill && docker start", docker);
  PrintSummary("detection (die -> heartbeat seen)", Summarize(detection_ms));
  std::printf("detection median %.2f ms (target < 20 ms)\n", Summarize(detection_ms).median);
  if (docker.median > 0) {
    std::printf("ratio restart/docker-start median %.2f (target <= 1.1)\n",
                spawnpoint.median / docker.median);
  }
  const Summary die_to_start = Summarize(die_to_start_ms), start_call = Summarize(start_call_ms);
  PrintSummary("spawnd: die -> start (events)", die_to_start);
  PrintSummary("  die -> \"Service exited\" (log)", Summarize(die_to_handled_ms));
  PrintSummary("  -> \"Restarting in\" (log)", Summarize(handled_to_decided_ms));
  PrintSummary("  -> start event", Summarize(decided_to_start_ms));
  PrintSummary("engine start call -> start event", start_call);
  PrintSummary("engine start call -> its return", Summarize(start_return_ms));
  PrintSummary("direct: die -> start (events)", Summarize(direct_die_to_start_ms));
  const Summary settled = Summarize(settled_start_ms);
  PrintSummary("settled start call -> start event", settled);
  if (settled.median > 0) {
    std::printf("(reference) ratio die-to-start/settled-start median %.2f\n",
                die_to_start.median / settled.median);
  }
  if (failures) std::printf("failures: %d\n", failures);
  if (start_call.median <= 0) return 1;
  std::printf("ratio die-to-start/engine-start median %.2f (%.2f / %.2f ms, target <= 1.05)\n",
              die_to_start.median / start_call.median, die_to_start.median, start_call.median);
  return failures ? 1 : 0;
}
