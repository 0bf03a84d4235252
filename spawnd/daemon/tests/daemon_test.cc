// Daemon on the DaemonTest fixture (daemon_fixture.h): slots, replies, heartbeats, presence, the
// broker away and the journal. The logs slot and history are in daemon_logs_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "daemon_fixture.h"

namespace spawn::daemon_testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST_F(DaemonTest, StartSubscribesToTheSlotsAndAnnouncesPresenceMetadataAndHeartbeats) {
  supervisor_.services = {Snapshot("web", proto::ServiceState::kRunning)};
  StartDaemon();
  EXPECT_EQ(bus_.Subscriptions(),
            (std::set<std::string>{topics::ConfigSlot(kPath), topics::RestartSlot(kPath),
                                   topics::StopSlot(kPath), topics::LogsSlot(kPath),
                                   topics::RollbackSlot(kPath)}));
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

// The spawnpoint heartbeat goes out every interval; a service's only when it changed (report by
// exception: see HeartbeatPolicy), at once for a change the supervisor reports, at the next
// interval for usage past the deadband.
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
  EXPECT_EQ(proto::DecodeSpawnpointHeartbeat(SeenOn(topics::Heartbeat(kPath))[0].payload)
                ->heartbeat_policy,
            proto::kReportByException);
  EXPECT_TRUE(SeenOn(topics::ServiceHeartbeat(kPath, "web")).empty());  // nothing changed
  loop_.AdvanceBy(10s);
  Settle();
  EXPECT_EQ(SeenOn(topics::Heartbeat(kPath)).size(), 3u);
  EXPECT_TRUE(SeenOn(topics::ServiceHeartbeat(kPath, "web")).empty());
  // Memory past the deadband (3 MiB to 5 MiB): out at the next interval, retained.
  supervisor_.services[0].usage.memory_usage_bytes = 5 * kMiB;
  loop_.AdvanceBy(5s);
  Settle();
  auto web = SeenOn(topics::ServiceHeartbeat(kPath, "web"));
  ASSERT_EQ(web.size(), 1u);
  EXPECT_TRUE(bus_.PublishedOn(topics::ServiceHeartbeat(kPath, "web")).back().retained);
  EXPECT_DOUBLE_EQ(proto::DecodeServiceHeartbeat(web[0].payload)->mem_usage_mib, 5.0);
  loop_.AdvanceBy(5s);
  Settle();
  EXPECT_EQ(SeenOn(topics::ServiceHeartbeat(kPath, "web")).size(), 1u);

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

// A reconnection may be to a broker that lost its session and its retained messages: every
// heartbeat goes out again, the unchanged services' too.
TEST_F(DaemonTest, AfterAReconnectionEveryServiceHeartbeatIsRepublished) {
  supervisor_.services = {Snapshot("web", proto::ServiceState::kRunning),
                          Snapshot("db", proto::ServiceState::kRunning)};
  StartDaemon();
  loop_.AdvanceBy(5s);
  Settle();
  ClearSeen();
  bus_.DropConnection();
  loop_.RunPending();
  ASSERT_TRUE(bus_.Connect().ok());
  Settle();
  EXPECT_EQ(SeenOn(topics::ServiceHeartbeat(kPath, "web")).size(), 1u);
  EXPECT_EQ(SeenOn(topics::ServiceHeartbeat(kPath, "db")).size(), 1u);
  EXPECT_EQ(SeenOn(topics::Heartbeat(kPath)).size(), 1u);
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
                      proto::Encode(proto::ServiceCommand{"left-pending", "web"}), 1, false},
                     0)
            .ok());
    ASSERT_TRUE(
        before_crash
            ->Record({topics::ConfigSlot(kPath),
                      proto::Encode(proto::DeployRequest{"answered", Config("db"), "", false, ""}),
                      1, false},
                     0)
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

// Commands that arrive while spawnd is stopping are journaled with their deadlines and left
// pending; after the restart, one whose expiry has passed meanwhile is answered with 504 and not
// carried out, and one still in time is carried out.
TEST_F(DaemonTest, WithAJournalACommandThatExpiredBeforeTheRestartIsNotCarriedOut) {
  StartWithJournal("daemon-expiry");
  daemon_->Shutdown();  // what arrives now is journaled and left for the next start
  BusMessage brief{topics::RestartSlot(kPath), proto::Encode(proto::ServiceCommand{"brief", "web"}),
                   1, false, 2s};
  BusMessage lasting{topics::StopSlot(kPath), proto::Encode(proto::ServiceCommand{"lasting", "db"}),
                     1, false, 10min};
  ASSERT_TRUE(client_.Publish(brief).ok());
  ASSERT_TRUE(client_.Publish(lasting).ok());
  loop_.RunPending();
  auto journaled = MakeFileCommandJournal(journal_dir_, Daemon::kRepliesRemembered)->Load();
  ASSERT_TRUE(journaled.ok());
  ASSERT_EQ(journaled->pending.size(), 2u);
  EXPECT_EQ(journaled->pending[0].deadline_unix_ns, ToUnixNanos(loop_.WallNow() + 2s));
  EXPECT_EQ(journaled->pending[1].deadline_unix_ns, ToUnixNanos(loop_.WallNow() + 10min));
  ASSERT_TRUE(supervisor_.commands.empty());

  loop_.AdvanceBy(3s);  // spawnd is down past the brief command's expiry
  RestartedDaemon restarted = Restart();

  EXPECT_THAT(supervisor_.commands, ElementsAre("stop db"));
  ASSERT_EQ(RepliesTo("brief").size(), 1u);
  EXPECT_EQ(RepliesTo("brief")[0].code, 504);
  EXPECT_EQ(RepliesTo("brief")[0].message, "the command expired before spawnd could act on it");
  ASSERT_EQ(RepliesTo("lasting").size(), 1u);
  EXPECT_EQ(RepliesTo("lasting")[0].code, 200);
  auto after = MakeFileCommandJournal(journal_dir_, Daemon::kRepliesRemembered)->Load();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->pending.empty());  // the expired one is done too
  restarted.daemon->Shutdown();
  std::filesystem::remove_all(journal_dir_);
}

}  // namespace
}  // namespace spawn::daemon_testing
