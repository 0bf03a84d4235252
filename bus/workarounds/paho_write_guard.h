// Keeping Paho C 1.3.12 from resending freed memory after a failed write.
//
// Why: Paho writes each packet with writev (SSL_write over TLS). When that fails on a broken
// connection while it sends a QoS 1 or 2 PUBLISH, it frees the message's topic and payload, yet
// keeps the message in flight and resends it from the freed memory after the reconnection
// (upstream eclipse-paho/paho.mqtt.c#1401 and #1621): the broker gets a garbled topic, or a
// malformed packet that makes it drop every reconnection. A broker restart under traffic hits it.
//
// The remedy: the object library defines writev, SSL_write and SSL_get_error, which take
// precedence over libc's and libssl's in the executable. Every call goes to the real function;
// only a write made from Paho's library, while the workarounds are active (paho_workarounds.h),
// that fails because the connection is broken (EPIPE, ECONNRESET) is reported as "would block"
// (EAGAIN; over TLS, SSL_ERROR_WANT_WRITE from the SSL_get_error that follows on that thread),
// after ending the socket's read side. Paho then keeps the unsent bytes as a pending write, and
// its next read finds the end of the stream and closes the connection the ordinary way, with the
// message intact for the resend.
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
