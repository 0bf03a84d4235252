// Daemon: spawnd's face on the bus. It turns slot messages into supervisor commands and answers
// each on its reply topic, publishes presence, metadata, heartbeats and service logs, and keeps the
// last lines of each service's log for the `logs` slot.
//
// Threading: bus handlers only Post to the EventLoop; everything else runs on the loop's thread.
// Publishing goes through an outbox drained by its own thread, so the loop never waits on the
// broker (a slow or absent broker delays messages, it does not stall supervision).
//
// Bad input never stops it: a payload that does not decode is answered with 400 when it carries a
// RequestId and logged otherwise. A repeated RequestId (QoS 1 may deliver twice) is answered with
// the first reply and not acted on again.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "spawn/bus/bus.h"
#include "spawn/common/config.h"
#include "spawn/common/event_loop.h"
#include "spawn/core/supervisor.h"
#include "spawn/proto/messages.h"

namespace spawn {

// A bounded queue of messages published in order by one thread.
class Outbox {
 public:
  Outbox(Bus& bus, size_t capacity);
  ~Outbox();  // publishes what is queued (bounded wait), then stops
  void Push(BusMessage message);
  // Blocks until everything queued so far was handed to the bus, or `timeout`.
  bool Flush(std::chrono::milliseconds timeout);
  size_t dropped() const;

 private:
  void Loop();
  Bus& bus_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable wake_, drained_;
  std::deque<BusMessage> queue_;  // guarded by mu_
  bool busy_ = false;             // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  size_t dropped_ = 0;            // guarded by mu_
  std::thread thread_;
};

class Daemon final : public SupervisorObserver {
 public:
  static constexpr size_t kLogLinesKept = 500;
  static constexpr size_t kRepliesRemembered = 1024;

  Daemon(SpawndConfig config, std::map<std::string, std::string> metadata, Bus& bus,
         EventLoop& loop);

  // The supervisor is made after the daemon (it reports to it); set it before Start().
  void SetSupervisor(Supervisor* supervisor) { supervisor_ = supervisor; }

  // Installs the bus handlers (call before the bus connects, so nothing is missed).
  void InstallHandlers();
  // Loop thread, once connected: subscribes to the slots, announces presence, publishes metadata
  // and heartbeats and starts the heartbeat timer.
  Status Start();
  // Loop thread: publishes `offline` and waits (bounded) for the outbox to drain.
  void Shutdown();

  // SupervisorObserver (loop thread).
  void OnServiceChanged(const ServiceSnapshot& service) override;
  void OnServicePurged(const std::string& name) override;
  void OnServiceLog(const std::string& name, const std::string& stream,
                    const std::string& line) override;

  // For tests: handles one message as if it came from the bus (loop thread).
  void HandleMessage(const BusMessage& message);
  void PublishHeartbeats();

 private:
  void HandleDeploy(const BusMessage& message);
  void HandleCommand(const BusMessage& message, bool restart);
  void HandleLogs(const BusMessage& message);
  void Answer(const std::string& request_id, const Status& status, const std::string& ok_message);
  bool AnsweredBefore(const std::string& request_id);
  void PublishPresenceAndMetadata();
  void PublishServiceHeartbeat(const ServiceSnapshot& service);
  void ScheduleHeartbeat();
  void Publish(const std::string& topic, std::string payload, int qos, bool retained);

  const SpawndConfig config_;
  const std::map<std::string, std::string> metadata_;
  Bus& bus_;
  EventLoop& loop_;
  Supervisor* supervisor_ = nullptr;
  Outbox outbox_;
  std::unordered_map<std::string, std::string> replies_;  // RequestId -> encoded reply
  std::deque<std::string> reply_order_;
  std::map<std::string, std::deque<proto::LogMessage>> history_;
  EventLoop::TimerId heartbeat_timer_ = 0;
  bool started_ = false;
  bool lost_connection_ = false;
};

}  // namespace spawn
