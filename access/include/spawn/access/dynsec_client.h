// DynsecClient: sends commands to Mosquitto's dynamic security plugin over a Bus and waits for
// their answers. The plugin listens on $CONTROL/dynamic-security/v1 and answers every command on
// $CONTROL/dynamic-security/v1/response, echoing its correlationData; only a client with the
// plugin's admin rights may publish there (in Mosquitto 2.0 that makes it a superuser).
//
// Ownership and threading: it borrows the bus, which must outlive it, and takes over the bus's
// message handler (set in the constructor, so construct it before bus.Connect()). Execute may be
// called from any thread but not on the bus's own thread; calls are serialised.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "spawn/access/dynsec_commands.h"
#include "spawn/bus/bus.h"
#include "spawn/common/event_loop.h"
#include "spawn/common/mutex.h"
#include "spawn/common/status.h"

namespace spawn::access {

inline constexpr const char* kDynsecControlTopic = "$CONTROL/dynamic-security/v1";
inline constexpr const char* kDynsecResponseTopic = "$CONTROL/dynamic-security/v1/response";

// One command's answer: ok with the plugin's `data` (null when it sends none), or the plugin's
// error as a Status (dynsec::StatusOfError).
struct DynsecResponse {
  Status status;
  dynsec::Json data;
};

class DynsecClient {
 public:
  // `timeout` bounds each Execute, from publishing to the last answer.
  DynsecClient(Bus& bus, Duration timeout);
  DynsecClient(const DynsecClient&) = delete;
  DynsecClient& operator=(const DynsecClient&) = delete;

  // Sends `commands` in one message (the plugin runs them in order) and returns their answers in
  // the same order. The bus must be connected. Fails as a whole (no answers) when subscribing or
  // publishing fails, or with kTimeout when not every answer came in time: the usual reason is
  // that the plugin is not loaded or the user is not its admin, since the broker drops such a
  // publish without a word.
  Result<std::vector<DynsecResponse>> Execute(std::vector<dynsec::Json> commands) EXCLUDES(mu_);

 private:
  void OnMessage(const BusMessage& message) EXCLUDES(mu_);

  Bus& bus_;
  const Duration timeout_;
  const std::string prefix_;  // of correlationData, so answers to other admins are ignored
  Mutex call_mu_;             // one Execute at a time
  bool subscribed_ GUARDED_BY(call_mu_) = false;
  uint64_t next_id_ GUARDED_BY(call_mu_) = 0;
  Mutex mu_;
  CondVar answered_;
  // correlationData -> the answer, for the commands of the running Execute.
  std::vector<std::string> waiting_ GUARDED_BY(mu_);
  std::vector<std::optional<DynsecResponse>> answers_ GUARDED_BY(mu_);
};

}  // namespace spawn::access
