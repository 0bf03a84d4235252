#include "spawn/bus/paho_write_guard.h"

#include <dlfcn.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace spawn {
namespace {

using WritevFunction = ssize_t (*)(int, const iovec*, int);

WritevFunction LibcWritev() {
  static const auto next = reinterpret_cast<WritevFunction>(dlsym(RTLD_NEXT, "writev"));
  return next;
}

bool IsPahoCode(const void* address) {
  Dl_info info{};
  if (dladdr(address, &info) == 0 || info.dli_fname == nullptr) return false;
  // libpaho-mqtt3a.so and libpaho-mqtt3as.so, the asynchronous client with and without TLS.
  return std::strstr(info.dli_fname, "libpaho-mqtt3a") != nullptr;
}

}  // namespace

ssize_t WritevFor(const void* caller, int fd, const iovec* iov, int iovcnt) {
  const WritevFunction libc_writev = LibcWritev();
  if (libc_writev == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  const ssize_t written = libc_writev(fd, iov, iovcnt);
  if (written >= 0 || (errno != EPIPE && errno != ECONNRESET)) return written;
  // Only now, on the rare failure, is the caller looked up: dladdr takes the loader's lock.
  if (!IsPahoCode(caller)) return written;
  shutdown(fd, SHUT_RD);  // Paho's next read ends the connection
  errno = EAGAIN;
  return -1;
}

bool PahoWriteGuardInstalled() {
  // What a library's reference to writev binds to: the first definition in the global lookup
  // order. The remedy is in place when that definition lives in the same object as this code.
  Dl_info resolved{}, here{};
  void* first = dlsym(RTLD_DEFAULT, "writev");
  return first != nullptr && dladdr(first, &resolved) != 0 &&
         dladdr(reinterpret_cast<void*>(&LibcWritev), &here) != 0 &&
         resolved.dli_fbase == here.dli_fbase;
}

}  // namespace spawn

// The interposed definition. Paho's library calls writev through its PLT, which binds to the
// first definition in lookup order: this one, when the program links this library.
extern "C" __attribute__((visibility("default"))) ssize_t writev(int fd, const iovec* iov,
                                                                 int iovcnt) {
  return spawn::WritevFor(__builtin_return_address(0), fd, iov, iovcnt);
}
