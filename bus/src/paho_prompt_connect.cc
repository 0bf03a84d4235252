#include "spawn/bus/paho_prompt_connect.h"

#include <netinet/in.h>
#include <poll.h>

#include <cerrno>
#include <mutex>
#include <set>

#include "paho_code.h"

namespace spawn {
namespace {

std::mutex allowed_mu;
std::set<int> allowed_ports;  // guarded by allowed_mu

int PortOf(const sockaddr* address, socklen_t length) {
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in))
    return ntohs(reinterpret_cast<const sockaddr_in*>(address)->sin_port);
  if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6))
    return ntohs(reinterpret_cast<const sockaddr_in6*>(address)->sin6_port);
  return 0;
}

bool Allowed(int port) {
  std::lock_guard lock(allowed_mu);
  return allowed_ports.contains(port);
}

}  // namespace

void AllowPromptConnectTo(int port) {
  if (port <= 0) return;
  std::lock_guard lock(allowed_mu);
  allowed_ports.insert(port);
}

int ConnectFor(const void* caller, int fd, const sockaddr* address, socklen_t length) {
  using ConnectFunction = int (*)(int, const sockaddr*, socklen_t);
  static const auto libc_connect = NextDefinition<ConnectFunction>("connect");
  if (libc_connect == nullptr) return NoNextDefinition();
  const int rc = libc_connect(fd, address, length);
  if (rc == 0 || errno != EINPROGRESS) return rc;
  if (!Allowed(PortOf(address, length)) || !IsPahoCode(caller)) {
    errno = EINPROGRESS;  // as libc left it
    return rc;
  }
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

// The interposed definition; see paho_write_guard.cc's writev for how Paho's calls reach it.
extern "C" __attribute__((visibility("default"))) int connect(int fd, const sockaddr* address,
                                                              socklen_t length) {
  return spawn::ConnectFor(__builtin_return_address(0), fd, address, length);
}
