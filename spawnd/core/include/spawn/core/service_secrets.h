// ServiceSecrets: where a service's credentials wait for its container. Each service has one
// directory on the host holding its files (entity.key, broker.password, ca.pem), bind-mounted
// read-only into the container at kSecretsDir. Delivering them this way, rather than copying them
// into the container, works for containers with a read-only root filesystem and keeps them out of
// images, labels and the container's own layer.
//
// FileServiceSecrets keeps them under <stateDir>/secrets/<service>/: the directory 0500 and the
// files 0400, owned by the service's uid:gid (the container's user) so that a service running as
// that user can read them and nobody else on the host can. The fake (spawn::core_testing,
// spawn/core/fake_service_secrets.h) records in memory.
// Not thread-safe: used from the supervisor's thread only.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "spawn/common/status.h"

namespace spawn {

// Where the container sees its secrets directory.
inline constexpr const char* kSecretsDir = "/run/spawnpoint";

class ServiceSecrets {
 public:
  using Files = std::map<std::string, std::string>;  // file name -> contents

  virtual ~ServiceSecrets() = default;
  // Makes the service's directory hold exactly `files`, owned by uid:gid; returns its host path.
  // On failure (e.g. 403 when the files cannot be given to `uid` because spawnd is not root) the
  // directory may hold fewer files, never a half-written one.
  virtual Result<std::string> Write(const std::string& service, const Files& files, int uid,
                                    int gid) = 0;
  // Removes the service's directory; removing one that does not exist is ok.
  virtual Status Remove(const std::string& service) = 0;
};

std::unique_ptr<ServiceSecrets> MakeFileServiceSecrets(const std::string& state_dir);

}  // namespace spawn
