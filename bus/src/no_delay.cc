#include "spawn/bus/no_delay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdlib>

#include "proc_entries.h"

namespace spawn {

int BrokerPort(const std::string& uri) {
  const auto scheme_end = uri.find("://");
  if (scheme_end == std::string::npos) return 0;
  const std::string scheme = uri.substr(0, scheme_end);
  std::string rest = uri.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('/'));
  const auto bracket = rest.rfind(']');  // [::1]:1883
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket)) {
    if (scheme == "tcp" || scheme == "mqtt") return 1883;
    if (scheme == "ssl" || scheme == "mqtts") return 8883;
    return 0;
  }
  char* end = nullptr;
  const long port = std::strtol(rest.c_str() + colon + 1, &end, 10);
  if (end == rest.c_str() + colon + 1 || *end != '\0' || port <= 0 || port > 65535) return 0;
  return static_cast<int>(port);
}

namespace {

int PeerPort(int fd) {
  sockaddr_storage peer{};
  socklen_t length = sizeof peer;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return 0;
  if (peer.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&peer)->sin_port);
  if (peer.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&peer)->sin6_port);
  return 0;
}

bool IsStreamSocket(int fd) {
  int type = 0;
  socklen_t length = sizeof type;
  return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 && type == SOCK_STREAM;
}

}  // namespace

void ForEachTcpSocketTo(int port, const std::function<void(int fd)>& visit) {
  if (port <= 0) return;
  for (const long fd : NumberedEntries("/proc/self/fd")) {
    const int socket = static_cast<int>(fd);
    if (IsStreamSocket(socket) && PeerPort(socket) == port) visit(socket);
  }
}

int SetNoDelayOnSocketsTo(int port) {
  int set = 0;
  ForEachTcpSocketTo(port, [&](int fd) {
    const int on = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0) ++set;
  });
  return set;
}

}  // namespace spawn
