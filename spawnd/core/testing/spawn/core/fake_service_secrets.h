// FakeServiceSecrets: ServiceSecrets in memory, for the supervisor's tests.
#pragma once

#include <map>
#include <string>

#include "spawn/core/service_secrets.h"

namespace spawn {

// In memory, for tests; `fail_writes` makes Write fail with 500.
class FakeServiceSecrets final : public ServiceSecrets {
 public:
  struct Entry {
    Files files;
    int uid = 0;
    int gid = 0;
  };

  Result<std::string> Write(const std::string& service, const Files& files, int uid,
                            int gid) override;
  Status Remove(const std::string& service) override;

  std::map<std::string, Entry> services;
  bool fail_writes = false;
  int writes = 0;
};

}  // namespace spawn
