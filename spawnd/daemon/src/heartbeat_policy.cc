#include "spawn/daemon/heartbeat_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace spawn {

bool HeartbeatPolicy::Changed(const Last& was, const ServiceSnapshot& now) {
  return was.state != now.state || was.container_id != now.container_id ||
         was.restarts != now.restarts || was.exit_code != now.exit_code ||
         was.backoff != now.backoff || was.health != now.health ||
         was.mem_alloc_bytes != now.config.mem_alloc_bytes ||
         was.cpu_shares != now.config.cpu_shares;
}

bool HeartbeatPolicy::MemoryMoved(int64_t was, int64_t now) const {
  // No sample yet (0) and a first one, or the reverse (a container gone), is news however small.
  if ((was == 0) != (now == 0)) return true;
  const int64_t band = std::max(deadband_.mem_bytes, was / 100 * deadband_.mem_percent);
  return std::llabs(now - was) > band;
}

bool HeartbeatPolicy::Sampled(const ServiceSnapshot& service) {
  auto it = last_.find(service.name);
  if (it == last_.end()) return true;
  Last& last = it->second;
  if (Changed(last, service)) return true;
  if (MemoryMoved(last.memory_usage_bytes, service.usage.memory_usage_bytes)) return true;
  if (std::fabs(service.usage.cpu_percent - last.cpu_percent) >
      static_cast<double>(deadband_.cpu_points)) {
    if (++last.cpu_samples_outside >= deadband_.cpu_samples) return true;
  } else {
    last.cpu_samples_outside = 0;
  }
  return false;
}

void HeartbeatPolicy::Published(const ServiceSnapshot& service) {
  Last& last = last_[service.name];
  last.state = service.state;
  last.container_id = service.container_id;
  last.restarts = service.restarts;
  last.exit_code = service.exit_code;
  last.backoff = service.backoff;
  last.health = service.health;
  last.mem_alloc_bytes = service.config.mem_alloc_bytes;
  last.cpu_shares = service.config.cpu_shares;
  last.memory_usage_bytes = service.usage.memory_usage_bytes;
  last.cpu_percent = service.usage.cpu_percent;
  last.cpu_samples_outside = 0;
}

}  // namespace spawn
