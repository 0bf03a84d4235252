#include "spawn/bus/paho_write_guard.h"

#include <sys/socket.h>

#include <cerrno>

#include "paho_code.h"

namespace spawn {

ssize_t WritevFor(const void* caller, int fd, const iovec* iov, int iovcnt) {
  using WritevFunction = ssize_t (*)(int, const iovec*, int);
  static const auto libc_writev = NextDefinition<WritevFunction>("writev");
  if (libc_writev == nullptr) return NoNextDefinition();
  const ssize_t written = libc_writev(fd, iov, iovcnt);
  if (written >= 0 || (errno != EPIPE && errno != ECONNRESET)) return written;
  // Only now, on the rare failure, is the caller looked up: dladdr takes the loader's lock.
  if (!IsPahoCode(caller)) return written;
  shutdown(fd, SHUT_RD);  // Paho's next read ends the connection
  errno = EAGAIN;
  return -1;
}

bool PahoWriteGuardInstalled() {
  return FirstDefinitionIsBeside("writev", reinterpret_cast<const void*>(&WritevFor));
}

}  // namespace spawn

// The interposed definition. Paho's library calls writev through its PLT, which binds to the
// first definition in lookup order: this one, when the program links this library.
extern "C" __attribute__((visibility("default"))) ssize_t writev(int fd, const iovec* iov,
                                                                 int iovcnt) {
  return spawn::WritevFor(__builtin_return_address(0), fd, iov, iovcnt);
}
