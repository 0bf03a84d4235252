// CommandJournal: the commands spawnd was given (config, restart, stop) and the replies it made, on
// disk, so that a crash neither loses a command nor carries one out twice.
//
// Why: Paho acknowledges a QoS 1 message to the broker as it hands it over, before spawnd acts on
// it; from then on the broker will not deliver it again, so spawnd's own copy is the only one.
// The daemon Records each command as it arrives (on the bus thread, before anything else), marks
// it Done once answered, and Remembers every reply. After a restart, Load() returns what was
// recorded but not done (to be handled again, in arrival order) and the replies made, so that a
// command that was already answered is answered again with its first reply instead of acted on.
// Each command keeps the deadline it arrived with, so that one replayed long after is not acted on
// once it has expired.
//
// Durability: Record and Remember return after the data reached the disk (fdatasync; the new
// file's directory entry is not synced, so a power cut, unlike a crash, may lose the newest
// command); a record cut short by a crash is recognised and skipped on Load. A command that was
// acted on but whose reply was not yet remembered when spawnd died is carried out again (the
// window is the supervisor call itself).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "spawn/bus/bus.h"
#include "spawn/common/status.h"

namespace spawn {

struct JournaledCommand {
  uint64_t sequence = 0;
  BusMessage message;
  // When the command expires, in unix nanoseconds of the daemon's wall clock; 0: never. Records of
  // the format before deadlines load with 0.
  int64_t deadline_unix_ns = 0;
};

struct JournalContents {
  std::vector<JournaledCommand> pending;                     // oldest first
  std::vector<std::pair<std::string, std::string>> replies;  // RequestId -> reply, oldest first
  size_t damaged = 0;  // records cut short by a crash, skipped
};

class CommandJournal {
 public:
  virtual ~CommandJournal() = default;
  // Reads what the previous run left. Call once, before Record.
  virtual Result<JournalContents> Load() = 0;
  // Stores a command as it arrives, with its deadline (0: none); returns its sequence number for
  // Done.
  virtual Result<uint64_t> Record(const BusMessage& message, int64_t deadline_unix_ns) = 0;
  // The command was handled (answered, or found to be a repeat): it is not replayed.
  virtual Status Done(uint64_t sequence) = 0;
  // The first reply to `request_id`; the most recent `capacity` are kept.
  virtual Status Remember(const std::string& request_id, const std::string& reply) = 0;
};

// Files under `dir` (made if missing): one "<sequence>.cmd" per pending command and an
// append-only "replies.log", compacted to the last `reply_capacity` replies as it grows.
std::unique_ptr<CommandJournal> MakeFileCommandJournal(const std::string& dir,
                                                       size_t reply_capacity);

}  // namespace spawn
