// Letting Paho send its CONNECT as soon as the TCP handshake is done.
//
// Why: Paho C 1.3.12 (Debian 12's) opens the connection with a non-blocking connect, which returns
// "in progress" even to a broker on the same host. Its receive thread then finds the socket
// writable but acts on it only after that loop's 10 ms poll for reading has run out, since nothing
// will come to read before the CONNECT it has yet to send. Every spawnctl command and every
// (re)connection paid those 10 ms: a sixth of a scan of a thousand spawnpoints.
//
// The remedy: this library defines connect, which takes precedence over libc's in the process (as
// writev does, see paho_write_guard.h). Every call goes straight to libc's. Only when a call made
// from Paho's library is in progress does it wait for the handshake, up to 2 ms (a broker on the
// same host or network answers well within it), and report success if the socket is then
// connected without error; Paho then sends the CONNECT at once. Otherwise it reports "in progress"
// as before and Paho goes its usual way, having lost at most those 2 ms; a refused or failed
// handshake is left for Paho to find, its error untouched. Only for ports a plain-TCP bus named
// (AllowPromptConnectTo): over TLS, Paho goes on into the TLS handshake from there and then, on
// this machine, mostly failed to finish connecting.
#pragma once

#include <sys/socket.h>

#include <chrono>

namespace spawn {

constexpr std::chrono::milliseconds kPromptConnectWait{2};

// Applies the remedy to Paho's connections to TCP port `port` (plain MQTT, not TLS) from now on.
void AllowPromptConnectTo(int port);

// libc's connect, with the remedy applied when `caller` (a return address) lies in Paho's library
// and the destination's port was allowed.
int ConnectFor(const void* caller, int fd, const sockaddr* address, socklen_t length);

// True when the connect that Paho calls is this library's, i.e. the remedy is in place.
bool PahoPromptConnectInstalled();

}  // namespace spawn
