// RuntimeMetadata: a spawnpoint's metadata, the -m file's keys plus those set at run time
// (slot/meta, `spawnctl meta set|rm`). A key set at run time wins over the file's until it is
// removed; removing it brings the file's value back, if there is one.
//
// Persistence: the run-time keys go through a MetaStore (rewritten atomically on every change), so
// they outlive a restart of spawnd. A change whose save fails is not applied and the error is
// returned: the caller answers with it, and memory never disagrees with the disk.
//
// Not thread-safe: the daemon's loop thread owns it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "spawn/common/status.h"

namespace spawn {

// Where the run-time keys live between runs. Abstract so the rules are tested in memory; the real
// one is a JSON file under stateDir.
class MetaStore {
 public:
  virtual ~MetaStore() = default;
  // What was saved last; empty when nothing was. A file that does not decode is an error naming it.
  virtual Result<std::map<std::string, std::string>> Load() = 0;
  virtual Status Save(const std::map<std::string, std::string>& keys) = 0;
};

// A JSON object of strings at `path`.
std::unique_ptr<MetaStore> MakeFileMetaStore(const std::string& path);

class RuntimeMetadata {
 public:
  // `store` may be null (no run-time keys survive a restart); else it must outlive this.
  RuntimeMetadata(std::map<std::string, std::string> from_file, MetaStore* store);

  // Reads the run-time keys (once, before anything else). On error none are loaded.
  Status Load();
  // The metadata to publish: the file's keys overlaid with the run-time ones.
  std::map<std::string, std::string> Effective() const;
  // Sets a run-time key; the save's error when it could not be saved (then nothing changed).
  Status Set(const std::string& key, const std::string& value);
  // Removes a run-time key and returns what the key is now: the file's value, or nullopt (gone).
  // kNotFound when the key was not set at run time.
  Result<std::optional<std::string>> Remove(const std::string& key);

 private:
  const std::map<std::string, std::string> from_file_;
  MetaStore* store_;
  std::map<std::string, std::string> runtime_;
};

}  // namespace spawn
