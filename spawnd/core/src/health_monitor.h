// HealthMonitor: what the supervisor knows of its running services' health (deploy.yml's
// healthCheck). For an `http` check it probes the service itself through the HttpProber every
// `interval`, each probe bounded by `timeout`; for a `cmd` check the engine runs the command and
// the supervisor passes its health_status events on (OnEngineHealth). Failures within
// `startPeriod` of the start do not count; `retries` failures in a row make the service
// unhealthy, one success healthy again.
//
// Threading: loop thread only; probe results are Posted back to the loop and dropped when the
// service was forgotten (or watched anew) meanwhile, or the monitor is gone. Time comes from the
// EventLoop, so tests drive it with ManualEventLoop and FakeHttpProber. `on_change` is called when
// a watched service's health changes (to healthy or unhealthy, or back to starting), not when only
// the output does, and not by Watch (whose caller knows).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "spawn/common/config.h"
#include "spawn/common/event_loop.h"
#include "spawn/engine/http_prober.h"

namespace spawn {

inline constexpr const char* kHealthStarting = "starting";
inline constexpr const char* kHealthHealthy = "healthy";
inline constexpr const char* kHealthUnhealthy = "unhealthy";

class HealthMonitor {
 public:
  using OnChange = std::function<void(const std::string& name)>;

  // `prober` may be null: http checks then stay "starting" (and say why in their output).
  HealthMonitor(EventLoop& loop, HttpProber* prober, OnChange on_change);
  ~HealthMonitor();
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // The service's container just started: its health is "starting". `address` is the host an
  // http check probes (127.0.0.1 with host networking, else the container's address).
  void Watch(const std::string& name, const HealthCheck& check, const std::string& address);
  // The address of an http check, once the caller has learnt it (probes before go nowhere).
  void SetAddress(const std::string& name, const std::string& address);
  // The container stopped (or the service is gone): no more probes, no health.
  void Forget(const std::string& name);
  // An engine-run check reported `status` ("healthy", "unhealthy", "starting"), with the output
  // of its last failing run when known. Ignored for services not watched.
  void OnEngineHealth(const std::string& name, const std::string& status,
                      const std::string& output);

  // "" for a service not watched.
  std::string Health(const std::string& name) const;
  std::string Output(const std::string& name) const;

 private:
  struct Watched {
    HealthCheck check;
    std::string address;
    uint64_t token = 0;
    SteadyTime started;
    int failures = 0;  // in a row, outside the start period
    std::string health;
    std::string output;
    EventLoop::TimerId timer = 0;
  };

  void ScheduleProbe(const std::string& name, Watched& w);
  void OnProbeResult(const std::string& name, uint64_t token, const HttpProbeResult& result);
  void Set(const std::string& name, Watched& w, const std::string& health);

  EventLoop& loop_;
  HttpProber* const prober_;
  OnChange on_change_;
  std::map<std::string, Watched> watched_;
  uint64_t last_token_ = 0;
  // Read by results Posted from the prober's thread, written only on the loop: false once gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace spawn
