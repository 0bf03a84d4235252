#include "paho_write_guard.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>

#include "paho_code.h"
#include "paho_workarounds.h"

namespace spawn {

namespace {

bool BrokenConnection(int error) { return error == EPIPE || error == ECONNRESET; }

// The SSL connection whose last write from Paho failed on a broken connection, on this thread: the
// SSL_get_error Paho calls right after, on the same thread, reports SSL_ERROR_WANT_WRITE for it.
thread_local const SSL* write_reported_blocked = nullptr;

// libssl's SSL_get_error, which both the write and the interposed SSL_get_error consult.
int (*LibsslGetError())(const SSL*, int) {
  using SslGetErrorFunction = int (*)(const SSL*, int);
  static const auto next = NextDefinition<SslGetErrorFunction>("SSL_get_error");
  return next;
}

}  // namespace

ssize_t WritevFor(const void* caller, int fd, const iovec* iov, int iovcnt) {
  using WritevFunction = ssize_t (*)(int, const iovec*, int);
  static const auto libc_writev = NextDefinition<WritevFunction>("writev");
  if (libc_writev == nullptr) return NoNextDefinition();
  const ssize_t written = libc_writev(fd, iov, iovcnt);
  if (written >= 0 || !BrokenConnection(errno) || !PahoWorkaroundsActive()) return written;
  const int error = errno;
  // Only now, on the rare failure, is the caller looked up: dladdr takes the loader's lock.
  if (!IsPahoCode(caller)) {
    errno = error;
    return written;
  }
  shutdown(fd, SHUT_RD);  // Paho's next read ends the connection
  errno = EAGAIN;
  return -1;
}

int SslWriteFor(const void* caller, SSL* ssl, const void* buffer, int length) {
  using SslWriteFunction = int (*)(SSL*, const void*, int);
  using SslGetFdFunction = int (*)(const SSL*);
  static const auto libssl_write = NextDefinition<SslWriteFunction>("SSL_write");
  static const auto libssl_get_fd = NextDefinition<SslGetFdFunction>("SSL_get_fd");
  const auto libssl_get_error = LibsslGetError();
  if (libssl_write == nullptr || libssl_get_error == nullptr || libssl_get_fd == nullptr)
    return NoNextDefinition();
  const int written = libssl_write(ssl, buffer, length);
  if (written > 0) return written;
  const int error = errno;
  // The cheap test first: a write that would block (the usual failure) goes no further.
  if (BrokenConnection(error) && PahoWorkaroundsActive() &&
      libssl_get_error(ssl, written) == SSL_ERROR_SYSCALL && IsPahoCode(caller)) {
    shutdown(libssl_get_fd(ssl), SHUT_RD);  // Paho's next read ends the connection
    write_reported_blocked = ssl;
  }
  errno = error;
  return written;
}

int SslGetErrorFor(const SSL* ssl, int result) {
  if (ssl != nullptr && ssl == write_reported_blocked) {
    write_reported_blocked = nullptr;
    return SSL_ERROR_WANT_WRITE;
  }
  const auto libssl_get_error = LibsslGetError();
  if (libssl_get_error == nullptr) return SSL_ERROR_SSL;
  return libssl_get_error(ssl, result);
}

bool PahoWriteGuardInstalled() {
  const auto here = reinterpret_cast<const void*>(&WritevFor);
  return FirstDefinitionIsBeside("writev", here) && FirstDefinitionIsBeside("SSL_write", here) &&
         FirstDefinitionIsBeside("SSL_get_error", here);
}

}  // namespace spawn

// The interposed definition. Paho's library calls writev through its PLT, which binds to the
// first definition in lookup order: the executable's.
extern "C" __attribute__((visibility("default"))) ssize_t writev(int fd, const iovec* iov,
                                                                 int iovcnt) {
  return spawn::WritevFor(__builtin_return_address(0), fd, iov, iovcnt);
}

// And over TLS, where Paho writes with SSL_write and asks SSL_get_error what a failure means.
extern "C" __attribute__((visibility("default"))) int SSL_write(SSL* ssl, const void* buffer,
                                                                int length) {
  return spawn::SslWriteFor(__builtin_return_address(0), ssl, buffer, length);
}

extern "C" __attribute__((visibility("default"))) int SSL_get_error(const SSL* ssl, int result) {
  return spawn::SslGetErrorFor(ssl, result);
}
