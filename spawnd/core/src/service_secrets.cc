#include "spawn/core/service_secrets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "spawn/common/files.h"

namespace spawn {
namespace {

namespace fs = std::filesystem;

std::string Errno() { return std::strerror(errno); }

// Giving a file away needs root; when spawnd is not root, files it keeps for itself are fine, and a
// service of another user could not read its secrets: refused, with the reason.
Status Chown(const std::string& path, int uid, int gid) {
  if (static_cast<uid_t>(uid) == ::geteuid() && static_cast<gid_t>(gid) == ::getegid()) {
    return Status::Ok();
  }
  if (::chown(path.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0) {
    const std::string error = Errno();
    const std::string what = "cannot give " + path + " to " + std::to_string(uid) + ":" +
                             std::to_string(gid) + ": " + error;
    if (errno == EPERM) {
      return Status::Forbidden(what +
                               " (spawnd runs services' secrets as root, or as the "
                               "service's user when it is spawnd's own)");
    }
    return Status::Internal(what);
  }
  return Status::Ok();
}

// Written beside its final name and renamed over it: a reader sees the old or the new file.
Status WriteFile(const std::string& dir, const std::string& name, const std::string& data, int uid,
                 int gid) {
  const std::string final_path = dir + "/" + name;
  const std::string tmp = dir + "/." + name + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  if (fd < 0) return Status::Internal("cannot write " + tmp + ": " + Errno());
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string error = Errno();
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::Internal("cannot write " + tmp + ": " + error);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Status::Internal("cannot flush " + tmp + ": " + Errno());
  }
  Status owned = Chown(tmp, uid, gid);
  if (!owned.ok()) {
    ::unlink(tmp.c_str());
    return owned;
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::Internal("cannot rename " + tmp + ": " + Errno());
  }
  return Status::Ok();
}

class FileServiceSecrets final : public ServiceSecrets {
 public:
  explicit FileServiceSecrets(std::string state_dir) : root_(std::move(state_dir) + "/secrets") {}

  Result<std::string> Write(const std::string& service, const Files& files, int uid,
                            int gid) override {
    std::error_code error;
    fs::create_directories(root_, error);
    // Only spawnd's user may look into the secrets of all services.
    if (!error) fs::permissions(root_, fs::perms::owner_all, error);
    if (error) return Status::Internal("cannot create " + root_ + ": " + error.message());
    const std::string dir = root_ + "/" + service;
    fs::create_directory(dir, error);
    if (!error) fs::permissions(dir, fs::perms::owner_all, error);  // writable while we write
    if (error) return Status::Internal("cannot create " + dir + ": " + error.message());
    std::set<std::string> stale;
    for (const auto& entry : fs::directory_iterator(dir, error)) {
      stale.insert(entry.path().filename().string());
    }
    for (const auto& [name, contents] : files) {
      if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
        return Status::Internal("secret file name \"" + name + "\" is not a plain name");
      }
      SPAWN_RETURN_IF_ERROR(WriteFile(dir, name, contents, uid, gid));
      stale.erase(name);
    }
    for (const auto& name : stale) fs::remove_all(dir + "/" + name, error);
    SyncDirectory(dir);
    SPAWN_RETURN_IF_ERROR(Chown(dir, uid, gid));
    if (::chmod(dir.c_str(), 0500) != 0) {
      return Status::Internal("cannot protect " + dir + ": " + Errno());
    }
    return dir;
  }

  Status Remove(const std::string& service) override {
    const std::string dir = root_ + "/" + service;
    std::error_code error;
    // Root ignores the directory's 0500; a spawnd of another user needs write access back first.
    fs::permissions(dir, fs::perms::owner_all, error);
    fs::remove_all(dir, error);
    if (error) return Status::Internal("cannot remove " + dir + ": " + error.message());
    return Status::Ok();
  }

 private:
  const std::string root_;
};

}  // namespace

std::unique_ptr<ServiceSecrets> MakeFileServiceSecrets(const std::string& state_dir) {
  return std::make_unique<FileServiceSecrets>(state_dir);
}

}  // namespace spawn
