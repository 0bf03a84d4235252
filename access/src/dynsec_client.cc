#include "spawn/access/dynsec_client.h"

#include <algorithm>

#include "spawn/access/password.h"
#include "spawn/common/units.h"

namespace spawn::access {

DynsecClient::DynsecClient(Bus& bus, Duration timeout)
    : bus_(bus),
      timeout_(timeout),
      prefix_("spawnctl-" + GeneratePassword(8).value_or("00000000") + "-") {
  bus_.SetMessageHandler([this](const BusMessage& m) { OnMessage(m); });
}

void DynsecClient::OnMessage(const BusMessage& message) {
  if (message.topic != kDynsecResponseTopic) return;
  const dynsec::Json body = dynsec::Json::parse(message.payload, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("responses") ||
      !body["responses"].is_array())
    return;  // not an answer of the plugin's: nothing of ours
  MutexLock lock(mu_);
  for (const dynsec::Json& r : body["responses"]) {
    if (!r.is_object() || !r.contains("correlationData") || !r["correlationData"].is_string())
      continue;
    const auto it = std::find(waiting_.begin(), waiting_.end(), r["correlationData"]);
    if (it == waiting_.end()) continue;
    DynsecResponse answer;
    if (r.contains("error") && r["error"].is_string()) {
      answer.status = dynsec::StatusOfError(r["error"].get<std::string>());
    } else if (r.contains("data")) {
      answer.data = r["data"];
    }
    answers_[it - waiting_.begin()] = std::move(answer);
  }
  answered_.NotifyAll();
}

Result<std::vector<DynsecResponse>> DynsecClient::Execute(std::vector<dynsec::Json> commands) {
  MutexLock call(call_mu_);
  if (!subscribed_) {
    SPAWN_RETURN_IF_ERROR(bus_.Subscribe(kDynsecResponseTopic, 1)
                              .WithContext(std::string("subscribing to ") + kDynsecResponseTopic));
    subscribed_ = true;
  }
  {
    MutexLock lock(mu_);
    waiting_.clear();
    for (auto& command : commands) {
      waiting_.push_back(prefix_ + std::to_string(next_id_++));
      command["correlationData"] = waiting_.back();
    }
    answers_.assign(commands.size(), std::nullopt);
  }
  const dynsec::Json message = {{"commands", commands}};
  // Answers may arrive on the bus's thread before Publish returns: they are waited for below.
  SPAWN_RETURN_IF_ERROR(bus_.Publish({kDynsecControlTopic, message.dump(), 1, false})
                            .WithContext(std::string("publishing to ") + kDynsecControlTopic));
  MutexLock lock(mu_);
  auto all_answered = [this]() NO_THREAD_SAFETY_ANALYSIS {
    return std::all_of(answers_.begin(), answers_.end(),
                       [](const auto& a) { return a.has_value(); });
  };
  const bool done = answered_.WaitFor(lock, timeout_, all_answered);
  const size_t missing = static_cast<size_t>(std::count_if(
      answers_.begin(), answers_.end(), [](const auto& a) { return !a.has_value(); }));
  waiting_.clear();
  if (!done) {
    answers_.clear();
    return Status::Timeout(
        "the broker did not answer " + std::to_string(missing) + " of " +
        std::to_string(commands.size()) + " dynamic-security commands within " +
        FormatDuration(timeout_) +
        "; expected Mosquitto with the dynamic security plugin loaded, and --username its admin");
  }
  std::vector<DynsecResponse> out;
  for (auto& a : answers_) out.push_back(std::move(*a));
  answers_.clear();
  return out;
}

}  // namespace spawn::access
