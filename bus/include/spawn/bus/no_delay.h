// Turning Nagle's algorithm off on Paho's broker sockets.
//
// Paho C opens its socket to the broker itself, gives no hook to set options on it, and leaves
// Nagle's algorithm on. MQTT then often writes two small packets with nothing coming back in
// between (a PUBACK, then the next PUBLISH; an UNSUBSCRIBE after a PUBACK). Nagle holds the second
// until the first is acknowledged, and the broker delays that ACK: about 40 ms on Linux, on every
// such exchange. So after each connection the bus finds this process's TCP sockets to the broker's
// port and sets TCP_NODELAY on them. Any such socket is an MQTT connection of this process, for
// which the option is what we want.
#pragma once

#include <functional>
#include <string>

namespace spawn {

// The TCP port in a tcp:// or ssl:// uri ("tcp://host:1883"), or the scheme's default (1883,
// 8883) when the uri names none; 0 when the uri cannot be read.
int BrokerPort(const std::string& uri);

// Calls `visit` with each connected TCP socket of this process whose peer port is `port`.
void ForEachTcpSocketTo(int port, const std::function<void(int fd)>& visit);

// Sets TCP_NODELAY on each socket ForEachTcpSocketTo finds. Returns how many it set; never fails
// (a socket it cannot set keeps its old behaviour).
int SetNoDelayOnSocketsTo(int port);

}  // namespace spawn
