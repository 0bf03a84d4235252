// Keeping Paho from resending freed memory after a failed write.
//
// Why: Paho C 1.3.12 (Debian 12's) writes each packet with writev. When that fails with a socket
// error while it sends a QoS 1 or 2 PUBLISH, it frees the message's topic and payload, yet keeps
// the message in flight and resends it from the freed memory after the reconnection (upstream
// eclipse-paho/paho.mqtt.c#1401 and #1621). The broker then gets a garbled topic, or a malformed
// packet and drops the connection at every reconnection; when the garbled message is acknowledged,
// Paho frees the memory a second time. It happens when the broker goes away while a publish is
// being written: a broker restart under spawnd's traffic hits it.
//
// The remedy: this library defines writev, which takes precedence over libc's in the process (the
// executable and the libraries it loads before libc come first in symbol lookup). Every call goes
// straight to libc's. Only when a call made from Paho's library fails because the connection is
// broken (EPIPE, ECONNRESET) does it report "would block" (EAGAIN) instead, after ending the
// socket's read side (shutdown SHUT_RD). Paho then keeps the unsent bytes as a pending write, as
// it does when the socket buffer is full, and its next read finds the end of the stream and closes
// the connection the ordinary way, with the message intact for the resend. Over TLS, Paho writes
// with SSL_write and asks SSL_get_error what a failure means: the library defines both, and when
// Paho's SSL_write fails on a broken connection (SSL_ERROR_SYSCALL with EPIPE or ECONNRESET) the
// SSL_get_error that follows on the same thread says SSL_ERROR_WANT_WRITE, to the same effect.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

typedef struct ssl_st SSL;  // as OpenSSL declares it; its headers are not needed to include this

namespace spawn {

// libc's writev, with the remedy applied when `caller` (a return address) lies in Paho's library.
ssize_t WritevFor(const void* caller, int fd, const iovec* iov, int iovcnt);

// libssl's SSL_write and SSL_get_error, with the remedy applied to a write from `caller` in Paho's
// library and to the SSL_get_error about it.
int SslWriteFor(const void* caller, SSL* ssl, const void* buffer, int length);
int SslGetErrorFor(const SSL* ssl, int result);

// True when the writev, SSL_write and SSL_get_error that Paho calls are this library's, i.e. the
// remedy is in place.
bool PahoWriteGuardInstalled();

}  // namespace spawn
