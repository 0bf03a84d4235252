#include "spawn/daemon/command_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "spawn/common/files.h"
#include "spawn/common/mutex.h"

namespace spawn {
namespace {

// A record is: its fields, each length-prefixed, then a checksum of everything before it, so a
// record cut short (or left as zeros) by a crash is told apart from a whole one. A command record
// is SPCMD1 (magic, sequence, topic, payload) or, with a deadline, SPCMD2 (the same and the
// deadline): a command without one is written as before, so an older spawnd can still read it.
constexpr char kCommandMagic[] = "SPCMD1";
constexpr char kCommandWithDeadlineMagic[] = "SPCMD2";
constexpr size_t kMaxField = size_t{1} << 31;

uint64_t Fnv1a(const std::string& bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads little-endian u64 at `at`; false when the input is too short.
bool GetU64(const std::string& in, size_t& at, uint64_t& v) {
  if (at > in.size() || in.size() - at < 8) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  at += 8;
  return true;
}

std::string EncodeFields(const std::vector<std::string>& fields) {
  std::string out;
  for (const auto& f : fields) {
    PutU64(out, f.size());
    out += f;
  }
  PutU64(out, Fnv1a(out));
  return out;
}

// Decodes `count` fields starting at `at`; advances `at` past the record. False if the record is
// short or its checksum does not match.
bool DecodeFields(const std::string& in, size_t& at, size_t count,
                  std::vector<std::string>& fields) {
  const size_t start = at;
  fields.clear();
  for (size_t i = 0; i < count; ++i) {
    uint64_t size = 0;
    if (!GetU64(in, at, size) || size > kMaxField || in.size() - at < size) return false;
    fields.push_back(in.substr(at, size));
    at += size;
  }
  const std::string body = in.substr(start, at - start);
  uint64_t sum = 0;
  return GetU64(in, at, sum) && sum == Fnv1a(body);
}

// A command record of either format; nullopt when it is damaged.
std::optional<JournaledCommand> DecodeCommand(const std::string& bytes) {
  std::vector<std::string> fields;
  size_t at = 0;
  const bool with_deadline =
      DecodeFields(bytes, at, 5, fields) && fields[0] == kCommandWithDeadlineMagic;
  if (!with_deadline) {
    at = 0;
    if (!DecodeFields(bytes, at, 4, fields) || fields[0] != kCommandMagic) return std::nullopt;
  }
  JournaledCommand command;
  unsigned long long sequence = 0;
  long long deadline = 0;
  if (std::sscanf(fields[1].c_str(), "%llu", &sequence) != 1) return std::nullopt;
  if (with_deadline && std::sscanf(fields[4].c_str(), "%lld", &deadline) != 1) return std::nullopt;
  command.sequence = sequence;
  command.message = BusMessage{fields[2], fields[3], 1, false};
  command.deadline_unix_ns = deadline;
  return command;
}

std::string ErrnoText() { return std::strerror(errno); }

// Writes `data` to `path` (O_APPEND or truncating) and waits until it is on the disk, with its
// name: a file it creates is synced in its directory too.
Status WriteDurably(const std::string& path, const std::string& data, bool append) {
  const bool creating = ::access(path.c_str(), F_OK) != 0;
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  const int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) return Status::Internal("cannot write " + path + ": " + ErrnoText());
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string error = ErrnoText();
      ::close(fd);
      return Status::Internal("cannot write " + path + ": " + error);
    }
    written += static_cast<size_t>(n);
  }
  if (::fdatasync(fd) != 0) {
    const std::string error = ErrnoText();
    ::close(fd);
    return Status::Internal("cannot flush " + path + ": " + error);
  }
  ::close(fd);
  if (creating) SyncDirectory(std::filesystem::path(path).parent_path().string());
  return Status::Ok();
}

class FileCommandJournal final : public CommandJournal {
 public:
  FileCommandJournal(std::string dir, size_t reply_capacity)
      : dir_(std::move(dir)), reply_capacity_(std::max<size_t>(reply_capacity, 1)) {}

  Result<JournalContents> Load() override EXCLUDES(mu_) {
    MutexLock lock(mu_);
    std::error_code error;
    std::filesystem::create_directories(dir_, error);
    if (error) return Status::Internal("cannot make " + dir_ + ": " + error.message());
    JournalContents contents;
    SPAWN_RETURN_IF_ERROR(LoadPending(contents));
    SPAWN_RETURN_IF_ERROR(LoadReplies(contents));
    return contents;
  }

  Result<uint64_t> Record(const BusMessage& message, int64_t deadline_unix_ns) override
      EXCLUDES(mu_) {
    MutexLock lock(mu_);
    const uint64_t sequence = next_sequence_++;
    const std::string record =
        deadline_unix_ns == 0
            ? EncodeFields(
                  {kCommandMagic, std::to_string(sequence), message.topic, message.payload})
            : EncodeFields({kCommandWithDeadlineMagic, std::to_string(sequence), message.topic,
                            message.payload, std::to_string(deadline_unix_ns)});
    SPAWN_RETURN_IF_ERROR(WriteDurably(CommandPath(sequence), record, false));
    return sequence;
  }

  Status Done(uint64_t sequence) override EXCLUDES(mu_) {
    MutexLock lock(mu_);
    // Not synced: if the removal is lost in a crash, the command is replayed and its remembered
    // reply repeated, not acted on again.
    if (::unlink(CommandPath(sequence).c_str()) != 0 && errno != ENOENT)
      return Status::Internal("cannot remove " + CommandPath(sequence) + ": " + ErrnoText());
    return Status::Ok();
  }

  Status Remember(const std::string& request_id, const std::string& reply) override EXCLUDES(mu_) {
    MutexLock lock(mu_);
    recent_.emplace_back(request_id, reply);
    if (recent_.size() > reply_capacity_) recent_.pop_front();
    if (++records_in_file_ > 2 * reply_capacity_) return Compact();
    return WriteDurably(RepliesPath(), EncodeFields({request_id, reply}), true);
  }

 private:
  std::string CommandPath(uint64_t sequence) const {
    char name[32];
    std::snprintf(name, sizeof name, "%020llu.cmd", static_cast<unsigned long long>(sequence));
    return dir_ + "/" + name;
  }
  std::string RepliesPath() const { return dir_ + "/replies.log"; }

  Status LoadPending(JournalContents& contents) REQUIRES(mu_) {
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      if (entry.path().extension() != ".cmd") continue;
      auto bytes = ReadFile(entry.path().string());
      std::optional<JournaledCommand> command;
      if (bytes.ok()) command = DecodeCommand(*bytes);
      if (command) {
        next_sequence_ = std::max(next_sequence_, command->sequence + 1);
        contents.pending.push_back(std::move(*command));
      } else {
        spdlog::warn("journal: {} was cut short by a crash; skipped", entry.path().string());
        ++contents.damaged;
        std::filesystem::remove(entry.path());
      }
    }
    std::sort(contents.pending.begin(), contents.pending.end(),
              [](const auto& a, const auto& b) { return a.sequence < b.sequence; });
    return Status::Ok();
  }

  Status LoadReplies(JournalContents& contents) REQUIRES(mu_) {
    auto bytes = ReadFile(RepliesPath());
    if (bytes.ok()) {
      size_t at = 0;
      std::vector<std::string> fields;
      while (at < bytes->size()) {
        if (!DecodeFields(*bytes, at, 2, fields)) {
          spdlog::warn("journal: the end of {} was cut short by a crash; dropped", RepliesPath());
          ++contents.damaged;
          break;
        }
        recent_.emplace_back(fields[0], fields[1]);
        if (recent_.size() > reply_capacity_) recent_.pop_front();
      }
    }
    contents.replies.assign(recent_.begin(), recent_.end());
    // Rewritten whole, so a damaged tail is gone and the file starts small.
    return Compact();
  }

  Status Compact() REQUIRES(mu_) {
    std::string data;
    for (const auto& [id, reply] : recent_) data += EncodeFields({id, reply});
    const std::string tmp = RepliesPath() + ".tmp";
    SPAWN_RETURN_IF_ERROR(WriteDurably(tmp, data, false));
    if (::rename(tmp.c_str(), RepliesPath().c_str()) != 0)
      return Status::Internal("cannot rename " + tmp + ": " + ErrnoText());
    records_in_file_ = recent_.size();
    return Status::Ok();
  }

  const std::string dir_;
  const size_t reply_capacity_;
  Mutex mu_;
  uint64_t next_sequence_ GUARDED_BY(mu_) = 1;
  std::deque<std::pair<std::string, std::string>> recent_ GUARDED_BY(mu_);
  size_t records_in_file_ GUARDED_BY(mu_) = 0;
};

}  // namespace

std::unique_ptr<CommandJournal> MakeFileCommandJournal(const std::string& dir,
                                                       size_t reply_capacity) {
  return std::make_unique<FileCommandJournal>(dir, reply_capacity);
}

}  // namespace spawn
