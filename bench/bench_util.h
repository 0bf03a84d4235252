// Small helpers shared by the benchmarks: wall-clock timing, summary statistics, command-line
// flags, and reading a process's memory and CPU time from /proc. Header-only; no I/O besides /proc.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace spawn::bench {

using Clock = std::chrono::steady_clock;

inline double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Nanoseconds since the epoch on the wall clock: comparable with the engine's event timestamps.
inline int64_t WallNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Summary {
  size_t n = 0;
  double median = 0, p90 = 0, min = 0, max = 0;
};

inline Summary Summarize(std::vector<double> samples) {
  Summary s;
  s.n = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) { return samples[static_cast<size_t>(q * (samples.size() - 1) + 0.5)]; };
  s.median = at(0.5);
  s.p90 = at(0.9);
  s.min = samples.front();
  s.max = samples.back();
  return s;
}

// "label: median 12.3 ms, p90 15.0 ms, min 10.1, max 20.4 (n=20)"
inline void PrintSummary(const std::string& label, const Summary& s, const char* unit = "ms") {
  std::printf("%-34s median %8.2f %s, p90 %8.2f %s, min %8.2f, max %8.2f (n=%zu)\n",
              (label + ":").c_str(), s.median, unit, s.p90, unit, s.min, s.max, s.n);
}

// The value of `--name N` (or `--name=N`), else `fallback`.
inline int IntFlag(int argc, char** argv, const std::string& name, int fallback) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == name && i + 1 < argc) return std::atoi(argv[i + 1]);
    if (arg.rfind(name + "=", 0) == 0) return std::atoi(arg.c_str() + name.size() + 1);
  }
  return fallback;
}

// Prints `usage` and returns true when -h/--help is among the arguments.
inline bool WantsHelp(int argc, char** argv, const std::string& usage) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
      std::cout << usage;
      return true;
    }
  }
  return false;
}

// Resident memory of `pid` in KiB (VmRSS), or -1.
// A field of /proc/PID/status in KiB (VmRSS, RssAnon, RssFile, ...), or -1.
inline long StatusKiB(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  const std::string prefix = field + ":";
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(prefix, 0) == 0) return std::stol(line.substr(prefix.size()));
  }
  return -1;
}

inline long RssKiB(pid_t pid) { return StatusKiB(pid, "VmRSS"); }

// Private memory of `pid` in KiB: Private_Clean + Private_Dirty of /proc/PID/smaps_rollup (pages
// no other process maps; unlike RSS it leaves out shared libraries' shared pages), or -1.
inline long PrivateKiB(pid_t pid) {
  std::ifstream rollup("/proc/" + std::to_string(pid) + "/smaps_rollup");
  long total = -1;
  for (std::string line; std::getline(rollup, line);) {
    for (const char* field : {"Private_Clean:", "Private_Dirty:"}) {
      if (line.rfind(field, 0) == 0) total = std::max(total, 0L) + std::stol(line.substr(14));
    }
  }
  return total;
}

// CPU time (user + system) `pid` has used, in seconds, or -1.
inline double CpuSeconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  const size_t close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The pid of the oldest process whose command line starts with `name`, or 0.
inline pid_t PidOf(const std::string& name) {
  FILE* pipe = popen(("pgrep -o -x " + name).c_str(), "r");
  if (!pipe) return 0;
  int pid = 0;
  if (std::fscanf(pipe, "%d", &pid) != 1) pid = 0;
  pclose(pipe);
  return pid;
}

}  // namespace spawn::bench
