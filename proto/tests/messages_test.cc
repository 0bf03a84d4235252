#include "spawn/proto/messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <msgpack.hpp>
#include <string>
#include <utility>
#include <vector>

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
  return {"alpha", 1700000000000000000, "0.1.0", 4096, 4096, 3072, 3584, {"demo"}, 5000, {}, 0, 0,
          ""};
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

// A value of a map packed by hand, as a client in another language writes it: anything
// msgpack::packer packs (a string literal as a str), or a map of such values.
class Packable;
using KeyValues = std::vector<std::pair<Packable, Packable>>;
class Packable {
 public:
  using Packer = msgpack::packer<msgpack::sbuffer>;
  template <typename T>
  Packable(T value) : pack_([value = std::move(value)](Packer& p) { p.pack(value); }) {}
  Packable(const char* s) : Packable(std::string(s)) {}
  Packable(KeyValues map)
      : pack_([map = std::move(map)](Packer& p) {
          p.pack_map(static_cast<uint32_t>(map.size()));
          for (const auto& [key, value] : map) {
            key.PackTo(p);
            value.PackTo(p);
          }
        }) {}
  void PackTo(Packer& p) const { pack_(p); }

 private:
  std::function<void(Packer&)> pack_;
};

// The bytes of a map with these pairs, in this order.
std::string PackedMap(KeyValues pairs) {
  msgpack::sbuffer buffer;
  Packable::Packer p(buffer);
  Packable(std::move(pairs)).PackTo(p);
  return std::string(buffer.data(), buffer.size());
}

// Fixed bytes: if one of these changes, the wire format changed and every peer must change with it.
TEST(WireFormatTest, SpawnpointHeartbeatBytesAreFixed) {
  EXPECT_EQ(
      Hex(Encode(DemoHeartbeat())),
      "89a5416c696173a5616c706861a454696d65cf17979cfe362a0000a756657273696f6ea5302e312e30a8546f"
      "74616c4d656dcd1000ae546f74616c437075536861726573cd1000ac417661696c61626c654d656dcd0c00b2"
      "417661696c61626c65437075536861726573cd0e00a8536572766963657391a464656d6fb1486561727462"
      "656174496e74657276616ccd1388");
}

// A heartbeat from a spawnd that does not send its interval (the first wire format) still decodes;
// the interval is then 0, "unknown".
TEST(WireFormatTest, HeartbeatWithoutIntervalDecodesWithIntervalUnknown) {
  auto hb = DecodeSpawnpointHeartbeat(
      PackedMap({{"Alias", "old"}, {"Services", std::vector<std::string>{}}}));
  ASSERT_TRUE(hb.ok()) << hb.status().message();
  EXPECT_EQ(hb->alias, "old");
  EXPECT_EQ(hb->heartbeat_interval_ms, 0);
}

// Warnings travel only when there are any: a heartbeat without them is the bytes above, and one
// without the key (older spawnds) decodes with none.
TEST(WireFormatTest, HeartbeatWarningsRoundTripAndMayBeAbsent) {
  SpawnpointHeartbeat hb = DemoHeartbeat();
  hb.warnings = {"pidsLimit is not enforced by this Docker engine"};
  auto decoded = DecodeSpawnpointHeartbeat(Encode(hb));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->warnings, hb.warnings);
  EXPECT_EQ(Hex(Encode(hb)).substr(0, 2), "8a");  // ten members
  auto without = DecodeSpawnpointHeartbeat(Encode(DemoHeartbeat()));
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(without->warnings.empty());
}

// The disk budget travels only when the spawnpoint has one (diskAlloc).
TEST(WireFormatTest, HeartbeatDiskBudgetRoundTripsAndIsAbsentWithoutOne) {
  SpawnpointHeartbeat hb = DemoHeartbeat();
  hb.total_disk_mib = 20480;
  hb.available_disk_mib = 19000;
  auto decoded = DecodeSpawnpointHeartbeat(Encode(hb));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->total_disk_mib, 20480);
  EXPECT_EQ(decoded->available_disk_mib, 19000);
  EXPECT_EQ(Hex(Encode(hb)).substr(0, 2), "8b");  // eleven members
  EXPECT_THAT(Hex(Encode(DemoHeartbeat())), ::testing::Not(HasSubstr(Hex("TotalDisk"))));
}

// The heartbeat policy travels only when set; without it (older spawnds) it decodes empty.
TEST(WireFormatTest, HeartbeatPolicyRoundTripsAndIsAbsentUnlessSet) {
  SpawnpointHeartbeat hb = DemoHeartbeat();
  hb.heartbeat_policy = kReportByException;
  auto decoded = DecodeSpawnpointHeartbeat(Encode(hb));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->heartbeat_policy, "exception");
  EXPECT_EQ(Hex(Encode(hb)).substr(0, 2), "8a");  // ten members
  EXPECT_THAT(Hex(Encode(DemoHeartbeat())), ::testing::Not(HasSubstr(Hex("HeartbeatPolicy"))));
  auto without = DecodeSpawnpointHeartbeat(Encode(DemoHeartbeat()));
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(without->heartbeat_policy.empty());
}

TEST(WireFormatTest, NegativeHeartbeatIntervalIsRefusedNamingTheKey) {
  SpawnpointHeartbeat hb = DemoHeartbeat();
  hb.heartbeat_interval_ms = -1;
  auto decoded = DecodeSpawnpointHeartbeat(Encode(hb));
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.status().message(), HasSubstr("HeartbeatInterval"));
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
  EXPECT_EQ(shb->health, "");

  HealthCheck check;
  check.http = "http://127.0.0.1:8080/health";
  check.expect = "ok";
  check.retries = 5;
  check.interval = std::chrono::milliseconds(500);
  original.original_config.health_check = check;
  original.health = "unhealthy";
  original.health_output = "connection refused";
  auto health = DecodeServiceHeartbeat(Encode(original));
  ASSERT_TRUE(health.ok()) << health.status().message();
  EXPECT_EQ(health->health, "unhealthy");
  EXPECT_EQ(health->health_output, "connection refused");
  EXPECT_EQ(health->original_config, original.original_config);  // healthCheck: a nested map

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
  auto command = DecodeServiceCommand(PackedMap({{"RequestId", "r"},
                                                 {"Service", "demo"},
                                                 {"FutureField", std::vector<int>{1, 2}},
                                                 {"Ok", true}}));
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
  const std::string bytes = PackedMap({{"RequestId", "r"}, {"Code", "five hundred"}});
  auto reply = DecodeReply(bytes);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().message(), "reply: Code: expected an integer, got string");
  EXPECT_EQ(PeekRequestId(bytes), "r");
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

TEST(ConfigOnTheWireTest, ValuesAreTypedByKeyNotGuessedFromText) {
  ServiceConfig c = DemoConfig();
  c.name = "123";
  c.image = "true";
  c.auto_restart = true;
  c.restart_interval = std::chrono::seconds(30);
  const std::string bytes = Encode(DeployRequest{"r", c, "", false, ""});
  msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
  const auto config = handle->via.map.ptr[1].val.as<std::map<std::string, msgpack::object>>();
  EXPECT_EQ(config.at("name").type, msgpack::type::STR);
  EXPECT_EQ(config.at("image").type, msgpack::type::STR);
  EXPECT_EQ(config.at("cpuShares").type, msgpack::type::POSITIVE_INTEGER);
  EXPECT_EQ(config.at("autoRestart").type, msgpack::type::BOOLEAN);
  EXPECT_EQ(config.at("restartInt").as<std::string>(), "30s");
  EXPECT_EQ(config.at("memAlloc").as<std::string>(), "64M");
  EXPECT_EQ(config.at("run").type, msgpack::type::ARRAY);
  auto back = DecodeDeployRequest(bytes);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->config, c);
}

// What a client in another language sends: a map written by hand, in any key order.
TEST(ConfigOnTheWireTest, AcceptsAHandWrittenMap) {
  const std::string bytes =
      PackedMap({{"Replace", false},
                 {"Config", KeyValues{{"cpuShares", 256},
                                      {"memAlloc", "1g"},
                                      {"run", std::vector<std::string>{"python3", "svc.py"}},
                                      {"name", "py"},
                                      {"autoRestart", true},
                                      {"restartInt", "1h30m"}}},
                 {"Archive", "tar as str"}});  // str accepted where bin is expected
  auto d = DecodeDeployRequest(bytes);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->config.name, "py");
  EXPECT_EQ(d->config.cpu_shares, 256);
  EXPECT_EQ(d->config.mem_alloc_bytes, 1024 * kMiB);
  EXPECT_TRUE(d->config.auto_restart);
  EXPECT_EQ(d->config.restart_interval, std::chrono::minutes(90));
  EXPECT_EQ(d->archive, "tar as str");
  EXPECT_TRUE(d->request_id.empty());
}

TEST(ConfigOnTheWireTest, ErrorsNameTheKey) {
  // A config with the required keys, `run` as given, and `extra` after them.
  auto config = [](Packable run, KeyValues extra = {}) {
    KeyValues c = {{"name", "s"}, {"run", std::move(run)}, {"memAlloc", "1G"}, {"cpuShares", 1}};
    c.insert(c.end(), extra.begin(), extra.end());
    return Packable(std::move(c));
  };
  const std::vector<std::string> run = {"x"};
  struct Case {
    std::string bytes;
    std::string expected;
  } cases[] = {
      {PackedMap({{"Config", 5}}), "deploy request: Config: expected a map, got integer"},
      {PackedMap({{"RequestId", "r"}}), "deploy request: Config is required"},
      {PackedMap({{"Config", config(run, {{"frobnicate", 1}})}}),
       "deploy request: Config: unknown key \"frobnicate\"; expected one of"},
      {PackedMap({{"Config", config("x")}}),
       "Config: run: \"x\" is not a list; expected the command as a list of strings"},
      {PackedMap({{"Config", KeyValues{{7, 1}}}}), "Config key: expected a string, got integer"},
      {PackedMap({{"Config", config(run)}, {"Replace", "yes"}}),
       "deploy request: Replace: expected a boolean, got string"},
  };
  for (const auto& c : cases) {
    auto decoded = DecodeDeployRequest(c.bytes);
    ASSERT_FALSE(decoded.ok()) << c.expected;
    EXPECT_EQ(decoded.status().code(), Code::kBadRequest);
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.expected));
  }
}

TEST(DecodeTest, EntityTravelsAsBin) {
  DeployRequest d = DemoDeploy();
  d.entity = std::string("key\0bytes", 9);
  auto back = DecodeDeployRequest(Encode(d));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->entity, d.entity);
}

TEST(DecodeTest, BareNameForms) {
  EXPECT_EQ(DecodeServiceCommand("demo\n")->service, "demo");  // echo demo | mosquitto_pub -s
  EXPECT_EQ(DecodeServiceCommand("1")->service, "1");          // also a msgpack integer
  EXPECT_EQ(DecodeServiceCommand(" my-svc.2 \r\n")->service, "my-svc.2");
  EXPECT_EQ(DecodeServiceCommand("caf\xc3\xa9").status().message(),
            "command: Service: \"caf\xc3\xa9\" is not a service name; expected 1-63 letters, "
            "digits, _ . - starting with a letter or digit");
  EXPECT_THAT(DecodeServiceCommand("server").status().message(), HasSubstr("is reserved"));
  EXPECT_THAT(DecodeServiceCommand(Encode(ServiceCommand{"r", "a/#"})).status().message(),
              HasSubstr("command: Service: \"a/#\" is not a service name"));
  for (const std::string& bad :
       {std::string(""), std::string("  \n"), std::string("\xff\xfe"), std::string("a\0b", 3),
        std::string("\xc0\xaf"), std::string(300, 'a')}) {
    EXPECT_FALSE(DecodeServiceCommand(bad).ok()) << Hex(bad);
  }
  auto missing = DecodeServiceCommand(PackedMap({{"RequestId", "r"}}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "command: Service is required");
  auto typed = DecodeServiceCommand(PackedMap({{"Service", 3}}));
  EXPECT_EQ(typed.status().message(), "command: Service: expected a string, got integer");
}

// A listing that shows only state and usage skips the original config, unreadable or not.
TEST(DecodeTest, ServiceHeartbeatWithoutOriginalConfigDecodesTheRestAlike) {
  const ServiceHeartbeat demo = DemoServiceHeartbeat();
  auto full = DecodeServiceHeartbeat(Encode(demo));
  auto lean = DecodeServiceHeartbeat(Encode(demo), HeartbeatDetail::kWithoutOriginalConfig);
  ASSERT_TRUE(full.ok() && lean.ok());
  EXPECT_EQ(full->original_config, demo.original_config);
  EXPECT_EQ(lean->original_config, ServiceConfig{});
  ServiceHeartbeat expected = *full;
  expected.original_config = {};
  EXPECT_EQ(Encode(*lean), Encode(expected));

  std::string unreadable = Encode(demo);
  unreadable.replace(unreadable.find("64M"), 3, "64X");
  auto skipped = DecodeServiceHeartbeat(unreadable, HeartbeatDetail::kWithoutOriginalConfig);
  ASSERT_TRUE(skipped.ok()) << skipped.status().message();
  EXPECT_TRUE(skipped->original_config_error.empty());
  EXPECT_EQ(skipped->restarts, demo.restarts);
}

// A heartbeat is display data: a config this reader rejects (say, a newer spawnd's key) must not
// hide the state and usage.
TEST(DecodeTest, ServiceHeartbeatWithAnUnreadableOriginalConfigKeepsTheRest) {
  std::string bytes = Encode(DemoServiceHeartbeat());
  bytes.replace(bytes.find("64M"), 3, "64X");
  auto hb = DecodeServiceHeartbeat(bytes);
  ASSERT_TRUE(hb.ok()) << hb.status().message();
  EXPECT_EQ(hb->state, ServiceState::kRunning);
  EXPECT_EQ(hb->restarts, 2);
  EXPECT_EQ(hb->original_config, ServiceConfig{});
  EXPECT_THAT(hb->original_config_error, HasSubstr("OriginalConfig: memAlloc: \"64X\""));
  auto good = DecodeServiceHeartbeat(Encode(DemoServiceHeartbeat()));
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(good->original_config_error.empty());
  // Without OriginalConfig (an older spawnd) the rest still decodes.
  auto bare = DecodeServiceHeartbeat(PackedMap({{"Name", "demo"}, {"State", "zombie"}}));
  ASSERT_TRUE(bare.ok()) << bare.status().message();
  EXPECT_EQ(bare->state, ServiceState::kZombie);
  EXPECT_TRUE(bare->original_config_error.empty());
  auto bad_state = DecodeServiceHeartbeat(PackedMap({{"State", "dead"}}));
  EXPECT_THAT(bad_state.status().message(), HasSubstr("State: \"dead\" is not a state"));
}

TEST(DecodeTest, EveryTruncationOfEveryMessageIsAnError) {
  const std::pair<std::string, std::function<bool(const std::string&)>> cases[] = {
      {Encode(ServiceCommand{"r", "demo"}),
       [](const std::string& b) { return DecodeServiceCommand(b).ok(); }},
      {Encode(LogsRequest{"r", "demo", 5}),
       [](const std::string& b) { return DecodeLogsRequest(b).ok(); }},
      {Encode(Reply{"r", true, 200, "ok"}),
       [](const std::string& b) { return DecodeReply(b).ok(); }},
      {Encode(LogMessage{1, "a", "s", "stdout", "x"}),
       [](const std::string& b) { return DecodeLogMessage(b).ok(); }},
      {Encode(DemoDeploy()), [](const std::string& b) { return DecodeDeployRequest(b).ok(); }},
      {Encode(DemoServiceHeartbeat()),
       [](const std::string& b) { return DecodeServiceHeartbeat(b).ok(); }},
  };
  for (const auto& [full, decodes] : cases) {
    ASSERT_TRUE(decodes(full)) << Hex(full);
    for (size_t n = 0; n < full.size(); ++n) {
      EXPECT_FALSE(decodes(full.substr(0, n))) << Hex(full) << " cut at " << n;
    }
    EXPECT_FALSE(decodes(full + '\x00')) << "trailing byte after " << Hex(full);
  }
}

TEST(DecodeTest, WrongTypesAndRangesNameTheKey) {
  auto hb = DecodeSpawnpointHeartbeat(PackedMap({{"Services", std::vector<int>{1}}}));
  EXPECT_EQ(hb.status().message(), "heartbeat: Services[0]: expected a string, got integer");
  auto time = DecodeLogMessage(PackedMap({{"Time", uint64_t{1} << 63}}));
  EXPECT_EQ(time.status().message(), "log message: Time: expected a 64-bit integer, got integer");
  auto code = DecodeReply(PackedMap({{"Code", int64_t{1} << 40}}));
  EXPECT_THAT(code.status().message(), HasSubstr("Code: out of range"));
  auto logs = DecodeLogsReply(PackedMap({{"Messages", std::vector<std::string>{"line"}}}));
  EXPECT_EQ(logs.status().message(), "logs reply: Messages[0]: expected a map, got string");
  auto not_a_map = DecodeReply(std::string("\x92\x01\x02"));  // [1, 2]
  EXPECT_EQ(not_a_map.status().message(), "reply: expected a map, got array");
  // Numbers where floats are expected are accepted, as other encoders pick the narrowest type.
  auto usage = DecodeServiceHeartbeat(PackedMap({{"CpuPercent", 150}}));
  ASSERT_TRUE(usage.ok()) << usage.status().message();
  EXPECT_EQ(usage->cpu_percent, 150.0);
}

TEST(DecodeTest, HostileShapesAreRefusedCheaply) {
  // 40 nested arrays: deeper than any message.
  const std::string deep = std::string(40, '\x91') + '\xc0';
  EXPECT_THAT(DecodeReply(deep).status().message(), HasSubstr("deeper than 32 levels"));
  // An array claiming 2^32-1 elements in 5 bytes, inside a map value.
  const std::string claims("\x81\xa1x\xdd\xff\xff\xff\xff", 8);
  EXPECT_THAT(DecodeDeployRequest(claims).status().message(),
              HasSubstr("claims more elements than it holds"));
  // A config map with many keys decodes in linear time and fails on the first unknown key.
  KeyValues config;
  for (int i = 0; i < 100000; ++i) config.emplace_back(std::to_string(i), i);
  const std::string many_keys = PackedMap({{"Config", std::move(config)}});
  EXPECT_THAT(DecodeDeployRequest(many_keys).status().message(), HasSubstr("unknown key \"0\""));
  EXPECT_TRUE(PeekRequestId(deep).empty());
}

TEST(ReplyTest, FromStatus) {
  Reply ok = Reply::FromStatus("r", Status::Ok(), "deployed demo");
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.code, 200);
  EXPECT_EQ(ok.message, "deployed demo");
  EXPECT_EQ(ok.request_id, "r");
  Reply no = Reply::FromStatus("r", Status::Unavailable("Insufficient resources"), "unused");
  EXPECT_FALSE(no.ok);
  EXPECT_EQ(no.code, 503);
  EXPECT_EQ(no.message, "Insufficient resources");
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
