#include "spawn/bus/no_delay.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace spawn {
namespace {

TEST(BrokerPortTest, ReadsThePortOrTheSchemesDefault) {
  EXPECT_EQ(BrokerPort("tcp://127.0.0.1:1883"), 1883);
  EXPECT_EQ(BrokerPort("tcp://broker.example:11883"), 11883);
  EXPECT_EQ(BrokerPort("ssl://broker.example:8884/"), 8884);
  EXPECT_EQ(BrokerPort("tcp://[::1]:1999"), 1999);
  EXPECT_EQ(BrokerPort("tcp://broker.example"), 1883);
  EXPECT_EQ(BrokerPort("ssl://broker.example"), 8883);
  EXPECT_EQ(BrokerPort("tcp://[::1]"), 1883);
}

TEST(BrokerPortTest, IsZeroForWhatItCannotRead) {
  EXPECT_EQ(BrokerPort("127.0.0.1:1883"), 0);
  EXPECT_EQ(BrokerPort("tcp://host:port"), 0);
  EXPECT_EQ(BrokerPort("tcp://host:70000"), 0);
  EXPECT_EQ(BrokerPort("ws://host"), 0);
}

// A listening socket on loopback and a client connected to it, closed at the end.
class LoopbackPair {
 public:
  LoopbackPair() {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        listen(listener_, 1) != 0 ||
        getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
      return;
    port_ = ntohs(address.sin_port);
    client_ = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(client_, reinterpret_cast<sockaddr*>(&address), length) != 0) port_ = 0;
  }
  ~LoopbackPair() {
    if (client_ >= 0) close(client_);
    if (listener_ >= 0) close(listener_);
  }
  int port() const { return port_; }
  int client() const { return client_; }

 private:
  int listener_ = -1;
  int client_ = -1;
  int port_ = 0;
};

bool NoDelay(int fd) {
  int on = 0;
  socklen_t length = sizeof on;
  return getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &length) == 0 && on != 0;
}

TEST(SetNoDelayTest, SetsItOnTheSocketsToThePortAndOnNoOther) {
  LoopbackPair broker, other;
  ASSERT_NE(broker.port(), 0);
  ASSERT_NE(other.port(), 0);
  ASSERT_FALSE(NoDelay(broker.client()));  // Linux's default: Nagle on

  EXPECT_EQ(SetNoDelayOnSocketsTo(broker.port()), 1);
  EXPECT_TRUE(NoDelay(broker.client()));
  EXPECT_FALSE(NoDelay(other.client()));
}

TEST(SetNoDelayTest, FindsNothingForAPortNoSocketUses) {
  LoopbackPair pair;
  ASSERT_NE(pair.port(), 0);
  int found = 0;
  ForEachTcpSocketTo(pair.port() == 65535 ? 65534 : pair.port() + 1, [&](int) { ++found; });
  EXPECT_EQ(found, 0);
  EXPECT_EQ(SetNoDelayOnSocketsTo(0), 0);
}

}  // namespace
}  // namespace spawn
