// Fuzzes everything that reads bytes from the bus or a user's file. The first byte picks the
// reader (modulo 12; the seeds in fuzz/corpus/ start with 0-11), the rest is its input. A crash,
// a leak, an uncaught exception or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "spawn/common/config.h"
#include "spawn/common/tar.h"
#include "spawn/proto/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  using namespace spawn;
  switch (data[0] % 12) {
    case 0:
      proto::DecodeDeployRequest(input).status().IgnoreError();
      break;
    case 1:
      proto::DecodeServiceCommand(input).status().IgnoreError();
      break;
    case 2:
      proto::DecodeLogsRequest(input).status().IgnoreError();
      break;
    case 3:
      proto::DecodeReply(input).status().IgnoreError();
      break;
    case 4:
      proto::DecodeSpawnpointHeartbeat(input).status().IgnoreError();
      break;
    case 5:
      proto::DecodeServiceHeartbeat(input).status().IgnoreError();
      break;
    case 6:
      proto::DecodeLogsReply(input).status().IgnoreError();
      break;
    case 7:
      proto::PeekRequestId(input);
      break;
    case 8:
      ParseServiceConfig(input, "fuzz.yml").status().IgnoreError();
      break;
    case 9:
      ParseSpawndConfig(input, "fuzz.yml").status().IgnoreError();
      break;
    case 10:
      ReadTar(input).status().IgnoreError();
      break;
    case 11:
      proto::DecodeLogMessage(input).status().IgnoreError();
      break;
  }
  return 0;
}
