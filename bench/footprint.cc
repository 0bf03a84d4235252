// Benchmark 4: footprint. spawnd supervising 100 running services (busybox, idle; with --filled
// idle after 600 lines of output each, more than a logs answer holds; or with --ticking a line of
// output every second each; heartbeats every 5 s with stats) for 60 s: what
// it publishes (messages and bytes a minute, all of it under its path), its private memory
// (Private_Clean + Private_Dirty of /proc/PID/smaps_rollup) and resident memory, and its CPU time,
// sampled every second from /proc. Beside it, for scale, the CPU time the Docker engine (dockerd
// and containerd) spent over the same window. With --swing, a second window in which one more
// service's CPU use swings (10 s busy, 10 s idle): what it adds, and what the others add (nothing,
// under report by exception). With --cycles N, N deploy/stop cycles afterwards, private memory
// sampled along the way (flat, or growing). Prints the figures and, last, the headline figures
// against the targets.
#include <cstdio>
#include <functional>
#include <iostream>
#include <numeric>
#include <thread>

#include "bench_util.h"
#include "harness.h"
#include "spawn/common/units.h"
#include "spawn/proto/topics.h"

using namespace spawn;
using namespace spawn::testing;
using namespace spawn::bench;

namespace {

constexpr const char* kUsage =
    "usage: bench_footprint [--services N] [--seconds S] [--ticking | --filled] [--swing]\n"
    "                       [--cycles N]\n"
    "Starts a spawnd of its own on the broker at 127.0.0.1:1883 and the engine at\n"
    "/var/run/docker.sock, deploys N services (default 100; idle, or printing a line a second\n"
    "with --ticking; --filled: 600 lines each first, more than a logs answer holds, then\n"
    "idle), then counts what spawnd publishes and samples its memory and CPU time\n"
    "every second for S seconds (default 60). --swing: then one more service whose CPU use\n"
    "swings, for another S seconds. --cycles N: then N deploy/stop cycles of one service, with\n"
    "spawnd's private memory every N/10. The services are removed at the end.\n";

bool Flag(int argc, char** argv, const std::string& name) {
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == name) return true;
  }
  return false;
}

// What the probe recorded: messages, and bytes of topics and payloads.
struct Traffic {
  size_t messages = 0, bytes = 0, service_heartbeats = 0;
};
Traffic Count(Probe& probe, const std::function<bool(const BusMessage&)>& match) {
  Traffic t;
  for (const auto& m : probe.All(match)) {
    ++t.messages;
    t.bytes += m.topic.size() + m.payload.size();
    if (m.topic.find("/signal/heartbeat/") != std::string::npos) ++t.service_heartbeats;
  }
  return t;
}

double Average(const std::vector<long>& v, size_t from, size_t count) {
  if (v.empty()) return 0;
  count = std::min(count, v.size() - from);
  return std::accumulate(v.begin() + from, v.begin() + from + count, 0.0) / count;
}

}  // namespace

int main(int argc, char** argv) {
  if (WantsHelp(argc, argv, kUsage)) return 0;
  const int services = IntFlag(argc, argv, "--services", 100);
  const int seconds = IntFlag(argc, argv, "--seconds", 60);
  const int cycles = IntFlag(argc, argv, "--cycles", 0);
  const bool ticking = Flag(argc, argv, "--ticking"), swing = Flag(argc, argv, "--swing");
  const bool filled = Flag(argc, argv, "--filled");

  SpawndOptions options;
  options.mem_alloc = std::to_string(services * 8 + 64 + 64) + "M";
  options.cpu_shares = services * 8 + 64 + 64;
  options.heartbeat_interval = "5s";  // the default
  SpawndProcess spawnd(options);
  Probe probe;
  if (!spawnd.StartAndWaitOnline(probe)) return 1;
  probe.Subscribe(topics::Root(spawnd.path()) + "/#");
  // The floor: spawnd online with nothing to supervise is mostly its libraries' pages (libcurl
  // and what Debian's build of it links, Paho, OpenSSL, libstdc++).
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long idle_rss = RssKiB(spawnd.pid()), idle_file = StatusKiB(spawnd.pid(), "RssFile");
  const long idle_private = PrivateKiB(spawnd.pid());

  std::printf("deploying %d services...\n", services);
  std::fflush(stdout);
  for (int i = 0; i < services; ++i) {
    ServiceConfig c = Busybox("s" + std::to_string(i));
    c.run = {"sh", "-c",
             ticking  ? "i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done"
             : filled ? "i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo line $i of the history; "
                        "done; while true; do sleep 3600; done"
                      : "while true; do sleep 3600; done"};
    c.mem_alloc_bytes = 8 * kMiB;
    c.cpu_shares = 8;
    if (!DeployOverBus(probe, spawnd.path(), c, "d" + std::to_string(i))) return 1;
  }
  for (int i = 0; i < services; ++i) {
    const std::string name = "s" + std::to_string(i);
    if (!probe.WaitFor(
            ServiceIn(topics::ServiceHeartbeat(spawnd.path(), name), proto::ServiceState::kRunning),
            std::chrono::seconds(120))) {
      std::cerr << name << " did not start\n";
      return 1;
    }
  }
  probe.Clear();  // from here on the probe only slows things down by recording
  std::this_thread::sleep_for(std::chrono::seconds(10));  // settle: first stats, log streams

  const pid_t pid = spawnd.pid(), dockerd = PidOf("dockerd"), containerd = PidOf("containerd");
  auto engine_cpu = [&] {
    return (dockerd ? CpuSeconds(dockerd) : 0) + (containerd ? CpuSeconds(containerd) : 0);
  };
  std::vector<long> rss, priv;
  probe.Clear();  // the window's traffic alone
  const double cpu_start = CpuSeconds(pid), engine_start = engine_cpu();
  const auto start = Clock::now();
  for (int s = 0; s < seconds; ++s) {
    rss.push_back(RssKiB(pid));
    priv.push_back(PrivateKiB(pid));
    std::this_thread::sleep_until(start + std::chrono::seconds(s + 1));
  }
  const Traffic traffic = Count(probe, [](const BusMessage&) { return true; });
  const double wall = MillisSince(start) / 1000.0;
  const double cpu = CpuSeconds(pid) - cpu_start, engine = engine_cpu() - engine_start;
  const size_t lines =
      probe.All([](const BusMessage& m) { return m.topic.ends_with("/i.spawnable/signal/log"); })
          .size();
  const size_t heartbeats = probe
                                .All([](const BusMessage& m) {
                                  return m.topic.find("/signal/heartbeat/") != std::string::npos;
                                })
                                .size();

  const long max_rss = *std::max_element(rss.begin(), rss.end());
  const long max_private = *std::max_element(priv.begin(), priv.end());
  const double per_minute = 60.0 / wall;
  const double first = Average(rss, 0, 10), last = Average(rss, rss.size() - 10, 10);
  std::printf("footprint of spawnd supervising %d services for %.0f s\n", services, wall);
  std::printf("flowing: %zu log lines and %zu service heartbeats published in the window\n", lines,
              heartbeats);
  std::printf("published: %.0f messages and %.1f KiB a minute (%.0f service heartbeats a minute)\n",
              traffic.messages * per_minute, traffic.bytes * per_minute / 1024.0,
              traffic.service_heartbeats * per_minute);
  std::printf(
      "private memory: %.1f MiB with no services, start %.1f MiB, end %.1f MiB, max %.1f MiB\n",
      idle_private / 1024.0, priv.front() / 1024.0, priv.back() / 1024.0, max_private / 1024.0);
  const long end_file = StatusKiB(pid, "RssFile");
  std::printf("RSS with no services: %.1f MiB (%.1f MiB of it shared library pages)\n",
              idle_rss / 1024.0, idle_file / 1024.0);
  std::printf(
      "RSS: start %.1f MiB, end %.1f MiB (%.1f MiB of it shared library pages), max %.1f MiB\n",
      rss.front() / 1024.0, rss.back() / 1024.0, end_file / 1024.0, max_rss / 1024.0);
  std::printf("RSS per service: %.0f KiB\n", (max_rss - idle_rss) / static_cast<double>(services));
  std::printf("RSS growth: first 10 s avg %.1f MiB, last 10 s avg %.1f MiB (%+.1f%%)\n",
              first / 1024, last / 1024, 100.0 * (last - first) / first);
  std::printf("CPU: spawnd %.2f s = %.2f%% of one core; dockerd+containerd %.2f s = %.2f%%\n", cpu,
              100.0 * cpu / wall, engine, 100.0 * engine / wall);

  Traffic swung, others;
  if (swing) {
    // One more service whose CPU use swings: 10 s busy, 10 s idle.
    ServiceConfig c = Busybox("swing");
    c.run = {"sh", "-c",
             "while true; do end=$(($(date +%s)+10)); while [ $(date +%s) -lt $end ]; do :; "
             "done; sleep 10; done"};
    c.mem_alloc_bytes = 8 * kMiB;
    c.cpu_shares = 8;
    if (!DeployOverBus(probe, spawnd.path(), c, "d-swing")) return 1;
    probe.WaitFor(
        ServiceIn(topics::ServiceHeartbeat(spawnd.path(), "swing"), proto::ServiceState::kRunning),
        std::chrono::seconds(120));
    std::this_thread::sleep_for(std::chrono::seconds(5));
    probe.Clear();
    const auto swing_start = Clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    const double swing_minutes = MillisSince(swing_start) / 60000.0;
    const std::string swing_topic = topics::ServiceHeartbeat(spawnd.path(), "swing");
    swung = Count(probe, [&](const BusMessage& m) { return m.topic == swing_topic; });
    others = Count(probe, [&](const BusMessage& m) {
      return m.topic != swing_topic && m.topic.find("/signal/heartbeat/") != std::string::npos;
    });
    std::printf(
        "swing: the swinging service's heartbeats %.1f a minute; the other %d services' %.1f a "
        "minute\n",
        swung.messages / swing_minutes, services, others.messages / swing_minutes);
  }

  std::vector<long> cycle_private;
  if (cycles > 0) {
    std::printf("%d deploy/stop cycles...\n", cycles);
    std::fflush(stdout);
    cycle_private.push_back(PrivateKiB(pid));
    for (int i = 0; i < cycles; ++i) {
      const std::string name = "c" + std::to_string(i);
      ServiceConfig c = Busybox(name);
      c.run = {"sh", "-c", "echo started; while true; do sleep 3600; done"};
      c.mem_alloc_bytes = 8 * kMiB;
      c.cpu_shares = 8;
      if (!DeployOverBus(probe, spawnd.path(), c, "dc" + std::to_string(i))) return 1;
      const std::string hb = topics::ServiceHeartbeat(spawnd.path(), name);
      if (!probe.WaitFor(ServiceIn(hb, proto::ServiceState::kRunning), std::chrono::seconds(60)))
        return 1;
      probe.Publish(topics::StopSlot(spawnd.path()),
                    proto::Encode(proto::ServiceCommand{"sc" + std::to_string(i), name, true}));
      if (!probe.WaitFor(ServiceIn(hb, proto::ServiceState::kZombie), std::chrono::seconds(60)))
        return 1;
      probe.Clear();
      if ((i + 1) % std::max(1, cycles / 10) == 0) {
        cycle_private.push_back(PrivateKiB(pid));
        std::printf("  after %d cycles: private %.1f MiB, RSS %.1f MiB\n", i + 1,
                    cycle_private.back() / 1024.0, RssKiB(pid) / 1024.0);
        std::fflush(stdout);
      }
    }
    std::this_thread::sleep_for(std::chrono::seconds(15));  // zombies purged, memory trimmed
    cycle_private.push_back(PrivateKiB(pid));
    std::printf("after %d cycles and their zombies' purge: private %.1f MiB (%+.1f MiB)\n", cycles,
                cycle_private.back() / 1024.0,
                (cycle_private.back() - cycle_private.front()) / 1024.0);
  }

  std::printf(
      "footprint: %.0f messages and %.1f KiB a minute (target <= 30 and 20 KiB, idle), private "
      "memory max %.1f MiB (target <= 5), RSS max %.1f MiB, CPU %.2f%% of a core (target < "
      "0.5%%), growth %+.1f%%, spawnd/engine CPU ratio %.2f\n",
      traffic.messages * per_minute, traffic.bytes * per_minute / 1024.0, max_private / 1024.0,
      max_rss / 1024.0, 100.0 * cpu / wall, 100.0 * (last - first) / first,
      engine > 0 ? cpu / engine : 0.0);
  return 0;
}
