#include "spawn/bus/bus.h"

namespace spawn {

bool BrokerUsesTls(const std::string& uri) { return uri.rfind("ssl://", 0) == 0; }

std::vector<Status> Bus::PublishBatch(const std::vector<BusMessage>& messages) {
  std::vector<Status> statuses;
  statuses.reserve(messages.size());
  for (const BusMessage& m : messages) statuses.push_back(Publish(m));
  return statuses;
}

}  // namespace spawn
