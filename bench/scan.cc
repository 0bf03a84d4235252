// Benchmark 3: scan. N spawnpoints (1,000 by default; 10,000 with --spawnpoints 10000) under one
// base, each a real retained spawnpoint heartbeat and M service heartbeats (--services, 1 by
// default), published by a simulator process (this program, run again with --simulate) to a
// Mosquitto of the benchmark's own, configured to hold and send that many. Timed: the
// `spawnctl scan <base>` command (it must report all N) against `mosquitto_sub` reading the same
// retained topics (it must count every one), both from process launch to exit, interleaved; the
// peak memory (maximum RSS) of each; and `spawnctl scan <base>/sp<k>` of a single spawnpoint among
// them, whose subscription covers only that one. Prints the figures and, last, the ratio of the
// medians (target: at most 1.5).
#include <cstdio>
#include <iostream>
#include <regex>

#include "bench_util.h"
#include "harness.h"
#include "spawn/bus/paho_bus.h"
#include "spawn/common/event_loop.h"
#include "spawn/common/units.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

using namespace spawn;
using namespace spawn::testing;
using namespace spawn::bench;

namespace {

constexpr const char* kUsage =
    "usage: bench_scan [--spawnpoints N] [--services M] [--iterations N]\n"
    "Starts a Mosquitto of its own on a loopback port, has a simulator process publish N\n"
    "spawnpoints' retained heartbeats (a spawnpoint heartbeat and M service heartbeats each)\n"
    "under a base, times `spawnctl scan BASE` against `mosquitto_sub` reading the same retained\n"
    "messages, reports both's peak memory, and times `spawnctl scan BASE/sp<k>` of one.\n";

// The simulator: publishes the retained heartbeats of `spawnpoints` spawnpoints with `services`
// services each under `base`, in batches, and exits 0 once the broker acknowledged them all.
int Simulate(const std::string& uri, const std::string& base, int spawnpoints, int services) {
  BusOptions options;
  options.uri = uri;
  auto bus = MakePahoBus(options);
  if (!bus->Connect().ok()) return 1;
  std::vector<BusMessage> batch;
  int failed = 0;
  auto flush = [&] {
    for (const Status& st : bus->PublishBatch(batch)) failed += st.ok() ? 0 : 1;
    batch.clear();
  };
  for (int i = 0; i < spawnpoints; ++i) {
    const std::string path = base + "/sp" + std::to_string(i);
    proto::SpawnpointHeartbeat hb;
    hb.alias = "sp" + std::to_string(i);
    hb.time_unix_ns = WallNanos();
    hb.version = "bench";
    hb.total_mem_mib = hb.available_mem_mib = 4096;
    hb.total_cpu_shares = hb.available_cpu_shares = 4096;
    hb.heartbeat_interval_ms = 5000;
    hb.heartbeat_policy = proto::kReportByException;
    for (int k = 0; k < services; ++k) hb.services.push_back("svc" + std::to_string(k));
    batch.push_back({topics::Heartbeat(path), proto::Encode(hb), 1, true});
    for (int k = 0; k < services; ++k) {
      proto::ServiceHeartbeat service;
      service.spawnpoint_uri = path;
      service.name = "svc" + std::to_string(k);
      service.time_unix_ns = hb.time_unix_ns;
      service.state = proto::ServiceState::kRunning;
      service.mem_alloc_mib = 64;
      service.cpu_shares = 256;
      service.original_config = Busybox(service.name);
      batch.push_back(
          {topics::ServiceHeartbeat(path, service.name), proto::Encode(service), 1, true});
    }
    if (batch.size() >= 60) flush();
  }
  flush();
  bus->Disconnect().IgnoreError();
  if (failed) std::cerr << "simulator: " << failed << " publishes failed\n";
  return failed ? 1 : 0;
}

// `command`'s maximum resident set size in KiB (GNU time's %M), or -1.
long PeakKiB(const std::string& command) {
  ShellRun run = Shell("/usr/bin/time -f 'peak=%M' " + command + " 2>&1 >/dev/null | tail -1");
  const size_t at = run.out.find("peak=");
  return at == std::string::npos ? -1 : std::atol(run.out.c_str() + at + 5);
}

}  // namespace

int main(int argc, char** argv) {
  if (WantsHelp(argc, argv, kUsage)) return 0;
  const int spawnpoints = IntFlag(argc, argv, "--spawnpoints", 1000);
  const int services = IntFlag(argc, argv, "--services", 1);
  const int iterations = IntFlag(argc, argv, "--iterations", 15);
  if (argc == 6 && std::string(argv[1]) == "--simulate")
    return Simulate(argv[2], argv[3], std::atoi(argv[4]), std::atoi(argv[5]));
  const std::string base = "bench/" + UniqueName("scan");

  // The benchmark's own broker, made to hold and send every retained message at once (by default
  // Mosquitto queues at most 1,000 for a client: the rest of a scan would be dropped).
  PrivateBroker broker(PrivateBrokerPort(27830), 0,
                       "max_queued_messages 0\nmax_queued_bytes 0\nmax_inflight_messages 0\n");
  if (!broker.Start()) {
    std::cerr << "the benchmark's broker did not start:\n" << broker.Log();
    return 1;
  }
  const std::string port = broker.uri().substr(broker.uri().rfind(':') + 1);
  const auto publish_start = Clock::now();
  ShellRun simulated =
      Shell(Quote(argv[0]) + " --simulate " + Quote(broker.uri()) + " " + Quote(base) + " " +
            std::to_string(spawnpoints) + " " + std::to_string(services));
  if (simulated.exit_code != 0) {
    std::cerr << "the simulator failed\n";
    return 1;
  }
  const int retained = spawnpoints * (1 + services);
  std::printf("simulator: %d retained messages published in %.1f s\n", retained,
              MillisSince(publish_start) / 1000);

  TempDir home("bench-home");
  const std::regex discovered("Discovered ([0-9]+) SpawnPoint");
  // QoS 0, as spawnctl scan subscribes to the retained messages.
  const std::string sub_command = "mosquitto_sub -h 127.0.0.1 -p " + port + " -q 0 -t " +
                                  Quote(base + "/#") + " -C " + std::to_string(retained) +
                                  " -W 120 -F %t";
  const std::string count_command = sub_command + " | wc -l";
  const std::string spawnctl_command =
      "env HOME=" + Quote(home.str()) + " SPAWNPOINT_BROKER=" + Quote(broker.uri()) + " " +
      Quote(SPAWN_BINARY_DIR "/spawnctl/spawnctl") + " --timeout 120s scan " + Quote(base);

  std::vector<double> scan_ms, sub_ms;
  int failures = 0;
  auto scan = [&](bool measured) {
    const auto start = Clock::now();
    CliRun run = RunSpawnctl({"--timeout", "120s", "scan", base}, home.str(), broker.uri());
    const double ms = MillisSince(start);
    std::smatch m;
    if (run.exit_code != 0 || !std::regex_search(run.out, m, discovered) ||
        std::stoi(m[1]) != spawnpoints) {
      std::cerr << "scan did not report all " << spawnpoints << ": " << run.err
                << run.out.substr(0, 200) << "\n";
      ++failures;
    } else if (measured) {
      scan_ms.push_back(ms);
    }
  };
  auto subscribe = [&](bool measured) {
    const auto start = Clock::now();
    ShellRun run = Shell(count_command);
    const double ms = MillisSince(start);
    if (run.exit_code != 0 || std::atoi(run.out.c_str()) != retained) {
      std::cerr << "mosquitto_sub read " << run.out << " of " << retained << "\n";
      ++failures;
    } else if (measured) {
      sub_ms.push_back(ms);
    }
  };
  for (int i = -2; i < iterations; ++i) {  // two warm-up rounds
    if (i % 2 == 0) {
      scan(i >= 0);
      subscribe(i >= 0);
    } else {
      subscribe(i >= 0);
      scan(i >= 0);
    }
  }

  // Peak memory, one more run of each.
  const long scan_peak = PeakKiB(spawnctl_command), sub_peak = PeakKiB(sub_command);

  // One spawnpoint among them: its scan subscribes to BASE/sp<k>/# alone, so the broker sends it
  // that spawnpoint's messages and none of the others'.
  std::vector<double> one_ms;
  const std::string one = base + "/sp" + std::to_string(spawnpoints / 2);
  for (int i = -1; i < iterations; ++i) {
    const auto start = Clock::now();
    CliRun run = RunSpawnctl({"scan", one}, home.str(), broker.uri());
    const double ms = MillisSince(start);
    if (run.exit_code != 0 || run.out.find("Discovered 1 SpawnPoint") == std::string::npos) {
      std::cerr << "scan of " << one << " failed: " << run.err << run.out.substr(0, 200) << "\n";
      ++failures;
    } else if (i >= 0) {
      one_ms.push_back(ms);
    }
  }

  std::printf("scan of %d spawnpoints (%d retained messages), %d iterations after 2 warm-up\n",
              spawnpoints, retained, iterations);
  const Summary spawnctl = Summarize(scan_ms), sub = Summarize(sub_ms);
  PrintSummary("spawnctl scan", spawnctl);
  PrintSummary("mosquitto_sub (same retained set)", sub);
  PrintSummary("spawnctl scan of one among them", Summarize(one_ms));
  std::printf("peak memory (max RSS): spawnctl scan %.1f MiB, mosquitto_sub %.1f MiB\n",
              scan_peak / 1024.0, sub_peak / 1024.0);
  if (failures) std::printf("failures: %d\n", failures);
  if (sub.median <= 0) return 1;
  std::printf("ratio scan/mosquitto_sub median %.2f (target <= 1.5)\n",
              spawnctl.median / sub.median);
  return failures ? 1 : 0;
}
