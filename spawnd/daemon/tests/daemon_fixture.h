// The Daemon test fixture: a Daemon on a FakeBus (with a second FakeBus of the same FakeBroker as
// the client), a fake Supervisor that records commands, and a ManualEventLoop: no engine, no
// broker, no sleeping. The daemon publishes through its Outbox thread, so every assertion on what
// was published comes after Settle() (run the loop, then flush the outbox).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "spawn/bus/fake_bus.h"
#include "spawn/common/mutex.h"
#include "spawn/common/units.h"
#include "spawn/daemon/command_journal.h"
#include "spawn/daemon/daemon.h"
#include "spawn/daemon/job_log.h"
#include "spawn/proto/topics.h"

// Not in an anonymous namespace: the test files that share the DaemonTest suite must share its
// fixture type.
namespace spawn::daemon_testing {

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
  Status StopNow(const std::string& name) override {
    commands.push_back("stop --now " + name);
    return next;
  }
  std::vector<ServiceSnapshot> Services() const override { return services; }
  PoolSnapshot Pool() const override { return pool; }
  // As the engine: the last `max_lines` of `output[name]` stamped at or after `since`.
  void ReadOutput(const std::string& name, int64_t since_unix_ns, size_t max_lines,
                  OutputDone done) override {
    reads.push_back(name);
    if (!output_error.ok()) return done(output_error);
    std::vector<LogLine> lines;
    for (const LogLine& l : output[name])
      if (l.time_unix_ns >= since_unix_ns) lines.push_back(l);
    if (lines.size() > max_lines) lines.erase(lines.begin(), lines.end() - max_lines);
    done(lines);
  }

  Status next;  // what the next commands return
  std::vector<std::string> commands;
  std::vector<ServiceSnapshot> services;
  std::map<std::string, std::vector<LogLine>> output;  // container output per service
  Status output_error;                                 // what ReadOutput fails with, if not ok
  std::vector<std::string> reads;                      // services whose output was read
  PoolSnapshot pool{1024 * kMiB, 2048, 960 * kMiB, 1920};
};

inline ServiceConfig Config(const std::string& name) {
  ServiceConfig c;
  c.name = name;
  c.image = "busybox";
  c.run = {"sh", "-c", "sleep 1000"};
  c.mem_alloc_bytes = 64 * kMiB;
  c.cpu_shares = 128;
  return c;
}

inline ServiceSnapshot Snapshot(const std::string& name, proto::ServiceState state) {
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
inline std::string MapWithWrongType(const std::string& k1, const std::string& v1,
                                    const std::string& k2) {
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
    config_.heartbeat_interval = std::chrono::seconds(5);
    daemon_ = std::make_unique<Daemon>(config_, std::map<std::string, std::string>{{"room", "410"}},
                                       bus_, loop_);
    daemon_->SetSupervisor(&supervisor_);
    daemon_->InstallHandlers();
    client_.SetMessageHandler([this](const BusMessage& m) {
      MutexLock lock(mu_);
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

  // Gives the daemon a command journal in a directory of its own (emptied first), then starts it.
  void StartWithJournal(const std::string& name) {
    journal_dir_ =
        (std::filesystem::temp_directory_path() / (name + "-" + std::to_string(getpid()))).string();
    std::filesystem::remove_all(journal_dir_);
    first_journal_ = MakeFileCommandJournal(journal_dir_, Daemon::kRepliesRemembered);
    auto loaded = first_journal_->Load();
    ASSERT_TRUE(loaded.ok());
    daemon_->SetJournal(first_journal_.get(), std::move(*loaded));
    StartDaemon();
  }

  // spawnd started again on the journal of StartWithJournal (with `job_log`, if given), once it
  // handled what it recovered.
  struct RestartedDaemon {
    std::unique_ptr<FakeBus> bus;
    std::unique_ptr<CommandJournal> journal;
    std::unique_ptr<Daemon> daemon;
  };
  RestartedDaemon Restart(JobLog* job_log = nullptr) {
    RestartedDaemon r;
    r.bus = std::make_unique<FakeBus>(broker_);
    r.daemon =
        std::make_unique<Daemon>(config_, std::map<std::string, std::string>{}, *r.bus, loop_);
    r.journal = MakeFileCommandJournal(journal_dir_, Daemon::kRepliesRemembered);
    auto recovered = r.journal->Load();
    EXPECT_TRUE(recovered.ok());
    if (!recovered.ok()) return r;
    r.daemon->SetSupervisor(&supervisor_);
    r.daemon->SetJournal(r.journal.get(), std::move(*recovered));
    if (job_log) r.daemon->SetJobLog(job_log);
    r.daemon->InstallHandlers();
    EXPECT_TRUE(r.bus->Connect().ok());
    EXPECT_TRUE(r.daemon->Start().ok());
    loop_.RunPending();
    EXPECT_TRUE(r.daemon->FlushForTest(std::chrono::seconds(10)));
    return r;
  }

  void Settle() {
    loop_.RunPending();
    ASSERT_TRUE(daemon_->FlushForTest(std::chrono::seconds(10)));
  }

  // Publishes as a client would and lets the daemon handle it.
  void Send(const std::string& topic, const std::string& payload) {
    ASSERT_TRUE(client_.Publish({topic, payload, 1, false}).ok());
    Settle();
  }

  std::vector<BusMessage> SeenOn(const std::string& filter) {
    MutexLock lock(mu_);
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
    MutexLock lock(mu_);
    seen_.clear();
  }

  SpawndConfig config_;
  FakeBroker broker_;
  FakeBus bus_;
  FakeBus client_;
  ManualEventLoop loop_;
  FakeSupervisor supervisor_;
  std::unique_ptr<Daemon> daemon_;
  std::string journal_dir_;  // StartWithJournal's
  std::unique_ptr<CommandJournal> first_journal_;
  Mutex mu_;
  std::vector<BusMessage> seen_ GUARDED_BY(mu_);  // the outbox thread delivers
};

}  // namespace spawn::daemon_testing
