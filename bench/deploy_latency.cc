// Benchmark 1: deploy latency. From launching `spawnctl deploy --no-follow` (it returns once the
// service runs) to its return, against launching `docker run -d` of the same image with the same
// limits (memory, CPU shares, host network) to its return. Both are a CLI process and a round trip
// to a daemon; the image is already built (warm-up rounds build spawnd's service image once). The
// two are interleaved, alternating which goes first, so the machine's noise hits both alike.
// Prints each side's figures and, last, the ratio of the medians (target: at most 1.1).
// With --new-names the service has a build step and every round deploys it under a new name: its
// content-addressed image is shared, so no round builds (target: at most 1.05 against the engine's
// create and start, which `docker run -d` is).
#include <cstdio>
#include <iostream>

#include "bench_util.h"
#include "harness.h"
#include "spawn/proto/topics.h"

using namespace spawn;
using namespace spawn::testing;
using namespace spawn::bench;

namespace {

constexpr const char* kUsage =
    "usage: bench_deploy_latency [--iterations N] [--warmup N] [--new-names]\n"
    "Runs a spawnd of its own on the broker at 127.0.0.1:1883 and the engine at\n"
    "/var/run/docker.sock, and times `spawnctl deploy --no-follow` against `docker run -d`\n"
    "(same image, memory, CPU shares, host network), interleaved. --new-names: the\n"
    "service has a build step and each round deploys it under a new name (one shared image).\n";

constexpr const char* kRun = "while true; do sleep 1; done";

bool Running(const std::string& container) {
  return Docker("inspect -f '{{.State.Running}}' " + container + " 2>/dev/null").out == "true\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (WantsHelp(argc, argv, kUsage)) return 0;
  const int iterations = IntFlag(argc, argv, "--iterations", 20);
  const int warmup = IntFlag(argc, argv, "--warmup", 2);
  bool new_names = false;
  for (int i = 1; i < argc; ++i) new_names |= std::string(argv[i]) == "--new-names";

  SpawndOptions options;
  options.mem_alloc = "4G";
  options.cpu_shares = 8192;
  options.heartbeat_interval = "5s";
  options.zombie_period = "1s";
  SpawndProcess spawnd(options);
  Probe probe;
  if (!spawnd.StartAndWaitOnline(probe)) return 1;
  TempDir home("bench-home"), project("bench-project");
  const auto yml = project.Write(
      "deploy.yml", std::string("image: ") + SPAWN_TEST_IMAGE +
                        "\nuseHostNet: true\nmemAlloc: 32M\ncpuShares: 128\nstopTimeout: 1s\n" +
                        (new_names ? "build: [echo one recipe > /recipe]\n" : "") +
                        "run: [sh, -c, '" + kRun + "']\n");
  const std::string docker_args = std::string("--network host --memory 32m --cpu-shares 128 ") +
                                  SPAWN_TEST_IMAGE + " sh -c '" + kRun + "'";

  std::vector<double> spawnpoint_ms, docker_ms;
  int failures = 0;
  for (int i = 0; i < warmup + iterations; ++i) {
    const bool measured = i >= warmup;
    // The image is content-addressed: one name throughout, or (--new-names) a new one each round
    // with the same build inputs, reuses it.
    const std::string name = new_names ? "bench-" + std::to_string(i) : "bench";
    const std::string heartbeat = topics::ServiceHeartbeat(spawnd.path(), name);
    auto deploy_with_spawnctl = [&] {
      const auto start = Clock::now();
      CliRun run = RunSpawnctl(
          {"deploy", "-u", spawnd.path(), "-c", yml.string(), "-n", name, "--no-follow"},
          home.str());
      const double ms = MillisSince(start);
      const std::string container =
          Docker("ps -q --filter label=io.spawnpoint.path=" + spawnd.path() +
                 " --filter label=io.spawnpoint.service=" + name)
              .out;
      if (run.exit_code != 0 || container.empty() || !Running(container.substr(0, 12))) {
        std::cerr << "spawnctl deploy failed: " << run.out << run.err << "\n";
        ++failures;
      } else if (measured) {
        spawnpoint_ms.push_back(ms);
      }
    };
    auto run_with_docker = [&] {
      const std::string container = "spawnpoint-bench-" + std::to_string(getpid()) + "-" + name;
      const auto start = Clock::now();
      ShellRun run = Docker("run -d --name " + container + " " + docker_args + " >/dev/null");
      const double ms = MillisSince(start);
      if (run.exit_code != 0 || !Running(container)) {
        std::cerr << "docker run failed\n";
        ++failures;
      } else if (measured) {
        docker_ms.push_back(ms);
      }
      Docker("rm -f " + container + " >/dev/null");
    };
    if (i % 2 == 0) {
      deploy_with_spawnctl();
      run_with_docker();
    } else {
      run_with_docker();
      deploy_with_spawnctl();
    }
    // Untimed: the service goes away (stop, then purged after the 1 s zombie period).
    probe.Subscribe(heartbeat);
    probe.Clear();
    RunSpawnctl({"stop", "-u", spawnd.path(), "-n", name, "--no-follow"}, home.str());
    if (!probe.WaitFor(TopicIs(heartbeat, ""), std::chrono::seconds(60))) {
      std::cerr << "the service was not purged after its stop\n";
      return 1;
    }
  }

  std::printf("deploy latency, %d iterations after %d warm-up, image present%s\n", iterations,
              warmup, new_names ? ", a new name each round (one shared built image)" : "");
  const Summary spawnpoint = Summarize(spawnpoint_ms), docker = Summarize(docker_ms);
  PrintSummary("spawnctl deploy --no-follow", spawnpoint);
  PrintSummary("docker run -d (same limits)", docker);
  if (failures) std::printf("failures: %d\n", failures);
  if (docker.median <= 0) return 1;
  std::printf("ratio deploy/docker-run median %.2f (target <= %s)\n",
              spawnpoint.median / docker.median, new_names ? "1.05" : "1.1");
  return failures ? 1 : 0;
}
