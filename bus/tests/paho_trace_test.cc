// Paho's own trace in a program that uses the bus: errors only, so that every packet does not cost
// a formatted, time-stamped entry in Paho's memory.
#include <MQTTAsync.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <utility>
#include <vector>

#include "spawn/bus/paho_bus.h"
#include "spawn/common/mutex.h"

namespace spawn {
namespace {

Mutex traced_mu;
std::vector<MQTTASYNC_TRACE_LEVELS> traced GUARDED_BY(traced_mu);

void RecordTrace(enum MQTTASYNC_TRACE_LEVELS level, char*) {
  MutexLock lock(traced_mu);
  traced.push_back(level);
}

std::vector<MQTTASYNC_TRACE_LEVELS> TakeTraced() {
  MutexLock lock(traced_mu);
  return std::exchange(traced, {});
}

TEST(PahoTraceTest, ABusMakesPahoTraceOnlyErrors) {
  unsetenv("MQTT_C_CLIENT_TRACE");
  MQTTAsync_setTraceCallback(&RecordTrace);
  BusOptions o;
  o.uri = "tcp://127.0.0.1:9";  // discard port: nobody listens, so each attempt fails
  o.connect_timeout = std::chrono::seconds(2);
  auto bus = MakePahoBus(o);
  TakeTraced();

  EXPECT_FALSE(bus->Connect().ok());
  for (MQTTASYNC_TRACE_LEVELS level : TakeTraced()) EXPECT_GE(level, MQTTASYNC_TRACE_ERROR);

  // The same attempt at Paho's default level is traced, call by call: the silence above is the
  // level's doing.
  MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_MINIMUM);
  EXPECT_FALSE(bus->Connect().ok());
  const auto at_default = TakeTraced();
  MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
  ASSERT_FALSE(at_default.empty());
  EXPECT_LT(*std::min_element(at_default.begin(), at_default.end()), MQTTASYNC_TRACE_ERROR);

  EXPECT_TRUE(bus->Disconnect().ok());
  MQTTAsync_setTraceCallback(nullptr);
}

}  // namespace
}  // namespace spawn
