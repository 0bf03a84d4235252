#include "spawn/proto/messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <msgpack.hpp>

#include "spawn/common/units.h"

namespace spawn::proto {
namespace {

using ::testing::HasSubstr;

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

ServiceConfig DemoConfig() {
  ServiceConfig c;
  c.name = "demo";
  c.run = {"sh"};
  c.mem_alloc_bytes = 64 * kMiB;
  c.cpu_shares = 512;
  return c;
}

SpawnpointHeartbeat DemoHeartbeat() {
  return {"alpha", 1700000000000000000, "0.1.0", 4096, 4096, 3072, 3584, {"demo"}};
}

ServiceHeartbeat DemoServiceHeartbeat() {
  ServiceHeartbeat s;
  s.spawnpoint_uri = "a/b";
  s.name = "demo";
  s.time_unix_ns = 1;
  s.state = ServiceState::kRunning;
  s.container_id = "c1";
  s.mem_alloc_mib = 64;
  s.cpu_shares = 512;
  s.mem_usage_mib = 1.5;
  s.cpu_percent = 0.25;
  s.restarts = 2;
  s.original_config = DemoConfig();
  return s;
}

DeployRequest DemoDeploy() {
  DeployRequest d;
  d.request_id = "r1";
  d.config = DemoConfig();
  d.archive = "AB";
  d.replace = true;
  return d;
}

// Fixed bytes: if one of these changes, the wire format changed and every peer must change with it.
TEST(WireFormatTest, SpawnpointHeartbeatBytesAreFixed) {
  EXPECT_EQ(
      Hex(Encode(DemoHeartbeat())),
      "88a5416c696173a5616c706861a454696d65cf17979cfe362a0000a756657273696f6ea5302e312e30a8546f"
      "74616c4d656dcd1000ae546f74616c437075536861726573cd1000ac417661696c61626c654d656dcd0c00b2"
      "417661696c61626c65437075536861726573cd0e00a8536572766963657391a464656d6f");
}

TEST(WireFormatTest, ServiceHeartbeatBytesAreFixed) {
  EXPECT_EQ(
      Hex(Encode(DemoServiceHeartbeat())),
      "de0011ad537061776e706f696e74555249a3612f62a44e616d65a464656d6fa454696d6501a55374617465a7"
      "72756e6e696e67ab436f6e7461696e65724964a26331a84d656d416c6c6f6340a9437075536861726573cd02"
      "00a84d656d5573616765cb3ff8000000000000aa43707550657263656e74cb3fd0000000000000a94e657477"
      "6f726b527800a94e6574776f726b547800a64d625265616400a94d625772697474656e00a852657374617274"
      "7302a845786974436f646500ae4f726967696e616c436f6e66696784a46e616d65a464656d6fa372756e91a2"
      "7368a86d656d416c6c6f63a336344da9637075536861726573cd0200a74261636b6f6666a0");
}

TEST(WireFormatTest, DeployRequestBytesAreFixed) {
  EXPECT_EQ(
      Hex(Encode(DemoDeploy())),
      "85a9526571756573744964a27231a6436f6e66696784a46e616d65a464656d6fa372756e91a27368a86d656d"
      "416c6c6f63a336344da9637075536861726573cd0200a741726368697665c4024142a75265706c616365c3a6"
      "456e74697479c400");
}

TEST(RoundTripTest, EveryMessage) {
  auto deploy = DecodeDeployRequest(Encode(DemoDeploy()));
  ASSERT_TRUE(deploy.ok()) << deploy.status().message();
  EXPECT_EQ(deploy->request_id, "r1");
  EXPECT_EQ(deploy->config, DemoConfig());
  EXPECT_EQ(deploy->archive, "AB");
  EXPECT_TRUE(deploy->replace);

  auto command = DecodeServiceCommand(Encode(ServiceCommand{"r2", "demo"}));
  ASSERT_TRUE(command.ok());
  EXPECT_EQ(command->request_id, "r2");
  EXPECT_EQ(command->service, "demo");

  auto logs = DecodeLogsRequest(Encode(LogsRequest{"r3", "demo", 42}));
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(logs->since_unix_ns, 42);
  EXPECT_EQ(logs->service, "demo");

  auto reply = DecodeReply(Encode(Reply{"r4", false, 503, "Insufficient resources"}));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->code, 503);
  EXPECT_FALSE(reply->ok);
  EXPECT_EQ(reply->message, "Insufficient resources");

  auto hb = DecodeSpawnpointHeartbeat(Encode(DemoHeartbeat()));
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->alias, "alpha");
  EXPECT_EQ(hb->time_unix_ns, 1700000000000000000);
  EXPECT_EQ(hb->available_cpu_shares, 3584);
  EXPECT_EQ(hb->services, std::vector<std::string>{"demo"});

  ServiceHeartbeat original = DemoServiceHeartbeat();
  original.backoff = "8s";
  original.exit_code = -1;
  auto shb = DecodeServiceHeartbeat(Encode(original));
  ASSERT_TRUE(shb.ok()) << shb.status().message();
  EXPECT_EQ(shb->state, ServiceState::kRunning);
  EXPECT_EQ(shb->mem_usage_mib, 1.5);
  EXPECT_EQ(shb->cpu_percent, 0.25);
  EXPECT_EQ(shb->restarts, 2);
  EXPECT_EQ(shb->exit_code, -1);
  EXPECT_EQ(shb->backoff, "8s");
  EXPECT_EQ(shb->original_config, DemoConfig());

  LogMessage line{7, "alpha", "demo", "stdout", "hello"};
  auto decoded_line = DecodeLogMessage(Encode(line));
  ASSERT_TRUE(decoded_line.ok());
  EXPECT_EQ(*decoded_line, line);

  auto history = DecodeLogsReply(Encode(LogsReply{"r5", {line, line}}));
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->messages.size(), 2u);
  EXPECT_EQ(history->messages[1], line);
  auto end = DecodeLogsReply(Encode(LogsReply{"r5", {}}));
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(end->messages.empty());
}

TEST(DecodeTest, BareServiceNameIsACommand) {
  auto raw = DecodeServiceCommand("demo");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->service, "demo");
  EXPECT_TRUE(raw->request_id.empty());
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, std::string("other"));
  auto packed = DecodeServiceCommand(std::string(buffer.data(), buffer.size()));
  ASSERT_TRUE(packed.ok());
  EXPECT_EQ(packed->service, "other");
}

TEST(DecodeTest, UnknownKeysAreIgnored) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> p(buffer);
  p.pack_map(4);
  p.pack(std::string("RequestId"));
  p.pack(std::string("r"));
  p.pack(std::string("Service"));
  p.pack(std::string("demo"));
  p.pack(std::string("FutureField"));
  p.pack_array(2);
  p.pack(1);
  p.pack(2);
  p.pack(std::string("Ok"));
  p.pack(true);
  auto command = DecodeServiceCommand(std::string(buffer.data(), buffer.size()));
  ASSERT_TRUE(command.ok()) << command.status().message();
  EXPECT_EQ(command->service, "demo");
}

TEST(DecodeTest, EveryTruncationIsAnErrorNeverACrash) {
  const std::string messages[] = {Encode(DemoDeploy()), Encode(DemoHeartbeat()),
                                  Encode(DemoServiceHeartbeat()),
                                  Encode(LogsReply{"r", {LogMessage{1, "a", "s", "stdout", "x"}}})};
  for (const auto& full : messages) {
    for (size_t n = 0; n < full.size(); ++n) {
      const std::string prefix = full.substr(0, n);
      EXPECT_FALSE(DecodeDeployRequest(prefix).ok()) << n;
      EXPECT_FALSE(DecodeSpawnpointHeartbeat(prefix).ok()) << n;
      EXPECT_FALSE(DecodeServiceHeartbeat(prefix).ok()) << n;
      EXPECT_FALSE(DecodeLogsReply(prefix).ok()) << n;
      EXPECT_FALSE(DecodeReply(prefix).ok()) << n;
    }
  }
}

TEST(DecodeTest, WrongTypesNameTheKey) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> p(buffer);
  p.pack_map(2);
  p.pack(std::string("RequestId"));
  p.pack(std::string("r"));
  p.pack(std::string("Code"));
  p.pack(std::string("five hundred"));
  auto reply = DecodeReply(std::string(buffer.data(), buffer.size()));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().message(), "reply: Code: expected an integer, got string");
  EXPECT_EQ(PeekRequestId(std::string(buffer.data(), buffer.size())), "r");
}

TEST(DecodeTest, ConfigOnTheBusGetsTheSameValidationAsAFile) {
  DeployRequest bad = DemoDeploy();
  std::string bytes = Encode(bad);
  // Replace "64M" by "64X" in place: same length, so the msgpack framing stays valid.
  bytes.replace(bytes.find("64M"), 3, "64X");
  auto decoded = DecodeDeployRequest(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(
      decoded.status().message(),
      HasSubstr("memAlloc: \"64X\" is not a size; expected a number with M or G, like 512M"));
  EXPECT_EQ(PeekRequestId(bytes), "r1");
}

TEST(DecodeTest, GarbageAndOversizedInputAreErrors) {
  for (const std::string& garbage :
       {std::string(""), std::string("\xc1"), std::string("\x93\x01\x02"),
        std::string("{\"json\": true}"), std::string(10, '\xff')}) {
    EXPECT_FALSE(DecodeDeployRequest(garbage).ok());
    EXPECT_FALSE(DecodeLogsRequest(garbage).ok());
    EXPECT_TRUE(PeekRequestId(garbage).empty());
  }
  EXPECT_FALSE(DecodeServiceCommand("\x93\x01\x02").ok());
  EXPECT_THAT(DecodeDeployRequest(std::string(kMaxPayloadBytes + 1, '\x90')).status().message(),
              HasSubstr("larger than the limit"));
  DeployRequest huge = DemoDeploy();
  huge.archive.assign(kMaxArchiveBytes + 1, 'a');
  EXPECT_THAT(DecodeDeployRequest(Encode(huge)).status().message(),
              HasSubstr("Archive: " + std::to_string(kMaxArchiveBytes + 1)));
  // A map that claims a billion entries must be refused by the limits, not allocated.
  const std::string claims_huge_map("\xdf\x3b\x9a\xca\x00", 5);
  EXPECT_FALSE(DecodeDeployRequest(claims_huge_map).ok());
}

TEST(StateTest, NamesRoundTrip) {
  for (auto s : {ServiceState::kBuilding, ServiceState::kStarting, ServiceState::kRunning,
                 ServiceState::kExited, ServiceState::kRestarting, ServiceState::kZombie}) {
    EXPECT_EQ(*ParseServiceState(ToString(s)), s);
  }
  EXPECT_FALSE(ParseServiceState("dead").ok());
}

}  // namespace
}  // namespace spawn::proto
