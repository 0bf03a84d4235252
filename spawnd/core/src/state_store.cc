#include "spawn/core/state_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "spawn/common/files.h"

namespace spawn {
namespace {

using json = nlohmann::json;

Status WriteAtomically(const std::string& dir, const std::string& name, const std::string& data,
                       mode_t mode) {
  const std::string final_path = dir + "/" + name;
  const std::string tmp = final_path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::Internal("cannot write " + tmp + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string error = std::strerror(errno);
      ::close(fd);
      return Status::Internal("cannot write " + tmp + ": " + error);
    }
    written += static_cast<size_t>(n);
  }
  ::fchmod(fd, mode);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return Status::Internal("cannot flush " + tmp + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    return Status::Internal("cannot rename " + tmp + ": " + std::strerror(errno));
  }
  SyncDirectory(dir);  // makes the rename itself durable
  return Status::Ok();
}

// The state holds entities (keys): the directory is private to spawnd's user.
Status MakeDirs(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (!error) std::filesystem::permissions(path, std::filesystem::perms::owner_all, error);
  if (error) return Status::Internal("cannot create " + path + ": " + error.message());
  return Status::Ok();
}

class FileStateStore final : public StateStore {
 public:
  explicit FileStateStore(std::string state_dir) : dir_(std::move(state_dir) + "/services") {}

  Result<LoadedState> Load() override {
    LoadedState state;
    DIR* d = ::opendir(dir_.c_str());
    if (!d) {
      state.missing = true;
      SPAWN_RETURN_IF_ERROR(MakeDirs(dir_));
      return state;
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string file = e->d_name;
      if (file.size() > 5 && file.ends_with(".json"))
        names.push_back(file.substr(0, file.size() - 5));
    }
    ::closedir(d);
    for (const auto& name : names) {
      auto record = ReadRecord(name);
      if (record.ok()) {
        state.records.push_back(std::move(*record));
      } else {
        spdlog::error("state: {}", record.status().message());
        state.damaged.insert(name);
      }
    }
    // An empty directory after services existed means the state was lost: recover from labels.
    state.missing = state.records.empty() && state.damaged.empty();
    return state;
  }

  Status Save(const ServiceRecord& r, bool with_blobs) override {
    SPAWN_RETURN_IF_ERROR(MakeDirs(dir_));
    const std::string& name = r.config.name;
    if (with_blobs) {
      SPAWN_RETURN_IF_ERROR(WriteAtomically(dir_, name + ".archive.tar", r.archive, 0600));
      if (r.entity.empty()) {
        const std::string path = dir_ + "/" + name + ".entity";
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
          return Status::Internal("cannot remove " + path + ": " + std::strerror(errno));
        }
      } else {
        SPAWN_RETURN_IF_ERROR(WriteAtomically(dir_, name + ".entity", r.entity, 0600));
      }
      if (r.previous) {
        SPAWN_RETURN_IF_ERROR(
            WriteAtomically(dir_, name + ".previous.entity", r.previous->entity, 0600));
        SPAWN_RETURN_IF_ERROR(
            WriteAtomically(dir_, name + ".previous.archive.tar", r.previous->archive, 0600));
      }
    }
    json j = {{"config", ServiceConfigToYaml(r.config)},
              {"imageTag", r.image_tag},
              {"containerId", r.container_id},
              {"reserved", r.reserved},
              {"stopped", r.stopped},
              {"restarts", r.restarts},
              {"exitCode", r.exit_code},
              {"zombieDeadline", r.zombie_deadline_unix_ns},
              {"trialDeadline", r.trial_deadline_unix_ns}};
    if (r.previous) {
      j["previous"] = {{"config", ServiceConfigToYaml(r.previous->config)},
                       {"imageTag", r.previous->image_tag},
                       {"containerId", r.previous->container_id},
                       {"restarts", r.previous->restarts}};
    }
    std::string text = j.dump(2);
    // A state change that changes nothing on disk (building -> starting) costs two fsyncs on the
    // way to a service's start; the file already holds this text.
    auto last = written_.find(name);
    if (last != written_.end() && last->second == text) return Status::Ok();
    SPAWN_RETURN_IF_ERROR(WriteAtomically(dir_, name + ".json", text, 0600));
    written_[name] = std::move(text);
    return Status::Ok();
  }

  Status Remove(const std::string& name) override {
    written_.erase(name);
    for (const char* suffix :
         {".json", ".archive.tar", ".entity", ".previous.entity", ".previous.archive.tar"}) {
      const std::string path = dir_ + "/" + name + suffix;
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return Status::Internal("cannot remove " + path + ": " + std::strerror(errno));
      }
    }
    return Status::Ok();
  }

 private:
  Result<ServiceRecord> ReadRecord(const std::string& name) {
    auto text = ReadFile(dir_ + "/" + name + ".json");
    if (!text.ok()) return text.status();
    try {
      json j = json::parse(*text);
      auto config =
          ParseServiceConfig(j.at("config").get<std::string>(), dir_ + "/" + name + ".json");
      if (!config.ok()) return config.status();
      ServiceRecord r;
      r.config = *config;
      r.image_tag = j.value("imageTag", "");
      r.container_id = j.value("containerId", "");
      r.reserved = j.value("reserved", false);
      r.stopped = j.value("stopped", false);
      r.restarts = j.value("restarts", int64_t{0});
      r.exit_code = j.value("exitCode", int64_t{0});
      r.zombie_deadline_unix_ns = j.value("zombieDeadline", int64_t{0});
      r.trial_deadline_unix_ns = j.value("trialDeadline", int64_t{0});
      r.archive = ReadFile(dir_ + "/" + name + ".archive.tar").value_or("");
      r.entity = ReadFile(dir_ + "/" + name + ".entity").value_or("");
      if (j.contains("previous")) {
        const json& p = j.at("previous");
        auto previous = ParseServiceConfig(p.at("config").get<std::string>(),
                                           dir_ + "/" + name + ".json (previous)");
        if (!previous.ok()) return previous.status();
        r.previous =
            PreviousGeneration{*previous,
                               ReadFile(dir_ + "/" + name + ".previous.entity").value_or(""),
                               p.value("imageTag", ""),
                               p.value("containerId", ""),
                               p.value("restarts", int64_t{0}),
                               ReadFile(dir_ + "/" + name + ".previous.archive.tar").value_or("")};
      }
      return r;
    } catch (const json::exception& e) {
      return Status::BadRequest(dir_ + "/" + name + ".json is damaged: " + e.what());
    }
  }

  const std::string dir_;
  std::map<std::string, std::string> written_;  // name -> the record text this store last wrote
};

}  // namespace

std::unique_ptr<StateStore> MakeFileStateStore(const std::string& state_dir) {
  return std::make_unique<FileStateStore>(state_dir);
}

Result<LoadedState> MemoryStateStore::Load() {
  LoadedState state;
  for (const auto& [name, record] : records) state.records.push_back(record);
  state.damaged = damaged;
  state.missing = records.empty() && damaged.empty();
  return state;
}

Status MemoryStateStore::Save(const ServiceRecord& record, bool with_blobs) {
  if (fail_writes) return Status::Internal("disk full (MemoryStateStore told to fail)");
  ++saves;
  ServiceRecord copy = record;
  if (!with_blobs && records.count(record.config.name)) {
    copy.archive = records[record.config.name].archive;
    copy.entity = records[record.config.name].entity;
    if (copy.previous && records[record.config.name].previous) {
      copy.previous->entity = records[record.config.name].previous->entity;
      copy.previous->archive = records[record.config.name].previous->archive;
    }
  }
  records[record.config.name] = copy;
  return Status::Ok();
}

Status MemoryStateStore::Remove(const std::string& name) {
  if (fail_writes) return Status::Internal("disk full (MemoryStateStore told to fail)");
  records.erase(name);
  return Status::Ok();
}

}  // namespace spawn
