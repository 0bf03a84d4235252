#include "paho_prompt_connect.h"

#include <MQTTAsync.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include "paho_workarounds.h"

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

bool NoDelay(int fd) {
  int on = 0;
  socklen_t length = sizeof on;
  return getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &length) == 0 && on != 0;
}

const void* const kInsidePaho = reinterpret_cast<const void*>(&MQTTAsync_isConnected);
const void* const kOutsidePaho = reinterpret_cast<const void*>(&ConnectFor);

// A listening socket on a free loopback port, and non-blocking client sockets to it.
class LoopbackListener : public ::testing::Test {
 protected:
  void SetUp() override {
    InstallPahoWorkaroundsFor("1.3.12");
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(listener_, 0);
    address_.sin_family = AF_INET;
    address_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener_, Address(), sizeof address_), 0);
    socklen_t length = sizeof address_;
    ASSERT_EQ(getsockname(listener_, reinterpret_cast<sockaddr*>(&address_), &length), 0);
    ASSERT_EQ(listen(listener_, 8), 0);
    AllowPromptConnectTo(ntohs(address_.sin_port));
  }
  void TearDown() override {
    for (int fd : clients_) close(fd);
    close(listener_);
  }
  int NonBlockingClient() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    clients_.push_back(fd);
    return fd;
  }
  const sockaddr* Address() const { return reinterpret_cast<const sockaddr*>(&address_); }

  int listener_ = -1;
  sockaddr_in address_{};
  std::vector<int> clients_;
};

TEST_F(LoopbackListener, PahosConnectToANearbyBrokerReturnsConnected) {
  const int fd = NonBlockingClient();
  ASSERT_EQ(ConnectFor(kInsidePaho, fd, Address(), sizeof address_), 0) << strerror(errno);
  int error = -1;
  socklen_t length = sizeof error;
  ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length), 0);
  EXPECT_EQ(error, 0);
  EXPECT_EQ(write(fd, "x", 1), 1);  // usable at once
  EXPECT_TRUE(NoDelay(fd));
}

// Nagle goes off on Paho's sockets to any port, TLS ones too; others keep Linux's default.
TEST_F(LoopbackListener, OnlyPahosSocketsGetNagleOff) {
  const int paho = NonBlockingClient(), other = NonBlockingClient();
  ConnectFor(kInsidePaho, paho, Address(), sizeof address_);
  ConnectFor(kOutsidePaho, other, Address(), sizeof address_);
  EXPECT_TRUE(NoDelay(paho));
  EXPECT_FALSE(NoDelay(other));
}

// With a Paho C other than 1.3.12, Paho's connects are left as they are.
TEST_F(LoopbackListener, PahosConnectIsLeftAloneWhenItsVersionNeedsNoRemedy) {
  InstallPahoWorkaroundsFor("1.3.13");
  const int fd = NonBlockingClient();
  errno = 0;
  EXPECT_EQ(ConnectFor(kInsidePaho, fd, Address(), sizeof address_), -1);
  EXPECT_EQ(errno, EINPROGRESS);
  EXPECT_FALSE(NoDelay(fd));
  InstallPahoWorkaroundsFor("1.3.12");
}

TEST_F(LoopbackListener, PahosConnectToAPortNotAllowedIsLeftInProgress) {
  sockaddr_in elsewhere = address_;  // a second listener, its port not allowed (a TLS one, say)
  const int other = socket(AF_INET, SOCK_STREAM, 0);
  elsewhere.sin_port = 0;
  ASSERT_EQ(bind(other, reinterpret_cast<sockaddr*>(&elsewhere), sizeof elsewhere), 0);
  socklen_t length = sizeof elsewhere;
  ASSERT_EQ(getsockname(other, reinterpret_cast<sockaddr*>(&elsewhere), &length), 0);
  ASSERT_EQ(listen(other, 8), 0);
  const int fd = NonBlockingClient();
  errno = 0;
  EXPECT_EQ(ConnectFor(kInsidePaho, fd, reinterpret_cast<sockaddr*>(&elsewhere), sizeof elsewhere),
            -1);
  EXPECT_EQ(errno, EINPROGRESS);
  close(other);
}

TEST_F(LoopbackListener, EveryoneElsesConnectIsLeftInProgress) {
  const int fd = NonBlockingClient();
  errno = 0;
  EXPECT_EQ(ConnectFor(kOutsidePaho, fd, Address(), sizeof address_), -1);
  EXPECT_EQ(errno, EINPROGRESS);
}

// A refused handshake stays for Paho to find through SO_ERROR, as it would without the remedy.
TEST_F(LoopbackListener, ARefusalIsLeftInProgressWithItsErrorIntact) {
  close(listener_);  // nobody listens on the port any more
  listener_ = -1;
  const int fd = NonBlockingClient();
  const int rc = ConnectFor(kInsidePaho, fd, Address(), sizeof address_);
  if (rc == -1 && errno == ECONNREFUSED) return;  // refused at once: libc's own answer
  ASSERT_EQ(rc, -1);
  EXPECT_EQ(errno, EINPROGRESS);
  pollfd p{fd, POLLOUT, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  int error = 0;
  socklen_t length = sizeof error;
  ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length), 0);
  EXPECT_EQ(error, ECONNREFUSED);
}

TEST(PahoPromptConnectTest, IsInstalledInAProgramThatLinksTheWorkarounds) {
  EXPECT_TRUE(PahoPromptConnectInstalled());
}

}  // namespace
}  // namespace spawn
