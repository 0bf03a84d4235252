#include "health_monitor.h"

namespace spawn {

HealthMonitor::HealthMonitor(EventLoop& loop, HttpProber* prober, OnChange on_change)
    : loop_(loop), prober_(prober), on_change_(std::move(on_change)) {}

HealthMonitor::~HealthMonitor() {
  *alive_ = false;
  for (auto& [name, w] : watched_) {
    if (w.timer) loop_.Cancel(w.timer);
  }
}

void HealthMonitor::Watch(const std::string& name, const HealthCheck& check,
                          const std::string& address) {
  Forget(name);
  Watched& w = watched_[name];
  w.check = check;
  w.address = address;
  w.token = ++last_token_;
  w.started = loop_.Now();
  w.health = kHealthStarting;
  if (!check.http.empty()) {
    if (prober_) {
      ScheduleProbe(name, w);
    } else {
      w.output = "this spawnd cannot probe http health checks";
    }
  }
}

void HealthMonitor::SetAddress(const std::string& name, const std::string& address) {
  auto it = watched_.find(name);
  if (it != watched_.end()) it->second.address = address;
}

void HealthMonitor::Forget(const std::string& name) {
  auto it = watched_.find(name);
  if (it == watched_.end()) return;
  if (it->second.timer) loop_.Cancel(it->second.timer);
  watched_.erase(it);
}

void HealthMonitor::OnEngineHealth(const std::string& name, const std::string& status,
                                   const std::string& output) {
  auto it = watched_.find(name);
  if (it == watched_.end() || !it->second.check.http.empty()) return;
  if (status != kHealthStarting && status != kHealthHealthy && status != kHealthUnhealthy) return;
  if (!output.empty()) it->second.output = output;
  Set(name, it->second, status);
}

std::string HealthMonitor::Health(const std::string& name) const {
  auto it = watched_.find(name);
  return it == watched_.end() ? std::string() : it->second.health;
}

std::string HealthMonitor::Output(const std::string& name) const {
  auto it = watched_.find(name);
  return it == watched_.end() ? std::string() : it->second.output;
}

void HealthMonitor::ScheduleProbe(const std::string& name, Watched& w) {
  w.timer = loop_.RunAfter(w.check.interval, [this, name, token = w.token] {
    auto it = watched_.find(name);
    if (it == watched_.end() || it->second.token != token) return;
    Watched& w = it->second;
    w.timer = 0;
    auto target = ParseHttpTarget(w.check.http);  // validated at deploy: cannot fail here
    HttpProbe probe;
    probe.host = w.address;
    probe.port = target.ok() ? target->port : 80;
    probe.path = target.ok() ? target->path : "/";
    probe.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(w.check.timeout);
    probe.expect = w.check.expect;
    EventLoop* loop = &loop_;
    std::shared_ptr<bool> alive = alive_;
    prober_->Probe(probe, [this, loop, alive, name, token](const HttpProbeResult& result) {
      loop->Post([this, alive, name, token, result] {
        if (*alive) OnProbeResult(name, token, result);
      });
    });
  });
}

void HealthMonitor::OnProbeResult(const std::string& name, uint64_t token,
                                  const HttpProbeResult& result) {
  auto it = watched_.find(name);
  if (it == watched_.end() || it->second.token != token) return;
  Watched& w = it->second;
  // The next probe is timed from this one's end, so a slow endpoint is never probed twice at once.
  ScheduleProbe(name, w);
  if (result.healthy) {
    w.failures = 0;
    Set(name, w, kHealthHealthy);
    return;
  }
  w.output = result.output;
  if (loop_.Now() - w.started < w.check.start_period) return;  // still allowed to fail
  if (++w.failures >= w.check.retries) Set(name, w, kHealthUnhealthy);
}

void HealthMonitor::Set(const std::string& name, Watched& w, const std::string& health) {
  if (w.health == health) return;
  w.health = health;
  on_change_(name);
}

}  // namespace spawn
