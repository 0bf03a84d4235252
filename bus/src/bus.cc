#include "spawn/bus/bus.h"

namespace spawn {

std::vector<Status> Bus::PublishAll(const std::vector<BusMessage>& messages) {
  std::vector<Status> outcomes;
  outcomes.reserve(messages.size());
  for (const auto& message : messages) outcomes.push_back(Publish(message));
  return outcomes;
}

}  // namespace spawn
