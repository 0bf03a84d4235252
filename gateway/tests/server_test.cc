// GatewayServer on a loopback socket: the event stream (snapshot first, then changes), its access
// check, and its cap (503 beyond max_streams).
#include "spawn/gateway/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_fleet.h"

namespace spawn::gateway {
namespace {

using gateway_testing::FakeFleetCommands;
using gateway_testing::kSecond;
using gateway_testing::Retained;
using gateway_testing::SpawnpointBeat;

// A raw connection that asks for the event stream and reads what comes.
class RawStream {
 public:
  RawStream(int port, const std::string& extra_headers = "") {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string req =
        "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" +
        extra_headers + "\r\n";
    EXPECT_EQ(write(fd_, req.data(), req.size()), static_cast<ssize_t>(req.size()));
  }
  ~RawStream() { close(fd_); }
  // Reads until `text` arrived (true) or the connection ended (false).
  bool ReadUntil(const std::string& text) {
    char buf[4096];
    while (got_.find(text) == std::string::npos) {
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return false;
      got_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  const std::string& got() const { return got_; }

 private:
  int fd_ = -1;
  std::string got_;
};

class GatewayServerTest : public ::testing::Test {
 protected:
  void Start(AccessOptions access_options = {}) {
    state_.Apply(Retained(topics::Heartbeat("fleet/a"),
                          proto::Encode(SpawnpointBeat("alpha", 100 * kSecond))),
                 100 * kSecond);
    access_ = std::make_unique<AccessPolicy>(access_options);
    api_ = std::make_unique<Api>(state_, commands_, *access_, assets_);
    ServerOptions options;
    options.port = 0;
    options.max_streams = 1;
    options.keepalive = std::chrono::milliseconds(50);
    server_ = std::make_unique<GatewayServer>(*api_, state_, options);
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  FleetState state_{"fleet"};
  FakeFleetCommands commands_;
  Assets assets_;
  std::unique_ptr<AccessPolicy> access_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<GatewayServer> server_;
};

TEST_F(GatewayServerTest, StreamsTheSnapshotThenChanges) {
  Start();
  RawStream stream(server_->port());
  ASSERT_TRUE(stream.ReadUntil("event: snapshot\ndata: {")) << stream.got();
  EXPECT_NE(stream.got().find("text/event-stream"), std::string::npos);
  EXPECT_NE(stream.got().find("\"Alias\":\"alpha\""), std::string::npos);
  state_.Apply(Retained(topics::Heartbeat("fleet/a"),
                        proto::Encode(SpawnpointBeat("alpha2", 101 * kSecond))),
               101 * kSecond);
  ASSERT_TRUE(stream.ReadUntil("event: spawnpoint\ndata: {")) << stream.got();
  EXPECT_TRUE(stream.ReadUntil("\"Alias\":\"alpha2\""));
}

TEST_F(GatewayServerTest, StreamsBeyondTheCapGet503) {
  Start();
  RawStream first(server_->port());
  ASSERT_TRUE(first.ReadUntil("event: snapshot"));
  EXPECT_EQ(server_->open_streams(), 1u);
  httplib::Client client("127.0.0.1", server_->port());
  auto r = client.Get("/api/v1/events");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("too many event streams"), std::string::npos);
  // The API is still served meanwhile.
  auto list = client.Get("/api/v1/spawnpoints");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
}

TEST_F(GatewayServerTest, TheStreamNeedsTheToken) {
  Start({.token = "0123456789abcdef", .read_only = false, .loopback = true});
  RawStream refused(server_->port());
  ASSERT_TRUE(refused.ReadUntil("HTTP/1.1 401"));
  ASSERT_TRUE(refused.ReadUntil("\"Code\":401"));
  EXPECT_EQ(refused.got().find("event:"), std::string::npos) << refused.got();
  RawStream allowed(server_->port(), "Authorization: Bearer 0123456789abcdef\r\n");
  EXPECT_TRUE(allowed.ReadUntil("event: snapshot"));
}

}  // namespace
}  // namespace spawn::gateway
