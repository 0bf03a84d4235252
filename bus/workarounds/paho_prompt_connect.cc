#include "paho_prompt_connect.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <cerrno>
#include <cstdlib>
#include <set>

#include "paho_code.h"
#include "paho_workarounds.h"
#include "spawn/common/mutex.h"

namespace spawn {
namespace {

Mutex allowed_mu;
std::set<int> allowed_ports GUARDED_BY(allowed_mu);

int PortOf(const sockaddr* address, socklen_t length) {
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in))
    return ntohs(reinterpret_cast<const sockaddr_in*>(address)->sin_port);
  if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6))
    return ntohs(reinterpret_cast<const sockaddr_in6*>(address)->sin6_port);
  return 0;
}

bool Allowed(int port) {
  MutexLock lock(allowed_mu);
  return allowed_ports.contains(port);
}

}  // namespace

int BrokerPort(const std::string& uri) {
  const auto scheme_end = uri.find("://");
  if (scheme_end == std::string::npos) return 0;
  const std::string scheme = uri.substr(0, scheme_end);
  std::string rest = uri.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('/'));
  const auto bracket = rest.rfind(']');  // [::1]:1883
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket)) {
    if (scheme == "tcp" || scheme == "mqtt") return 1883;
    if (scheme == "ssl" || scheme == "mqtts") return 8883;
    return 0;
  }
  char* end = nullptr;
  const long port = std::strtol(rest.c_str() + colon + 1, &end, 10);
  if (end == rest.c_str() + colon + 1 || *end != '\0' || port <= 0 || port > 65535) return 0;
  return static_cast<int>(port);
}

void AllowPromptConnectTo(int port) {
  if (port <= 0) return;
  MutexLock lock(allowed_mu);
  allowed_ports.insert(port);
}

int ConnectFor(const void* caller, int fd, const sockaddr* address, socklen_t length) {
  using ConnectFunction = int (*)(int, const sockaddr*, socklen_t);
  static const auto libc_connect = NextDefinition<ConnectFunction>("connect");
  if (libc_connect == nullptr) return NoNextDefinition();
  // The cheap tests first: most connects in spawnd are libcurl's, to the engine's unix socket.
  const int port = PortOf(address, length);
  const bool paho = port != 0 && PahoWorkaroundsActive() && IsPahoCode(caller);
  if (paho) {
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);  // if it fails, Nagle stays on
  }
  const int rc = libc_connect(fd, address, length);
  if (rc == 0 || errno != EINPROGRESS || !paho || !Allowed(port)) return rc;
  pollfd socket{fd, POLLOUT, 0};
  // Writable with no error or hang-up flagged: the handshake is done. Anything else, including
  // a refusal, stays Paho's to find (reading SO_ERROR here would clear it).
  if (poll(&socket, 1, static_cast<int>(kPromptConnectWait.count())) == 1 &&
      socket.revents == POLLOUT) {
    return 0;
  }
  errno = EINPROGRESS;
  return -1;
}

bool PahoPromptConnectInstalled() {
  return FirstDefinitionIsBeside("connect", reinterpret_cast<const void*>(&ConnectFor));
}

}  // namespace spawn

// The interposed definition: Paho's library calls connect through its PLT, which binds to the
// first definition in lookup order, the executable's.
extern "C" __attribute__((visibility("default"))) int connect(int fd, const sockaddr* address,
                                                              socklen_t length) {
  return spawn::ConnectFor(__builtin_return_address(0), fd, address, length);
}
