// Benchmark 4: footprint. spawnd supervising 100 running services (busybox, a line of output every
// second each, heartbeats every 5 s with stats) for 60 s: its resident memory and CPU time, sampled
// every second from /proc. Beside it, for scale, the CPU time the Docker engine (dockerd and
// containerd) spent over the same window. Prints RSS at the start, end and maximum, CPU as a
// percentage of one core, RSS growth (first ten samples against the last ten), and, last, the
// headline figures against the targets (under 15 MiB, under 1% of a core, not growing).
#include <cstdio>
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
    "usage: bench_footprint [--services N] [--seconds S]\n"
    "Starts a spawnd of its own on the broker at 127.0.0.1:1883 and the engine at\n"
    "/var/run/docker.sock, deploys N services (default 100), then samples spawnd's memory and\n"
    "CPU time every second for S seconds (default 60). The services are removed at the end.\n";

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

  SpawndOptions options;
  options.mem_alloc = std::to_string(services * 8 + 64) + "M";
  options.cpu_shares = services * 8 + 64;
  options.heartbeat_interval = "5s";  // the default
  SpawndProcess spawnd(options);
  Probe probe;
  if (!spawnd.StartAndWaitOnline(probe)) return 1;
  probe.Subscribe(topics::Root(spawnd.path()) + "/#");
  // The floor: spawnd online with nothing to supervise is mostly its libraries' pages (libcurl
  // and what Debian's build of it links, Paho, OpenSSL, libstdc++).
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long idle_rss = RssKiB(spawnd.pid()), idle_file = StatusKiB(spawnd.pid(), "RssFile");

  std::printf("deploying %d services...\n", services);
  std::fflush(stdout);
  for (int i = 0; i < services; ++i) {
    ServiceConfig c = Busybox("s" + std::to_string(i));
    c.run = {"sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done"};
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
  std::vector<long> rss;
  const double cpu_start = CpuSeconds(pid), engine_start = engine_cpu();
  const auto start = Clock::now();
  for (int s = 0; s < seconds; ++s) {
    rss.push_back(RssKiB(pid));
    std::this_thread::sleep_until(start + std::chrono::seconds(s + 1));
  }
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
  const double first = Average(rss, 0, 10), last = Average(rss, rss.size() - 10, 10);
  std::printf("footprint of spawnd supervising %d services for %.0f s\n", services, wall);
  std::printf("flowing: %zu log lines and %zu service heartbeats published in the window\n", lines,
              heartbeats);
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
  std::printf(
      "footprint RSS max %.1f MiB (target < 15), CPU %.2f%% of a core (target < 1%%), "
      "growth %+.1f%%, spawnd/engine CPU ratio %.2f\n",
      max_rss / 1024.0, 100.0 * cpu / wall, 100.0 * (last - first) / first,
      engine > 0 ? cpu / engine : 0.0);
  return 0;
}
