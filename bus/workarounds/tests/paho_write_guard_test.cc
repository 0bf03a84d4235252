#include "paho_write_guard.h"

#include <MQTTAsync.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "paho_workarounds.h"

namespace spawn {
namespace {

// Any address inside Paho's library stands for a call made from there.
const void* const kInsidePaho = reinterpret_cast<const void*>(&MQTTAsync_isConnected);
const void* const kOutsidePaho = reinterpret_cast<const void*>(&WritevFor);

// A connected pair of stream sockets whose far end is closed: writing to the near end fails
// with EPIPE, as on a connection the broker has closed.
class BrokenConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    InstallPahoWorkaroundsFor("1.3.12");
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
  errno = 0;
  EXPECT_EQ(WriteAs(kInsidePaho), -1);
  EXPECT_EQ(errno, EAGAIN);
  char buffer[8];
  EXPECT_EQ(recv(fds_[0], buffer, sizeof buffer, MSG_DONTWAIT), 0);  // end of stream, not EAGAIN
}

// Over TLS: Paho's failed SSL_write is then reported to it, once, as "would block".
TEST_F(BrokenConnection, PahosTlsWriteIsReportedAsWouldBlockOnceAndItsNextReadEndsTheStream) {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  ASSERT_NE(context, nullptr);
  SSL* ssl = SSL_new(context);
  SSL_set_fd(ssl, fds_[0]);
  SSL_set_connect_state(ssl);  // the write starts the handshake, whose first bytes fail
  const int written = SslWriteFor(kInsidePaho, ssl, "x", 1);
  EXPECT_LE(written, 0);
  EXPECT_EQ(SslGetErrorFor(ssl, written), SSL_ERROR_WANT_WRITE);
  EXPECT_EQ(SslGetErrorFor(ssl, written), SSL_ERROR_SYSCALL);  // once only: libssl's own answer
  char buffer[8];
  EXPECT_EQ(recv(fds_[0], buffer, sizeof buffer, MSG_DONTWAIT), 0);
  SSL_free(ssl);
  SSL_CTX_free(context);
}

TEST_F(BrokenConnection, EveryoneElsesTlsWriteFailsAsItIs) {
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(context);
  SSL_set_fd(ssl, fds_[0]);
  SSL_set_connect_state(ssl);
  const int written = SslWriteFor(kOutsidePaho, ssl, "x", 1);
  EXPECT_LE(written, 0);
  EXPECT_EQ(SslGetErrorFor(ssl, written), SSL_ERROR_SYSCALL);
  SSL_free(ssl);
  SSL_CTX_free(context);
}

TEST_F(BrokenConnection, EveryoneElseSeesTheErrorAsItIs) {
  errno = 0;
  EXPECT_EQ(WriteAs(kOutsidePaho), -1);
  EXPECT_EQ(errno, EPIPE);
}

// With a Paho C other than 1.3.12, the guard is off: Paho's own failed write is left as it is.
TEST_F(BrokenConnection, PahoSeesTheErrorAsItIsWhenItsVersionNeedsNoGuard) {
  InstallPahoWorkaroundsFor("1.3.13");
  errno = 0;
  EXPECT_EQ(WriteAs(kInsidePaho), -1);
  EXPECT_EQ(errno, EPIPE);
  InstallPahoWorkaroundsFor("1.3.12");
}

TEST(PahoWriteGuardTest, WritesThatSucceedAreLibcsOwn) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  char text[] = "abc";
  iovec one{text, 3};
  EXPECT_EQ(WritevFor(kInsidePaho, fds[0], &one, 1), 3);
  char buffer[4] = {};
  EXPECT_EQ(read(fds[1], buffer, 3), 3);
  EXPECT_STREQ(buffer, "abc");
  close(fds[0]);
  close(fds[1]);
}

// In a program linking the object library, Paho's calls to writev bind to the guard.
TEST(PahoWriteGuardTest, IsInstalledInAProgramThatLinksTheWorkarounds) {
  EXPECT_TRUE(PahoWriteGuardInstalled());
}

}  // namespace
}  // namespace spawn
