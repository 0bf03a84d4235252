// In-memory tar (ustar) archives: the build context sent to the engine, the archive of a deploy's
// included files and dirs, and the entity file copied into a container. No I/O except the helpers
// that read files from disk (AddPath*).
//
// TarReader refuses what must never reach the host or an image: absolute paths, "..", links that
// point outside the archive (or pass through another link, or hold entries beneath a link),
// device and fifo entries, and archives over a size bound. A hard link to an earlier file of the
// archive becomes a copy of that file; pax `path`/`linkpath` records are honoured (and checked).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spawn/common/status.h"

namespace spawn {

struct TarEntry {
  enum class Type { kFile, kDirectory, kSymlink };
  std::string path;  // relative, '/'-separated, no trailing '/'
  Type type = Type::kFile;
  uint32_t mode = 0644;     // permission bits
  std::string contents;     // files only
  std::string link_target;  // symlinks only
  friend bool operator==(const TarEntry&, const TarEntry&) = default;
};

class TarWriter {
 public:
  void Add(const TarEntry& entry);
  void AddFile(const std::string& path, std::string contents, uint32_t mode = 0644);
  void AddDirectory(const std::string& path, uint32_t mode = 0755);
  // Adds a file or a whole directory tree from disk under `archive_path`, keeping modes.
  Status AddPathFromDisk(const std::string& disk_path, const std::string& archive_path);
  // The archive bytes, with the two zero blocks that end it.
  std::string Finish() const;

 private:
  std::string data_;
};

// Parses and validates an archive; the error names the offending entry.
Result<std::vector<TarEntry>> ReadTar(const std::string& bytes,
                                      size_t max_bytes = 48 * 1024 * 1024);

}  // namespace spawn
