// Benchmark 3: scan. 1,000 spawnpoints under one base, each a real retained spawnpoint heartbeat,
// presence and one service heartbeat, published by a few lightweight publishers. Timed: the
// `spawnctl scan <base>` command (it must report all 1,000) against `mosquitto_sub` reading the
// same retained topics (it must count every one), both from process launch to exit, interleaved.
// Prints the figures and, last, the ratio of the medians (target: at most 1.5).
#include <cstdio>
#include <iostream>
#include <regex>

#include "bench_util.h"
#include "harness.h"
#include "spawn/common/event_loop.h"
#include "spawn/common/units.h"
#include "spawn/proto/messages.h"
#include "spawn/proto/topics.h"

using namespace spawn;
using namespace spawn::testing;
using namespace spawn::bench;

namespace {

constexpr const char* kUsage =
    "usage: bench_scan [--spawnpoints N] [--iterations N]\n"
    "Publishes N spawnpoints' retained heartbeats under a base of its own on the broker at\n"
    "127.0.0.1:1883, times `spawnctl scan BASE` against `mosquitto_sub` reading the same\n"
    "retained messages, and clears them at the end.\n";

constexpr int kPublishers = 4;

}  // namespace

int main(int argc, char** argv) {
  if (WantsHelp(argc, argv, kUsage)) return 0;
  const int spawnpoints = IntFlag(argc, argv, "--spawnpoints", 1000);
  const int iterations = IntFlag(argc, argv, "--iterations", 15);
  const std::string base = "bench/" + UniqueName("scan");

  // A few connections publish on behalf of all spawnpoints, as retained messages.
  std::vector<std::unique_ptr<Probe>> publishers;
  for (int i = 0; i < kPublishers; ++i) publishers.push_back(std::make_unique<Probe>());
  int retained = 0;
  for (int i = 0; i < spawnpoints; ++i) {
    const std::string path = base + "/sp" + std::to_string(i);
    Probe& publisher = *publishers[i % kPublishers];
    proto::SpawnpointHeartbeat hb;
    hb.alias = "sp" + std::to_string(i);
    hb.time_unix_ns = WallNanos();
    hb.version = "bench";
    hb.total_mem_mib = hb.available_mem_mib = 4096;
    hb.total_cpu_shares = hb.available_cpu_shares = 4096;
    hb.services = {"svc"};
    hb.heartbeat_interval_ms = 5000;
    proto::ServiceHeartbeat service;
    service.spawnpoint_uri = path;
    service.name = "svc";
    service.time_unix_ns = hb.time_unix_ns;
    service.state = proto::ServiceState::kRunning;
    service.mem_alloc_mib = 64;
    service.cpu_shares = 256;
    service.original_config = Busybox("svc");
    publisher.Publish(topics::Heartbeat(path), proto::Encode(hb), true);
    publisher.Publish(topics::Presence(path), "online", true);
    publisher.Publish(topics::ServiceHeartbeat(path, "svc"), proto::Encode(service), true);
    retained += 3;
  }
  TempDir home("bench-home");
  const std::regex discovered("Discovered ([0-9]+) SpawnPoint");
  // QoS 0, as spawnctl scan subscribes to the retained messages.
  const std::string count_command = "mosquitto_sub -h 127.0.0.1 -p 1883 -q 0 -t " +
                                    Quote(base + "/#") + " -C " + std::to_string(retained) +
                                    " -W 60 -F %t | wc -l";

  std::vector<double> scan_ms, sub_ms;
  int failures = 0;
  auto scan = [&](bool measured) {
    const auto start = Clock::now();
    CliRun run = RunSpawnctl({"scan", base}, home.str());
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

  // Leave nothing retained behind.
  for (int i = 0; i < spawnpoints; ++i) {
    const std::string path = base + "/sp" + std::to_string(i);
    Probe& publisher = *publishers[i % kPublishers];
    publisher.Publish(topics::Heartbeat(path), "", true);
    publisher.Publish(topics::Presence(path), "", true);
    publisher.Publish(topics::ServiceHeartbeat(path, "svc"), "", true);
  }

  std::printf("scan of %d spawnpoints (%d retained messages), %d iterations after 2 warm-up\n",
              spawnpoints, retained, iterations);
  const Summary spawnctl = Summarize(scan_ms), sub = Summarize(sub_ms);
  PrintSummary("spawnctl scan", spawnctl);
  PrintSummary("mosquitto_sub (same retained set)", sub);
  if (failures) std::printf("failures: %d\n", failures);
  if (sub.median <= 0) return 1;
  std::printf("ratio scan/mosquitto_sub median %.2f (target <= 1.5)\n",
              spawnctl.median / sub.median);
  return failures ? 1 : 0;
}
