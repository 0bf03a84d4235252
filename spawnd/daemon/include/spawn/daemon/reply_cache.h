// ReplyCache: the first reply spawnd made to each recent RequestId, so that a command delivered
// twice (QoS 1 may) is answered again with that reply instead of being acted on again.
//
// It holds the `capacity` most recently used replies; looking one up counts as a use, and the
// least recently used is forgotten first. With a CommandJournal each new reply is remembered on
// disk as well, and after a restart Restore() takes back what the journal kept, so the memory of
// replies survives a crash.
//
// Thread-compatible: the daemon uses it from its loop thread only.
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "spawn/daemon/command_journal.h"

namespace spawn {

class ReplyCache {
 public:
  explicit ReplyCache(size_t capacity);

  // From now on every new reply is remembered in `journal` too (nullptr: in memory only). It must
  // outlive the cache.
  void SetJournal(CommandJournal* journal) { journal_ = journal; }
  // Takes back the replies a journal's Load() returned (oldest first), without writing them to the
  // journal again; the newest is then the most recently used.
  void Restore(const std::vector<std::pair<std::string, std::string>>& replies);

  // The reply remembered for `request_id`, which becomes the most recently used; nullopt if there
  // is none (and always for an empty id: such a request has nowhere to be answered).
  std::optional<std::string> Find(const std::string& request_id);
  // Remembers `reply` as the answer to `request_id`, forgetting the least recently used beyond
  // capacity. An id already remembered keeps its first reply; an empty id is not remembered. A
  // journal that fails to store the reply is logged; it is still remembered in memory.
  void Remember(const std::string& request_id, const std::string& reply);

  size_t size() const { return replies_.size(); }

 private:
  using Entry = std::pair<std::string, std::string>;  // RequestId, encoded reply
  // False if `request_id` is empty or was remembered already.
  bool Insert(const std::string& request_id, const std::string& reply);

  const size_t capacity_;
  CommandJournal* journal_ = nullptr;
  std::list<Entry> replies_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace spawn
