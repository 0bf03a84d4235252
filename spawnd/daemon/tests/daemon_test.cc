// Daemon on a FakeBus (with a second FakeBus of the same FakeBroker as the client), a fake
// Supervisor that records commands, and a ManualEventLoop: no engine, no broker, no sleeping.
// The daemon publishes through its Outbox thread, so every assertion on what was published comes
// after Settle() (run the loop, then flush the outbox).
#include "spawn/daemon/daemon.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <thread>

#include "spawn/bus/fake_bus.h"
#include "spawn/common/units.h"
#include "spawn/proto/topics.h"

namespace spawn {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Records commands; answers with the status it is told to; reports the services it is given.
class FakeSupervisor final : public Supervisor {
 public:
  Status Start() override { return Status::Ok(); }
  void Shutdown() override { commands.push_back("shutdown"); }
  Status Deploy(const proto::DeployRequest& request) override {
    commands.push_back("deploy " + request.config.name);
    return next;
  }
  Status Restart(const std::string& name) override {
    commands.push_back("restart " + name);
    return next;
  }
  Status Stop(const std::string& name) override {
    commands.push_back("stop " + name);
    return next;
  }
  std::vector<ServiceSnapshot> Services() const override { return services; }
  PoolSnapshot Pool() const override { return pool; }

  Status next;  // what the next commands return
  std::vector<std::string> commands;
  std::vector<ServiceSnapshot> services;
  PoolSnapshot pool{1024 * kMiB, 2048, 960 * kMiB, 1920};
};

ServiceConfig Config(const std::string& name) {
  ServiceConfig c;
  c.name = name;
  c.image = "busybox";
  c.run = {"sh", "-c", "sleep 1000"};
  c.mem_alloc_bytes = 64 * kMiB;
  c.cpu_shares = 128;
  return c;
}

ServiceSnapshot Snapshot(const std::string& name, proto::ServiceState state) {
  ServiceSnapshot s;
  s.name = name;
  s.state = state;
  s.container_id = "c-" + name;
  s.config = Config(name);
  s.reserved = true;
  s.usage.memory_usage_bytes = 3 * kMiB;
  s.usage.cpu_percent = 12.5;
  s.usage.network_rx_bytes = 2'000'000;
  return s;
}

// msgpack {key1: str1, key2: int}: a well-formed map whose second value has the wrong type.
std::string MapWithWrongType(const std::string& k1, const std::string& v1, const std::string& k2) {
  auto str = [](const std::string& s) { return std::string(1, char(0xa0 | s.size())) + s; };
  return std::string(1, char(0x82)) + str(k1) + str(v1) + str(k2) + std::string(1, char(42));
}

class DaemonTest : public ::testing::Test {
 protected:
  static constexpr const char* kPath = "test/spawnpoint/alpha";

  DaemonTest() : bus_(broker_, WithWill()), client_(broker_) {
    config_.path = kPath;
    config_.alias = "alpha";
    config_.mem_alloc_bytes = 1024 * kMiB;
    config_.cpu_shares = 2048;
    config_.heartbeat_interval = 5s;
    daemon_ = std::make_unique<Daemon>(config_, std::map<std::string, std::string>{{"room", "410"}},
                                       bus_, loop_);
    daemon_->SetSupervisor(&supervisor_);
    daemon_->InstallHandlers();
    client_.SetMessageHandler([this](const BusMessage& m) {
      std::lock_guard lock(mu_);
      seen_.push_back(m);
    });
  }

  static BusOptions WithWill() {
    BusOptions o;
    o.will = BusMessage{topics::Presence(kPath), "offline", 1, true};
    return o;
  }

  void StartDaemon() {
    ASSERT_TRUE(bus_.Connect().ok());
    ASSERT_TRUE(client_.Connect().ok());
    ASSERT_TRUE(client_.Subscribe(topics::Root(kPath) + "/#", 1).ok());
    ASSERT_TRUE(daemon_->Start().ok());
    Settle();
  }

  void Settle() {
    loop_.RunPending();
    ASSERT_TRUE(daemon_->FlushForTest(10s));
  }

  // Publishes as a client would and lets the daemon handle it.
  void Send(const std::string& topic, const std::string& payload) {
    ASSERT_TRUE(client_.Publish({topic, payload, 1, false}).ok());
    Settle();
  }

  std::vector<BusMessage> SeenOn(const std::string& filter) {
    std::lock_guard lock(mu_);
    std::vector<BusMessage> out;
    for (const auto& m : seen_) {
      if (TopicMatches(filter, m.topic)) out.push_back(m);
    }
    return out;
  }

  std::vector<proto::Reply> RepliesTo(const std::string& id) {
    std::vector<proto::Reply> out;
    for (const auto& m : SeenOn(topics::Reply(kPath, id))) {
      auto r = proto::DecodeReply(m.payload);
      EXPECT_TRUE(r.ok()) << r.status().message();
      if (r.ok()) out.push_back(*r);
    }
    return out;
  }

  std::vector<proto::LogMessage> LogsOn(const std::string& service) {
    std::vector<proto::LogMessage> out;
    for (const auto& m : SeenOn(topics::ServiceLog(kPath, service))) {
      auto l = proto::DecodeLogMessage(m.payload);
      if (l.ok()) out.push_back(*l);
    }
    return out;
  }

  // Asks the logs slot for the history of `service` and gathers the lines of every reply.
  std::vector<proto::LogMessage> AskHistory(const std::string& id, const std::string& service) {
    Send(topics::LogsSlot(kPath), proto::Encode(proto::LogsRequest{id, service, 0}));
    std::vector<proto::LogMessage> lines;
    for (const auto& r : SeenOn(topics::LogsReply(kPath, id))) {
      auto decoded = proto::DecodeLogsReply(r.payload);
      EXPECT_TRUE(decoded.ok());
      if (decoded.ok())
        lines.insert(lines.end(), decoded->messages.begin(), decoded->messages.end());
    }
    return lines;
  }

  void ClearSeen() {
    std::lock_guard lock(mu_);
    seen_.clear();
  }

  SpawndConfig config_;
  FakeBroker broker_;
  FakeBus bus_;
  FakeBus client_;
  ManualEventLoop loop_;
  FakeSupervisor supervisor_;
  std::unique_ptr<Daemon> daemon_;
  std::mutex mu_;
  std::vector<BusMessage> seen_;  // guarded by mu_ (the outbox thread delivers)
};

TEST_F(DaemonTest, StartSubscribesToTheSlotsAndAnnouncesPresenceMetadataAndHeartbeats) {
  supervisor_.services = {Snapshot("web", proto::ServiceState::kRunning)};
  StartDaemon();
  EXPECT_EQ(bus_.Subscriptions(),
            (std::set<std::string>{topics::ConfigSlot(kPath), topics::RestartSlot(kPath),
                                   topics::StopSlot(kPath), topics::LogsSlot(kPath)}));
  const auto retained = broker_.Retained();
  EXPECT_EQ(retained.at(topics::Presence(kPath)).payload, "online");
  EXPECT_EQ(retained.at(topics::Meta(kPath, "room")).payload, "410");
  auto hb = proto::DecodeSpawnpointHeartbeat(retained.at(topics::Heartbeat(kPath)).payload);
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->alias, "alpha");
  EXPECT_EQ(hb->total_mem_mib, 1024);
  EXPECT_EQ(hb->available_mem_mib, 960);
  EXPECT_EQ(hb->available_cpu_shares, 1920);
  EXPECT_EQ(hb->services, std::vector<std::string>{"web"});
  auto web =
      proto::DecodeServiceHeartbeat(retained.at(topics::ServiceHeartbeat(kPath, "web")).payload);
  ASSERT_TRUE(web.ok());
  EXPECT_EQ(web->state, proto::ServiceState::kRunning);
  EXPECT_EQ(web->spawnpoint_uri, kPath);
  EXPECT_EQ(web->container_id, "c-web");
  EXPECT_EQ(web->mem_alloc_mib, 64);
  EXPECT_DOUBLE_EQ(web->mem_usage_mib, 3);
  EXPECT_DOUBLE_EQ(web->cpu_percent, 12.5);
  EXPECT_DOUBLE_EQ(web->network_rx_mb, 2);
  EXPECT_EQ(web->original_config, Config("web"));
  for (const auto& m : bus_.PublishedOn(topics::Root(kPath) + "/#")) {
    if (m.topic.find("/signal/heartbeat") != std::string::npos) {
      EXPECT_TRUE(m.retained);
      EXPECT_EQ(m.qos, 1);
    }
  }
}

TEST_F(DaemonTest, RoutesEachSlotToTheSupervisorAndAnswersOnTheReplyTopic) {
  StartDaemon();
  Send(topics::ConfigSlot(kPath),
       proto::Encode(proto::DeployRequest{"d1", Config("web"), "", false, ""}));
  Send(topics::RestartSlot(kPath), proto::Encode(proto::ServiceCommand{"r1", "web"}));
  Send(topics::StopSlot(kPath), proto::Encode(proto::ServiceCommand{"s1", "web"}));
  Send(topics::StopSlot(kPath), "web");  // a bare name: acted on, nowhere to answer
  EXPECT_THAT(supervisor_.commands,
              ElementsAre("deploy web", "restart web", "stop web", "stop web"));
  for (const char* id : {"d1", "r1", "s1"}) {
    auto replies = RepliesTo(id);
    ASSERT_EQ(replies.size(), 1u) << id;
    EXPECT_TRUE(replies[0].ok);
    EXPECT_EQ(replies[0].code, 200);
    EXPECT_EQ(replies[0].request_id, id);
    EXPECT_THAT(replies[0].message, HasSubstr("web"));
  }
  EXPECT_THAT(RepliesTo("d1")[0].message, HasSubstr("accepted by alpha"));
}

TEST_F(DaemonTest, ARefusalIsAnsweredWithItsCodeAndMessageAndLoggedOnTheServiceTopic) {
  StartDaemon();
  supervisor_.next = Status::Unavailable(
      "Insufficient resources for service. CPU: Have 2048, Want 4096. Mem: Have 1024, Want 64");
  Send(topics::ConfigSlot(kPath),
       proto::Encode(proto::DeployRequest{"big", Config("huge"), "", false, ""}));
  auto replies = RepliesTo("big");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_FALSE(replies[0].ok);
  EXPECT_EQ(replies[0].code, 503);
  EXPECT_THAT(replies[0].message, HasSubstr("Insufficient resources for service. CPU: Have 2048"));
  auto logs = LogsOn("huge");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].stream, "spawnd");
  EXPECT_EQ(logs[0].sp_alias, "alpha");
  EXPECT_THAT(logs[0].contents, HasSubstr("[ERROR 503] Insufficient resources"));

  supervisor_.next = Status::NotFound("no service ghost on alpha");
  Send(topics::RestartSlot(kPath), proto::Encode(proto::ServiceCommand{"g", "ghost"}));
  ASSERT_EQ(RepliesTo("g").size(), 1u);
  EXPECT_EQ(RepliesTo("g")[0].code, 404);
  EXPECT_EQ(RepliesTo("g")[0].message, "no service ghost on alpha");

  // A refused name that never existed gets no history kept.
  Send(topics::LogsSlot(kPath), proto::Encode(proto::LogsRequest{"l", "huge", 0}));
  auto history = SeenOn(topics::LogsReply(kPath, "l"));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_TRUE(proto::DecodeLogsReply(history[0].payload)->messages.empty());
}

TEST_F(DaemonTest, ARepeatedRequestIdGetsTheFirstReplyAndIsNotActedOnAgain) {
  StartDaemon();
  const std::string deploy =
      proto::Encode(proto::DeployRequest{"same", Config("web"), "", false, ""});
  Send(topics::ConfigSlot(kPath), deploy);
  supervisor_.next = Status::Conflict("service web already exists");  // if it acted again
  Send(topics::ConfigSlot(kPath), deploy);
  Send(topics::StopSlot(kPath), proto::Encode(proto::ServiceCommand{"once", "web"}));
  Send(topics::StopSlot(kPath), proto::Encode(proto::ServiceCommand{"once", "web"}));
  EXPECT_THAT(supervisor_.commands, ElementsAre("deploy web", "stop web"));
  auto replies = RepliesTo("same");
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].code, 200);
  EXPECT_EQ(replies[1].code, 200);
  EXPECT_EQ(replies[0].message, replies[1].message);
  ASSERT_EQ(RepliesTo("once").size(), 2u);
  EXPECT_EQ(RepliesTo("once")[1].code, 409);  // the first reply, repeated
}

TEST_F(DaemonTest, RemembersABoundedNumberOfRequestsLeastRecentlyUsedFirst) {
  StartDaemon();
  Send(topics::StopSlot(kPath), proto::Encode(proto::ServiceCommand{"keep", "web"}));
  for (size_t i = 0; i < Daemon::kRepliesRemembered; ++i) {
    if (i == Daemon::kRepliesRemembered / 2) {  // used again: moves to the front
      Send(topics::StopSlot(kPath), proto::Encode(proto::ServiceCommand{"keep", "web"}));
    }
    daemon_->HandleMessage({topics::StopSlot(kPath),
                            proto::Encode(proto::ServiceCommand{"r" + std::to_string(i), "x"}), 1,
                            false});
  }
  Settle();
  const size_t before = supervisor_.commands.size();
  Send(topics::StopSlot(kPath), proto::Encode(proto::ServiceCommand{"keep", "web"}));
  EXPECT_EQ(supervisor_.commands.size(), before);  // still remembered
  Send(topics::StopSlot(kPath), proto::Encode(proto::ServiceCommand{"r0", "x"}));
  EXPECT_EQ(supervisor_.commands.size(), before + 1);  // forgotten: acted on again
}

TEST_F(DaemonTest, GarbageOnEverySlotIs400WithARequestIdAndOnlyLoggedWithout) {
  StartDaemon();
  const std::vector<std::pair<std::string, std::string>> slots = {
      {topics::ConfigSlot(kPath), "Config"},
      {topics::RestartSlot(kPath), "Service"},
      {topics::StopSlot(kPath), "Service"},
      {topics::LogsSlot(kPath), "Service"}};
  int n = 0;
  for (const auto& [slot, key] : slots) {
    const std::string id = "bad" + std::to_string(n++);
    Send(slot, MapWithWrongType("RequestId", id, key));
    auto replies = RepliesTo(id);
    ASSERT_EQ(replies.size(), 1u) << slot;
    EXPECT_FALSE(replies[0].ok);
    EXPECT_EQ(replies[0].code, 400) << slot;
    EXPECT_THAT(replies[0].message, HasSubstr(key)) << slot << ": name the offending key";
    // Without a RequestId there is nobody to answer; nothing is published, nothing breaks.
    ClearSeen();
    Send(slot, std::string("\x00\xff\xfe not msgpack", 16));
    Send(slot, "");
    EXPECT_TRUE(SeenOn(topics::Reply(kPath, "+")).empty()) << slot;
  }
  EXPECT_TRUE(supervisor_.commands.empty());
  // Still serving.
  Send(topics::ConfigSlot(kPath),
       proto::Encode(proto::DeployRequest{"ok", Config("web"), "", false, ""}));
  ASSERT_EQ(RepliesTo("ok").size(), 1u);
  EXPECT_EQ(RepliesTo("ok")[0].code, 200);
}

TEST_F(DaemonTest, HeartbeatsGoOutEveryIntervalAndAtOnceOnAChange) {
  supervisor_.services = {Snapshot("web", proto::ServiceState::kRunning)};
  StartDaemon();
  ClearSeen();
  loop_.AdvanceBy(4s);
  Settle();
  EXPECT_TRUE(SeenOn(topics::Heartbeat(kPath)).empty());
  loop_.AdvanceBy(1s);
  Settle();
  EXPECT_EQ(SeenOn(topics::Heartbeat(kPath)).size(), 1u);
  EXPECT_EQ(SeenOn(topics::ServiceHeartbeat(kPath, "web")).size(), 1u);
  loop_.AdvanceBy(10s);
  Settle();
  EXPECT_EQ(SeenOn(topics::Heartbeat(kPath)).size(), 3u);

  ClearSeen();
  supervisor_.services.push_back(Snapshot("db", proto::ServiceState::kBuilding));
  daemon_->OnServiceChanged(supervisor_.services.back());
  Settle();
  auto db = SeenOn(topics::ServiceHeartbeat(kPath, "db"));
  ASSERT_EQ(db.size(), 1u);
  EXPECT_EQ(proto::DecodeServiceHeartbeat(db[0].payload)->state, proto::ServiceState::kBuilding);
  auto hb = SeenOn(topics::Heartbeat(kPath));
  ASSERT_EQ(hb.size(), 1u);  // the list of services changed with it
  EXPECT_EQ(proto::DecodeSpawnpointHeartbeat(hb[0].payload)->services,
            (std::vector<std::string>{"web", "db"}));
  EXPECT_TRUE(SeenOn(topics::ServiceHeartbeat(kPath, "web")).empty());  // not the others
}

TEST_F(DaemonTest, APurgedServiceHasItsRetainedHeartbeatCleared) {
  supervisor_.services = {Snapshot("web", proto::ServiceState::kZombie)};
  StartDaemon();
  ASSERT_EQ(broker_.Retained().count(topics::ServiceHeartbeat(kPath, "web")), 1u);
  supervisor_.services.clear();
  daemon_->OnServicePurged("web");
  Settle();
  auto cleared = bus_.PublishedOn(topics::ServiceHeartbeat(kPath, "web"));
  ASSERT_FALSE(cleared.empty());
  EXPECT_TRUE(cleared.back().payload.empty());
  EXPECT_TRUE(cleared.back().retained);
  EXPECT_EQ(broker_.Retained().count(topics::ServiceHeartbeat(kPath, "web")), 0u);
  EXPECT_TRUE(
      proto::DecodeSpawnpointHeartbeat(broker_.Retained().at(topics::Heartbeat(kPath)).payload)
          ->services.empty());
}

TEST_F(DaemonTest, LogsArePublishedAndTheLogsSlotReturnsHistorySinceAndATerminator) {
  StartDaemon();
  daemon_->OnServiceLog("web", "spawnd", "[INFO] Launching service...");
  loop_.AdvanceBy(1s);
  const int64_t since = ToUnixNanos(loop_.WallNow());
  daemon_->OnServiceLog("web", "stdout", "hello");
  daemon_->OnServiceLog("web", "spawnd", "[SUCCESS] Service container has started");
  daemon_->OnServiceLog("db", "stdout", "other");
  Settle();
  auto live = LogsOn("web");
  ASSERT_EQ(live.size(), 3u);
  EXPECT_EQ(live[1].contents, "hello");
  EXPECT_EQ(live[1].stream, "stdout");
  EXPECT_EQ(live[1].service, "web");

  Send(topics::LogsSlot(kPath), proto::Encode(proto::LogsRequest{"all", "web", 0}));
  auto all = SeenOn(topics::LogsReply(kPath, "all"));
  ASSERT_EQ(all.size(), 2u);
  auto first = proto::DecodeLogsReply(all[0].payload);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->request_id, "all");
  EXPECT_EQ(first->messages, live);
  EXPECT_TRUE(proto::DecodeLogsReply(all[1].payload)->messages.empty());

  Send(topics::LogsSlot(kPath), proto::Encode(proto::LogsRequest{"since", "web", since}));
  auto recent = SeenOn(topics::LogsReply(kPath, "since"));
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(proto::DecodeLogsReply(recent[0].payload)->messages.size(), 2u);

  Send(topics::LogsSlot(kPath), proto::Encode(proto::LogsRequest{"none", "nobody", 0}));
  auto none = SeenOn(topics::LogsReply(kPath, "none"));
  ASSERT_EQ(none.size(), 1u);  // just the terminator
  EXPECT_TRUE(proto::DecodeLogsReply(none[0].payload)->messages.empty());
}

TEST_F(DaemonTest, HistoryKeepsTheLastLinesAndALongOneComesInSeveralReplies) {
  StartDaemon();
  for (size_t i = 0; i < Daemon::kLogLinesKept + 20; ++i)
    daemon_->OnServiceLog("web", "stdout", "line " + std::to_string(i));
  Settle();
  Send(topics::LogsSlot(kPath), proto::Encode(proto::LogsRequest{"h", "web", 0}));
  std::vector<proto::LogMessage> got;
  auto replies = SeenOn(topics::LogsReply(kPath, "h"));
  ASSERT_FALSE(replies.empty());
  for (const auto& r : replies) {
    auto decoded = proto::DecodeLogsReply(r.payload);
    ASSERT_TRUE(decoded.ok());
    EXPECT_LE(decoded->messages.size(), Daemon::kLogLinesPerReply);
    got.insert(got.end(), decoded->messages.begin(), decoded->messages.end());
  }
  EXPECT_TRUE(proto::DecodeLogsReply(replies.back().payload)->messages.empty());
  ASSERT_EQ(got.size(), Daemon::kLogLinesKept);
  EXPECT_EQ(got.front().contents, "line 20");
  EXPECT_EQ(got.back().contents, "line " + std::to_string(Daemon::kLogLinesKept + 19));

  // Long lines: the byte bound keeps fewer of them; one longer than the bound is kept alone.
  for (size_t i = 0; i < 100; ++i)
    daemon_->OnServiceLog("web", "stderr", std::string(1000, 'a' + i % 26));
  Settle();
  got = AskHistory("long", "web");
  ASSERT_EQ(got.size(), Daemon::kLogBytesKept / 1000);
  EXPECT_EQ(got.back().contents, std::string(1000, 'a' + 99 % 26));
  EXPECT_EQ(got.back().stream, "stderr");
  EXPECT_EQ(got.back().service, "web");
  EXPECT_EQ(got.back().sp_alias, "alpha");
  daemon_->OnServiceLog("web", "stdout", std::string(Daemon::kLogBytesKept + 1, 'z'));
  Settle();
  got = AskHistory("huge", "web");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].contents.size(), Daemon::kLogBytesKept + 1);

  // A purge forgets the history.
  daemon_->OnServicePurged("web");
  Send(topics::LogsSlot(kPath), proto::Encode(proto::LogsRequest{"h2", "web", 0}));
  EXPECT_EQ(SeenOn(topics::LogsReply(kPath, "h2")).size(), 1u);
}

TEST_F(DaemonTest, PresenceIsOnlineAfterEachReconnectionAndOfflineOnLossAndOnShutdown) {
  StartDaemon();
  EXPECT_EQ(broker_.Retained().at(topics::Presence(kPath)).payload, "online");
  bus_.DropConnection();  // the broker publishes the will
  loop_.RunPending();
  EXPECT_EQ(broker_.Retained().at(topics::Presence(kPath)).payload, "offline");
  ASSERT_TRUE(bus_.Connect().ok());
  Settle();
  EXPECT_EQ(broker_.Retained().at(topics::Presence(kPath)).payload, "online");
  EXPECT_EQ(broker_.Retained().count(topics::Heartbeat(kPath)), 1u);

  daemon_->Shutdown();
  EXPECT_EQ(broker_.Retained().at(topics::Presence(kPath)).payload, "offline");
  // After shutdown nothing more is handled or published.
  ClearSeen();
  Send(topics::StopSlot(kPath), proto::Encode(proto::ServiceCommand{"late", "web"}));
  loop_.AdvanceBy(1min);
  Settle();
  EXPECT_TRUE(supervisor_.commands.empty());
  EXPECT_TRUE(SeenOn(topics::Heartbeat(kPath)).empty());
}

TEST_F(DaemonTest, MessagesPublishedWhileTheBrokerIsAwayGoOutWhenItIsBack) {
  StartDaemon();
  bus_.DropConnection();
  loop_.RunPending();
  ClearSeen();
  daemon_->OnServiceLog("web", "spawnd", "[INFO] while away");
  loop_.RunPending();
  EXPECT_FALSE(daemon_->FlushForTest(0ms));  // held, not lost
  ASSERT_TRUE(bus_.Connect().ok());
  Settle();
  auto logs = LogsOn("web");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].contents, "[INFO] while away");
  EXPECT_EQ(daemon_->dropped(), 0u);
}

TEST_F(DaemonTest, APublishFailureWhileConnectedIsLoggedAndTheDaemonGoesOn) {
  StartDaemon();
  bus_.FailPublishes(true);
  Send(topics::StopSlot(kPath), proto::Encode(proto::ServiceCommand{"lost", "web"}));
  bus_.FailPublishes(false);
  Send(topics::StopSlot(kPath), proto::Encode(proto::ServiceCommand{"next", "web"}));
  EXPECT_TRUE(RepliesTo("lost").empty());
  EXPECT_EQ(RepliesTo("next").size(), 1u);
}

// A restarted spawnd with its journal: a command that arrived before the crash but was never
// handled is handled now; one that was answered (its reply remembered) is answered again with
// that reply, not acted on; new commands leave nothing pending behind them.
TEST_F(DaemonTest, WithAJournalACommandLeftByACrashIsHandledOnStartAndAnAnsweredOneIsNot) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("daemon-journal-" + std::to_string(getpid())))
          .string();
  std::filesystem::remove_all(dir);
  {
    auto before_crash = MakeFileCommandJournal(dir, Daemon::kRepliesRemembered);
    ASSERT_TRUE(before_crash->Load().ok());
    ASSERT_TRUE(
        before_crash
            ->Record({topics::StopSlot(kPath),
                      proto::Encode(proto::ServiceCommand{"left-pending", "web"}), 1, false})
            .ok());
    ASSERT_TRUE(
        before_crash
            ->Record({topics::ConfigSlot(kPath),
                      proto::Encode(proto::DeployRequest{"answered", Config("db"), "", false, ""}),
                      1, false})
            .ok());
    ASSERT_TRUE(before_crash
                    ->Remember("answered", proto::Encode(proto::Reply::FromStatus(
                                               "answered", Status::Ok(), "accepted before")))
                    .ok());
  }
  FakeBus restarted_bus(broker_);
  Daemon restarted(config_, {}, restarted_bus, loop_);
  auto journal = MakeFileCommandJournal(dir, Daemon::kRepliesRemembered);
  auto recovered = journal->Load();
  ASSERT_TRUE(recovered.ok());
  restarted.SetSupervisor(&supervisor_);
  restarted.SetJournal(journal.get(), std::move(*recovered));
  restarted.InstallHandlers();
  ASSERT_TRUE(restarted_bus.Connect().ok());
  ASSERT_TRUE(client_.Connect().ok());
  ASSERT_TRUE(client_.Subscribe(topics::Root(kPath) + "/#", 1).ok());
  // Delivered from the persistent session (which remembers the subscription) before Start:
  // recorded, and handled once.
  ASSERT_TRUE(restarted_bus.Subscribe(topics::RestartSlot(kPath), 1).ok());
  ASSERT_TRUE(client_
                  .Publish({topics::RestartSlot(kPath),
                            proto::Encode(proto::ServiceCommand{"early", "web"}), 1, false})
                  .ok());
  ASSERT_TRUE(restarted.Start().ok());
  ASSERT_TRUE(client_
                  .Publish({topics::RestartSlot(kPath),
                            proto::Encode(proto::ServiceCommand{"live", "web"}), 1, false})
                  .ok());
  loop_.RunPending();
  ASSERT_TRUE(restarted.FlushForTest(10s));

  EXPECT_THAT(supervisor_.commands, ElementsAre("stop web", "restart web", "restart web"));
  ASSERT_EQ(RepliesTo("left-pending").size(), 1u);
  EXPECT_EQ(RepliesTo("left-pending")[0].code, 200);
  ASSERT_EQ(RepliesTo("answered").size(), 1u);
  EXPECT_EQ(RepliesTo("answered")[0].message, "accepted before");
  EXPECT_EQ(RepliesTo("early").size(), 1u);
  EXPECT_EQ(RepliesTo("live").size(), 1u);
  auto after = MakeFileCommandJournal(dir, Daemon::kRepliesRemembered)->Load();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->pending.empty());
  EXPECT_EQ(after->replies.size(), 4u);  // answered, left-pending, early, live
  std::filesystem::remove_all(dir);
}

// A bus that records which thread published what, and holds every QoS 1 publish until released
// (as a real broker's PUBACK takes a while).
class GatedBus final : public Bus {
 public:
  void SetMessageHandler(MessageHandler) override {}
  void SetConnectionHandler(ConnectionHandler) override {}
  Status Connect() override { return Status::Ok(); }
  Status Publish(const BusMessage& m) override {
    std::unique_lock lock(mu_);
    published_.push_back({m.payload, std::this_thread::get_id()});
    changed_.notify_all();
    if (m.qos > 0) changed_.wait(lock, [this] { return released_; });
    return Status::Ok();
  }
  std::vector<Status> PublishBatch(const std::vector<BusMessage>& messages) override {
    {
      std::lock_guard lock(mu_);
      batch_sizes_.push_back(messages.size());
    }
    return Bus::PublishBatch(messages);
  }
  Status Subscribe(const std::string&, int) override { return Status::Ok(); }
  Status Unsubscribe(const std::string&) override { return Status::Ok(); }
  Status Disconnect() override { return Status::Ok(); }
  bool IsConnected() const override { return true; }

  std::vector<size_t> BatchSizes() {
    std::lock_guard lock(mu_);
    return batch_sizes_;
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    changed_.notify_all();
  }
  // Waits (a hang guard, not a timing threshold) until `count` publishes have been made.
  std::vector<std::pair<std::string, std::thread::id>> WaitForPublished(size_t count) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, 30s, [&] { return published_.size() >= count; });
    return published_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::pair<std::string, std::thread::id>> published_;  // guarded by mu_
  bool released_ = false;                                           // guarded by mu_
  std::vector<size_t> batch_sizes_;                                 // guarded by mu_
};

TEST(OutboxTest, AQos0MessageWithNothingAheadIsHandedToTheBusByPushItself) {
  GatedBus bus;
  Outbox outbox(bus, 100);
  outbox.Push({"t/log", "line 1", 0, false});
  auto published = bus.WaitForPublished(1);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].first, "line 1");
  EXPECT_EQ(published[0].second, std::this_thread::get_id());
  bus.Release();
}

TEST(OutboxTest, AQos0MessageWaitsBehindOneNotYetAcknowledgedAndOrderIsKept) {
  GatedBus bus;
  Outbox outbox(bus, 100);
  outbox.Push({"t/heartbeat", "heartbeat", 1, true});
  ASSERT_EQ(bus.WaitForPublished(1).size(), 1u);  // the outbox thread now waits for its PUBACK
  outbox.Push({"t/log", "line 1", 0, false});
  outbox.Push({"t/log", "line 2", 0, false});
  bus.Release();
  auto published = bus.WaitForPublished(3);
  ASSERT_EQ(published.size(), 3u);
  EXPECT_EQ(published[0].first, "heartbeat");
  EXPECT_EQ(published[1].first, "line 1");
  EXPECT_EQ(published[2].first, "line 2");
  EXPECT_NE(published[0].second, std::this_thread::get_id());
  EXPECT_NE(published[1].second, std::this_thread::get_id());
  EXPECT_TRUE(outbox.Flush(30s));
}

TEST(OutboxTest, WhatQueuesUpWhileAPublishWaitsGoesOutAsOneBatchInOrder) {
  GatedBus bus;
  Outbox outbox(bus, 1000);
  outbox.Push({"t/heartbeat", "first", 1, true});
  ASSERT_EQ(bus.WaitForPublished(1).size(), 1u);  // the outbox thread now waits for its PUBACK
  for (int i = 0; i < 200; ++i) outbox.Push({"t/heartbeat", std::to_string(i), 1, true});
  bus.Release();
  auto published = bus.WaitForPublished(201);
  ASSERT_EQ(published.size(), 201u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(published[i + 1].first, std::to_string(i));
  EXPECT_TRUE(outbox.Flush(30s));
  // The first alone, then the 200 queued meanwhile in batches of at most kBatch.
  EXPECT_THAT(bus.BatchSizes(), ElementsAre(1u, Outbox::kBatch, 200u - Outbox::kBatch));
}

}  // namespace
}  // namespace spawn
