// spawnpoint-demo: a small service on the spawnable library, deployed by examples/demo/deploy.yml.
//
// Reads params.yml (greeting, interval, maxInterval, metadata), publishes its metadata (retained,
// <service topic>/!meta/<key>), then every `interval` publishes a counter as JSON on
// <service topic>/i.demo/signal/count and logs one line per tick to stdout (spawnd forwards it to
// the service's log topic). A message on <service topic>/i.demo/slot/reset sets the counter back to
// zero and ticks at once. When the broker refuses a publish, ticks back off (doubling, capped at
// maxInterval) instead of hammering it. SIGTERM or SIGINT end it cleanly: the tick in progress
// finishes, the connection is closed, exit status 0.
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <atomic>
#include <cstdint>
#include <iostream>
#include <thread>

#include "spawn/common/event_loop.h"
#include "spawn/common/units.h"
#include "spawn/spawnable/params.h"
#include "spawn/spawnable/poller.h"
#include "spawn/spawnable/service.h"

namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  // Block the stop signals in every thread (Paho's included); one thread takes them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const spawn::Params params =
      argc > 1 ? spawn::GetParamsFileOrExit(argv[1]) : spawn::GetParamsOrExit();
  const std::string greeting = params.MustString("greeting");
  const spawn::Duration interval = params.Must<spawn::Duration>("interval");
  auto max_interval = params.Get<spawn::Duration>("maxInterval", 1min);
  auto extra_metadata = params.Get("metadata", std::map<std::string, std::string>{});
  for (const spawn::Status& s : {max_interval.status(), extra_metadata.status()}) {
    if (!s.ok()) {
      std::cerr << s.message() << std::endl;
      return 1;
    }
  }

  auto connected = spawn::Service::ConnectFromEnvironment();
  if (!connected.ok()) {
    std::cerr << "spawnpoint-demo: " << connected.status().message() << std::endl;
    return 1;
  }
  spawn::Service& service = **connected;
  const auto& env = service.environment();
  std::cout << "spawnpoint-demo: " << env.ServiceName() << " on spawnpoint " << env.alias
            << ", broker " << env.broker << ", every " << spawn::FormatDuration(interval)
            << std::endl;

  spawn::Status meta = service.PublishMetadata(
      spawn::MergeMetadata({{"description", "spawnpoint demo: counts and says " + greeting},
                            {"interval", spawn::FormatDuration(interval)},
                            {"signal", spawn::SignalTopic(env.service_topic, "demo", "count")}},
                           *extra_metadata));
  if (!meta.ok()) std::cout << "metadata not published: " << meta.message() << std::endl;

  std::atomic<int64_t> count{0};
  std::atomic<bool> reset_count{false};
  spawn::BackoffPoller ticker({.initial = interval, .max = *max_interval}, [&] {
    if (reset_count.exchange(false)) count = 0;
    const int64_t n = ++count;
    const std::string payload =
        "{\"count\":" + std::to_string(n) + ",\"greeting\":" + JsonString(greeting) +
        ",\"time\":" + std::to_string(spawn::ToUnixNanos(std::chrono::system_clock::now())) + "}";
    spawn::Status s = service.PublishSignal("demo", "count", payload);
    std::cout << "tick " << n << ": " << greeting
              << (s.ok() ? std::string() : " (not published: " + s.message() + ")") << std::endl;
    return s.ok();
  });

  spawn::Status sub = service.SubscribeSlot("demo", "reset", [&](const spawn::BusMessage&) {
    reset_count = true;  // runs on the transport's thread: only hand off
    ticker.Reset();
  });
  if (!sub.ok()) std::cout << "reset slot not available: " << sub.message() << std::endl;

  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::cout << "spawnpoint-demo: " << strsignal(sig) << ", stopping" << std::endl;
    ticker.Stop();
  });
  signals.detach();  // it ends with the process once a signal came or main returned

  ticker.Run();
  std::cout << "spawnpoint-demo: stopped after " << count.load() << " ticks" << std::endl;
  return service.Close().ok() ? 0 : 1;
}
