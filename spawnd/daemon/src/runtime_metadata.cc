#include "spawn/daemon/runtime_metadata.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "spawn/common/files.h"

namespace spawn {
namespace {

class FileMetaStore final : public MetaStore {
 public:
  explicit FileMetaStore(std::string path) : path_(std::move(path)) {}

  Result<std::map<std::string, std::string>> Load() override {
    if (!std::filesystem::exists(path_)) return std::map<std::string, std::string>{};
    auto bytes = ReadFile(path_);
    if (!bytes.ok()) return bytes.status();
    const auto parsed = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object())
      return Status::BadRequest(path_ + ": expected a JSON object of strings");
    std::map<std::string, std::string> keys;
    for (const auto& [key, value] : parsed.items()) {
      if (!value.is_string()) return Status::BadRequest(path_ + ": " + key + ": expected a string");
      keys[key] = value.get<std::string>();
    }
    return keys;
  }

  Status Save(const std::map<std::string, std::string>& keys) override {
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), error);
    if (error)
      return Status::Internal("cannot make the directory of " + path_ + ": " + error.message());
    return WriteFileAtomically(
        path_, nlohmann::json(keys).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  }

 private:
  const std::string path_;
};

}  // namespace

std::unique_ptr<MetaStore> MakeFileMetaStore(const std::string& path) {
  return std::make_unique<FileMetaStore>(path);
}

RuntimeMetadata::RuntimeMetadata(std::map<std::string, std::string> from_file, MetaStore* store)
    : from_file_(std::move(from_file)), store_(store) {}

Status RuntimeMetadata::Load() {
  if (!store_) return Status::Ok();
  auto loaded = store_->Load();
  if (!loaded.ok()) return loaded.status();
  runtime_ = std::move(*loaded);
  return Status::Ok();
}

std::map<std::string, std::string> RuntimeMetadata::Effective() const {
  std::map<std::string, std::string> out = from_file_;
  for (const auto& [key, value] : runtime_) out[key] = value;
  return out;
}

Status RuntimeMetadata::Set(const std::string& key, const std::string& value) {
  auto next = runtime_;
  next[key] = value;
  if (store_) SPAWN_RETURN_IF_ERROR(store_->Save(next));
  runtime_ = std::move(next);
  return Status::Ok();
}

Result<std::optional<std::string>> RuntimeMetadata::Remove(const std::string& key) {
  if (!runtime_.count(key)) {
    return Status::NotFound("metadata key " + key + " was not set at run time" +
                            (from_file_.count(key) ? " (it comes from spawnd's -m file)" : ""));
  }
  auto next = runtime_;
  next.erase(key);
  if (store_) SPAWN_RETURN_IF_ERROR(store_->Save(next));
  runtime_ = std::move(next);
  auto file = from_file_.find(key);
  if (file == from_file_.end()) return std::optional<std::string>();
  return std::optional<std::string>(file->second);
}

}  // namespace spawn
