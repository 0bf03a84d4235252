// Paho C 1.3.12's connects: the CONNECT sent as soon as the TCP handshake is done, Nagle off.
//
// Why: Paho opens its connection with a non-blocking connect, which returns "in progress" even to
// a broker on the same host, and its receive thread acts on the finished handshake only when its
// poll for reading runs out: every command and reconnection waits for that poll before its CONNECT
// goes out. And Paho leaves Nagle's algorithm on, so a small packet written after another with
// nothing in between (a PUBACK, then a PUBLISH) waits for the peer's delayed ACK.
//
// The remedy: the object library defines connect, which takes precedence over libc's in the
// executable. Every call goes to libc's; only a call made from Paho's library, while the
// workarounds are active (paho_workarounds.h), is changed: its TCP socket gets TCP_NODELAY first,
// and, to a port AllowPromptConnectTo named (plain TCP only: over TLS, Paho goes on into its
// handshake from there and then mostly failed to finish it), a connect in progress waits up to
// kPromptConnectWait for the handshake and reports success if the socket is then connected
// without error. Anything else, a refusal included, is left in progress for Paho to find.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <string>

namespace spawn {

constexpr std::chrono::milliseconds kPromptConnectWait{2};

// The TCP port in a tcp:// or ssl:// uri ("tcp://host:1883"), or the scheme's default (1883,
// 8883) when the uri names none; 0 when the uri cannot be read.
int BrokerPort(const std::string& uri);

// Applies the prompt connect to Paho's connections to TCP port `port` from now on.
void AllowPromptConnectTo(int port);

// libc's connect, with the remedy applied when `caller` (a return address) lies in Paho's library.
int ConnectFor(const void* caller, int fd, const sockaddr* address, socklen_t length);

// True when the connect that Paho calls is this library's, i.e. the remedy is in place.
bool PahoPromptConnectInstalled();

}  // namespace spawn
