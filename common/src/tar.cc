#include "spawn/common/tar.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

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

// A safe relative path: no absolute path, no "..", no empty result.
bool SafeRelative(const std::string& path) {
  if (path.empty() || path[0] == '/') return false;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part == "..") return false;
  }
  return true;
}

std::string Normalize(std::string path) {
  while (path.rfind("./", 0) == 0) path = path.substr(2);
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
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
    std::ifstream in(disk_path, std::ios::binary);
    if (!in) return Status::NotFound("cannot read " + disk_path + ": " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    AddFile(archive_path, ss.str(), mode);
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
  std::string long_name, long_link;
  size_t pos = 0;
  while (true) {
    if (pos + kBlock > bytes.size()) {
      if (pos == bytes.size() && !bytes.empty()) break;  // tolerate a missing end marker
      if (bytes.empty()) break;
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
      return Status::BadRequest("archive entry at byte " + std::to_string(pos) + " has a bad size");
    }
    const char type = h[156];
    const size_t data_start = pos + kBlock;
    const size_t padded = (size + kBlock - 1) / kBlock * kBlock;
    if (data_start + size > bytes.size()) {
      return Status::BadRequest("archive is truncated inside entry " + CString(h, 100));
    }
    std::string data = bytes.substr(data_start, size);
    pos = data_start + padded;
    if (type == 'L' || type == 'K') {
      std::string value = data.substr(0, strnlen(data.c_str(), data.size()));
      (type == 'L' ? long_name : long_link) = value;
      continue;
    }
    if (type == 'x' || type == 'g') continue;  // pax headers: attributes we do not need
    std::string name = long_name.empty() ? CString(h, 100) : long_name;
    const std::string prefix = CString(h + 345, 155);
    if (long_name.empty() && !prefix.empty()) name = prefix + "/" + name;
    std::string link = long_link.empty() ? CString(h + 157, 100) : long_link;
    long_name.clear();
    long_link.clear();
    const std::string raw = name;
    name = Normalize(name);
    if (name.empty() && type == '5') continue;  // "./" itself
    if (!SafeRelative(raw) || !SafeRelative(name)) {
      return Status::BadRequest("archive entry \"" + raw +
                                "\" is refused: absolute paths and .. are not allowed");
    }
    TarEntry e;
    e.path = name;
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
        // The target is resolved from the link's own folder; it must stay inside the archive.
        const std::string folder =
            name.find('/') == std::string::npos ? "" : name.substr(0, name.rfind('/'));
        std::string resolved = folder.empty() ? link : folder + "/" + link;
        int depth = 0;
        std::stringstream ss(resolved);
        std::string part;
        bool escapes = link.empty() || link[0] == '/';
        while (!escapes && std::getline(ss, part, '/')) {
          if (part == "..")
            escapes = --depth < 0;
          else if (!part.empty() && part != ".")
            ++depth;
        }
        if (escapes) {
          return Status::BadRequest("archive entry \"" + name + "\" is refused: its link to \"" +
                                    link + "\" points outside the archive");
        }
        e.link_target = link;
        break;
      }
      case '1':
        return Status::BadRequest("archive entry \"" + name +
                                  "\" is refused: hard links are not allowed");
      case '3':
      case '4':
      case '6':
        return Status::BadRequest("archive entry \"" + name +
                                  "\" is refused: device and fifo entries are not allowed");
      default:
        return Status::BadRequest("archive entry \"" + name + "\" has an unsupported type '" +
                                  std::string(1, type) + "'");
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace spawn
