// StateStore: what spawnd must not lose, one record per service. FileStateStore keeps each record
// as a JSON file under <stateDir>/services/, written atomically (temp file, fsync, rename, fsync of
// the directory) so a crash leaves either the old or the new record, never a torn one. The deploy's
// archive and entity live beside it (the entity with mode 0600) until the service is removed.
// A record whose file cannot be parsed is reported in LoadedState::damaged (and logged), never
// fatal. Not thread-safe: used from the supervisor's thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "spawn/common/config.h"
#include "spawn/common/status.h"

namespace spawn {

// What a Replace keeps of the deployment it replaced, for a rollback: its stopped container
// (renamed, see supervisor.h) runs again as it was, without a build.
struct PreviousGeneration {
  ServiceConfig config;
  std::string entity;
  std::string image_tag;
  std::string container_id;
  int64_t restarts = 0;
  std::string archive;  // for a new container, should the kept one be lost after a rollback

  friend bool operator==(const PreviousGeneration&, const PreviousGeneration&) = default;
};

struct ServiceRecord {
  ServiceConfig config;
  std::string archive;  // tar of included files and dirs
  std::string entity;   // credentials, shipped into the container at start
  std::string image_tag;
  std::string container_id;
  bool reserved = false;
  bool stopped = false;  // zombie: by stop, death without autoRestart, or a failed build
  int64_t restarts = 0;
  int64_t exit_code = 0;
  int64_t zombie_deadline_unix_ns = 0;  // wall clock: steady time does not survive a restart
  // The deployment this one replaced, until this one is accepted or the service is purged. Its
  // entity and archive are written with the blobs.
  std::optional<PreviousGeneration> previous;
  // Wall clock: when a replacement on trial (with `previous` and a health check) that is not yet
  // healthy is reverted; 0 before its first start. Kept so that a restart of spawnd does not give
  // it a fresh window.
  int64_t trial_deadline_unix_ns = 0;
};

struct LoadedState {
  std::vector<ServiceRecord> records;
  std::set<std::string> damaged;  // names whose record could not be read
  bool missing =
      false;  // no record at all (first start, or the state was lost): recover from labels
};

class StateStore {
 public:
  virtual ~StateStore() = default;
  virtual Result<LoadedState> Load() = 0;
  // Writes the record atomically; the archive and entity are written only when `with_blobs` (an
  // empty entity removes its file). On failure the previous record is left whole. A record
  // identical to the one this store last wrote under its name may be skipped.
  virtual Status Save(const ServiceRecord& record, bool with_blobs) = 0;
  // Removes the record, its archive and its entity; removing an unknown name is ok.
  virtual Status Remove(const std::string& name) = 0;
};

std::unique_ptr<StateStore> MakeFileStateStore(const std::string& state_dir);

// In-memory store for tests; `fail_writes` makes Save and Remove fail.
class MemoryStateStore final : public StateStore {
 public:
  Result<LoadedState> Load() override;
  Status Save(const ServiceRecord& record, bool with_blobs) override;
  Status Remove(const std::string& name) override;

  std::map<std::string, ServiceRecord> records;
  std::set<std::string> damaged;
  bool fail_writes = false;
  int saves = 0;
};

}  // namespace spawn
