#include "spawn/core/fake_service_secrets.h"

namespace spawn {

Result<std::string> FakeServiceSecrets::Write(const std::string& service, const Files& files,
                                              int uid, int gid) {
  ++writes;
  if (fail_writes) return Status::Internal("secrets of " + service + ": write failed (fake)");
  services[service] = Entry{files, uid, gid};
  return "/fake/secrets/" + service;
}

Status FakeServiceSecrets::Remove(const std::string& service) {
  services.erase(service);
  return Status::Ok();
}

}  // namespace spawn
