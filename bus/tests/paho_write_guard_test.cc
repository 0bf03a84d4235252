#include "spawn/bus/paho_write_guard.h"

#include <MQTTAsync.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace spawn {
namespace {

// A connected pair of stream sockets whose far end is closed: writing to the near end fails
// with EPIPE, as on a connection the broker has closed.
class BrokenConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);  // as Paho does; the failure is then EPIPE, not a signal
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
    close(fds_[1]);
  }
  void TearDown() override { close(fds_[0]); }
  ssize_t WriteAs(const void* caller) {
    char byte = 'x';
    iovec one{&byte, 1};
    return WritevFor(caller, fds_[0], &one, 1);
  }
  int fds_[2] = {-1, -1};
};

TEST_F(BrokenConnection, PahoIsToldItWouldBlockAndItsNextReadEndsTheStream) {
  // Any address inside Paho's library stands for a call made from there.
  const void* inside_paho = reinterpret_cast<const void*>(&MQTTAsync_isConnected);
  errno = 0;
  EXPECT_EQ(WriteAs(inside_paho), -1);
  EXPECT_EQ(errno, EAGAIN);
  char buffer[8];
  EXPECT_EQ(recv(fds_[0], buffer, sizeof buffer, MSG_DONTWAIT), 0);  // end of stream, not EAGAIN
}

TEST_F(BrokenConnection, EveryoneElseSeesTheErrorAsItIs) {
  const void* outside_paho = reinterpret_cast<const void*>(&WritevFor);
  errno = 0;
  EXPECT_EQ(WriteAs(outside_paho), -1);
  EXPECT_EQ(errno, EPIPE);
}

TEST(PahoWriteGuardTest, WritesThatSucceedAreLibcsOwn) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  char text[] = "abc";
  iovec one{text, 3};
  EXPECT_EQ(WritevFor(reinterpret_cast<const void*>(&MQTTAsync_isConnected), fds[0], &one, 1), 3);
  char buffer[4] = {};
  EXPECT_EQ(read(fds[1], buffer, 3), 3);
  EXPECT_STREQ(buffer, "abc");
  close(fds[0]);
  close(fds[1]);
}

// In a program linking this library, Paho's calls to writev bind to the guard.
TEST(PahoWriteGuardTest, IsInstalledInAProgramThatLinksTheBus) {
  EXPECT_TRUE(PahoWriteGuardInstalled());
}

}  // namespace
}  // namespace spawn
