#include "spawn/bus/paho_prompt_connect.h"

#include <poll.h>

#include <cerrno>

#include "paho_code.h"

namespace spawn {

int ConnectFor(const void* caller, int fd, const sockaddr* address, socklen_t length) {
  using ConnectFunction = int (*)(int, const sockaddr*, socklen_t);
  static const auto libc_connect = NextDefinition<ConnectFunction>("connect");
  if (libc_connect == nullptr) return NoNextDefinition();
  const int rc = libc_connect(fd, address, length);
  if (rc == 0 || errno != EINPROGRESS || !IsPahoCode(caller)) return rc;
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
