#include "spawn/common/tar.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "spawn/common/files.h"

namespace spawn {
namespace {

constexpr size_t kBlock = 512;

void PutOctal(char* field, size_t width, uint64_t value) {
  // width includes the terminating NUL.
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1),
                static_cast<unsigned long long>(value));
}

std::string Header(const std::string& name, char type, uint32_t mode, uint64_t size,
                   const std::string& link) {
  char h[kBlock] = {};
  std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
  PutOctal(h + 100, 8, mode & 07777);
  PutOctal(h + 108, 8, 0);
  PutOctal(h + 116, 8, 0);
  PutOctal(h + 124, 12, size);
  PutOctal(h + 136, 12, 0);
  h[156] = type;
  std::memcpy(h + 157, link.data(), std::min<size_t>(link.size(), 100));
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; ++i) sum += static_cast<unsigned char>(h[i]);
  std::snprintf(h + 148, 8, "%06o", sum);
  return std::string(h, kBlock);
}

void Pad(std::string& out) {
  if (out.size() % kBlock) out.append(kBlock - out.size() % kBlock, '\0');
}

// GNU long name/link records carry paths longer than the 100-byte ustar field.
void AppendLong(std::string& out, char type, const std::string& value) {
  out += Header("././@LongLink", type, 0644, value.size() + 1, "");
  out += value;
  out.push_back('\0');
  Pad(out);
}

uint64_t ParseOctal(const char* field, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width && field[i]; ++i) {
    if (field[i] == ' ') continue;
    if (field[i] < '0' || field[i] > '7') return UINT64_MAX;
    v = v * 8 + (field[i] - '0');
  }
  return v;
}

std::string CString(const char* field, size_t width) {
  return std::string(field, strnlen(field, width));
}

// Splits a '/'-separated path into its components, dropping empty and "." ones. False for an
// absolute path or one with a ".." component: no entry may reach above the archive's root.
bool SplitSafe(const std::string& path, std::vector<std::string>* parts) {
  parts->clear();
  if (path.empty() || path[0] == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = std::min(path.find('/', start), path.size());
    std::string part = path.substr(start, slash - start);
    if (part == "..") return false;
    if (!part.empty() && part != ".") parts->push_back(std::move(part));
    start = slash + 1;
  }
  return true;
}

std::string Join(const std::vector<std::string>& parts, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out += (i ? "/" : "") + parts[i];
  return out;
}

// Resolves a symlink's target lexically from the link's own folder. False when it leaves the
// archive (absolute, or more ".." than the folder is deep). With `links`, also false when a step
// would continue from a folder that is itself one of `links` (stored in *through): lexical
// resolution is exact only while no folder on the way is a link.
bool ResolveLink(const std::vector<std::string>& link_parts, const std::string& target,
                 std::vector<std::string>* resolved, const std::set<std::string>* links = nullptr,
                 std::string* through = nullptr) {
  if (target.empty() || target[0] == '/') return false;
  resolved->assign(link_parts.begin(), link_parts.end() - 1);
  size_t start = 0;
  while (start <= target.size()) {
    const size_t slash = std::min(target.find('/', start), target.size());
    const std::string part = target.substr(start, slash - start);
    start = slash + 1;
    if (part.empty() || part == ".") continue;
    if (links && !resolved->empty()) {
      const std::string folder = Join(*resolved, resolved->size());
      if (links->count(folder)) {
        *through = folder;
        return false;
      }
    }
    if (part == "..") {
      if (resolved->empty()) return false;
      resolved->pop_back();
    } else {
      resolved->push_back(part);
    }
  }
  return true;
}

// Pax extended header records: "<length> <key>=<value>\n". Only the keys that change what an entry
// is (its path and link target) matter here; tar implementations honour them over the ustar
// fields, so ignoring them would validate a different name than the one extracted.
void ParsePax(const std::string& data, std::string* path, std::string* linkpath) {
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t space = data.find(' ', pos);
    if (space == std::string::npos) return;
    const size_t length = std::strtoul(data.c_str() + pos, nullptr, 10);
    if (length == 0 || pos + length > data.size() || length <= space - pos + 1) return;
    const std::string record = data.substr(space + 1, pos + length - space - 2);  // without '\n'
    const size_t eq = record.find('=');
    if (eq != std::string::npos) {
      const std::string key = record.substr(0, eq);
      if (key == "path") *path = record.substr(eq + 1);
      if (key == "linkpath") *linkpath = record.substr(eq + 1);
    }
    pos += length;
  }
}

}  // namespace

void TarWriter::Add(const TarEntry& e) {
  std::string name = e.path;
  char type = '0';
  if (e.type == TarEntry::Type::kDirectory) {
    type = '5';
    name += "/";
  } else if (e.type == TarEntry::Type::kSymlink) {
    type = '2';
  }
  if (name.size() > 100) AppendLong(data_, 'L', name);
  if (e.link_target.size() > 100) AppendLong(data_, 'K', e.link_target);
  const uint64_t size = e.type == TarEntry::Type::kFile ? e.contents.size() : 0;
  data_ += Header(name, type, e.mode, size, e.link_target);
  if (size) {
    data_ += e.contents;
    Pad(data_);
  }
}

void TarWriter::AddFile(const std::string& path, std::string contents, uint32_t mode) {
  Add({path, TarEntry::Type::kFile, mode, std::move(contents), ""});
}

void TarWriter::AddDirectory(const std::string& path, uint32_t mode) {
  Add({path, TarEntry::Type::kDirectory, mode, "", ""});
}

Status TarWriter::AddPathFromDisk(const std::string& disk_path, const std::string& archive_path) {
  struct stat st;
  if (lstat(disk_path.c_str(), &st) != 0) {
    return Status::NotFound("cannot read " + disk_path + ": " + std::strerror(errno));
  }
  const uint32_t mode = st.st_mode & 07777;
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlink(disk_path.c_str(), target, sizeof target);
    if (n < 0) return Status::Internal("cannot read link " + disk_path);
    Add({archive_path, TarEntry::Type::kSymlink, 0777, "", std::string(target, n)});
    return Status::Ok();
  }
  if (S_ISREG(st.st_mode)) {
    auto bytes = ReadFile(disk_path);
    if (!bytes.ok()) return bytes.status();
    AddFile(archive_path, *bytes, mode);
    return Status::Ok();
  }
  if (S_ISDIR(st.st_mode)) {
    AddDirectory(archive_path, mode);
    DIR* dir = opendir(disk_path.c_str());
    if (!dir) return Status::NotFound("cannot read directory " + disk_path);
    std::vector<std::string> names;
    while (dirent* d = readdir(dir)) {
      std::string name = d->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(dir);
    std::sort(names.begin(), names.end());  // deterministic archives hash the same
    for (const auto& name : names) {
      SPAWN_RETURN_IF_ERROR(AddPathFromDisk(disk_path + "/" + name, archive_path + "/" + name));
    }
    return Status::Ok();
  }
  return Status::BadRequest(disk_path + " is neither a file, a directory nor a link");
}

std::string TarWriter::Finish() const { return data_ + std::string(2 * kBlock, '\0'); }

Result<std::vector<TarEntry>> ReadTar(const std::string& bytes, size_t max_bytes) {
  if (bytes.size() > max_bytes) {
    return Status::BadRequest("archive of " + std::to_string(bytes.size()) +
                              " bytes is larger than the limit of " + std::to_string(max_bytes));
  }
  std::vector<TarEntry> entries;
  std::map<std::string, size_t> files;  // path -> index in entries, for hard links
  std::string long_name, long_link;     // from GNU 'L'/'K' records or pax path/linkpath
  std::vector<std::string> parts;
  size_t pos = 0;
  while (true) {
    if (pos + kBlock > bytes.size()) {
      if (pos == bytes.size()) break;  // tolerate a missing end marker (and an empty archive)
      return Status::BadRequest("archive is truncated at byte " + std::to_string(pos));
    }
    const char* h = bytes.data() + pos;
    if (std::all_of(h, h + kBlock, [](char c) { return c == 0; })) break;
    unsigned sum = 0;
    for (size_t i = 0; i < kBlock; ++i) {
      sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
    }
    if (ParseOctal(h + 148, 8) != sum) {
      return Status::BadRequest("archive header at byte " + std::to_string(pos) +
                                " has a bad checksum (not a tar archive?)");
    }
    const uint64_t size = ParseOctal(h + 124, 12);
    if (size == UINT64_MAX || size > bytes.size()) {
      return Status::BadRequest("archive entry \"" + CString(h, 100) + "\" at byte " +
                                std::to_string(pos) + " has a bad size");
    }
    const char type = h[156];
    const size_t data_start = pos + kBlock;
    const size_t padded = (size + kBlock - 1) / kBlock * kBlock;
    if (data_start + size > bytes.size()) {
      return Status::BadRequest("archive is truncated inside entry \"" + CString(h, 100) + "\"");
    }
    std::string data = bytes.substr(data_start, size);
    pos = data_start + padded;
    if (type == 'L' || type == 'K') {
      (type == 'L' ? long_name : long_link) = data.substr(0, strnlen(data.c_str(), data.size()));
      continue;
    }
    if (type == 'x') {
      ParsePax(data, &long_name, &long_link);
      continue;
    }
    if (type == 'g') continue;  // global pax attributes: none that matter here
    std::string name = long_name.empty() ? CString(h, 100) : long_name;
    const std::string prefix = CString(h + 345, 155);
    if (long_name.empty() && !prefix.empty()) name = prefix + "/" + name;
    const std::string link = long_link.empty() ? CString(h + 157, 100) : long_link;
    long_name.clear();
    long_link.clear();
    if (!SplitSafe(name, &parts)) {
      return Status::BadRequest("archive entry \"" + name +
                                "\" is refused: absolute paths and .. are not allowed");
    }
    if (parts.empty()) {
      if (type == '5') continue;  // "./" itself
      return Status::BadRequest("archive entry \"" + name + "\" has no name");
    }
    TarEntry e;
    e.path = Join(parts, parts.size());
    e.mode = static_cast<uint32_t>(ParseOctal(h + 100, 8) & 07777);
    switch (type) {
      case '0':
      case '\0':
      case '7':
        e.type = TarEntry::Type::kFile;
        e.contents = std::move(data);
        break;
      case '5':
        e.type = TarEntry::Type::kDirectory;
        break;
      case '2': {
        e.type = TarEntry::Type::kSymlink;
        std::vector<std::string> resolved;
        if (!ResolveLink(parts, link, &resolved)) {
          return Status::BadRequest("archive entry \"" + e.path + "\" is refused: its link to \"" +
                                    link + "\" points outside the archive");
        }
        e.link_target = link;
        break;
      }
      case '1': {
        // A hard link names an earlier entry by its archive path; it becomes a copy of that file,
        // so nothing outside the archive can be reached through it.
        std::vector<std::string> target;
        auto it = SplitSafe(link, &target) ? files.find(Join(target, target.size())) : files.end();
        if (it == files.end()) {
          return Status::BadRequest("archive entry \"" + e.path +
                                    "\" is refused: hard links are not allowed, except to an "
                                    "earlier file of the archive (this one names \"" +
                                    link + "\")");
        }
        e.type = TarEntry::Type::kFile;
        e.contents = entries[it->second].contents;
        break;
      }
      case '3':
      case '4':
      case '6':
        return Status::BadRequest("archive entry \"" + e.path +
                                  "\" is refused: device and fifo entries are not allowed");
      default:
        return Status::BadRequest("archive entry \"" + e.path + "\" has an unsupported type '" +
                                  std::string(1, type) + "'");
    }
    if (e.type == TarEntry::Type::kFile) files[e.path] = entries.size();
    entries.push_back(std::move(e));
  }

  // Each link was checked lexically from its own folder, which is exact only while no folder on
  // the way is itself a link: "a" -> "." makes "a/.." the archive's parent. So no entry may lie
  // under a link, and no link may resolve through another link.
  std::set<std::string> links;
  for (const auto& e : entries) {
    if (e.type == TarEntry::Type::kSymlink) links.insert(e.path);
  }
  if (links.empty()) return entries;
  // The first strict prefix of `p` that is a link.
  auto through_link = [&](const std::vector<std::string>& p) -> const std::string* {
    for (size_t n = 1; n < p.size(); ++n) {
      auto it = links.find(Join(p, n));
      if (it != links.end()) return &*it;
    }
    return nullptr;
  };
  std::vector<std::string> resolved;
  for (const auto& e : entries) {
    if (!SplitSafe(e.path, &parts)) continue;  // cannot happen: checked above
    if (const std::string* l = through_link(parts)) {
      return Status::BadRequest("archive entry \"" + e.path +
                                "\" is refused: it lies beneath a symbolic link (\"" + *l + "\")");
    }
    std::string via;
    if (e.type == TarEntry::Type::kSymlink &&
        !ResolveLink(parts, e.link_target, &resolved, &links, &via)) {
      return Status::BadRequest("archive entry \"" + e.path + "\" is refused: its link to \"" +
                                e.link_target + "\" passes through another link (\"" + via + "\")");
    }
  }
  return entries;
}

}  // namespace spawn
