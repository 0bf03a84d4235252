#include "spawn/daemon/reply_cache.h"

#include <spdlog/spdlog.h>

namespace spawn {

ReplyCache::ReplyCache(size_t capacity) : capacity_(capacity) {}

void ReplyCache::Restore(const std::vector<std::pair<std::string, std::string>>& replies) {
  for (const auto& [id, reply] : replies) Insert(id, reply);
}

std::optional<std::string> ReplyCache::Find(const std::string& request_id) {
  if (request_id.empty()) return std::nullopt;
  auto it = index_.find(request_id);
  if (it == index_.end()) return std::nullopt;
  replies_.splice(replies_.begin(), replies_, it->second);
  return it->second->second;
}

void ReplyCache::Remember(const std::string& request_id, const std::string& reply) {
  if (!Insert(request_id, reply)) return;
  if (journal_) {
    const Status kept = journal_->Remember(request_id, reply);
    if (!kept.ok()) spdlog::warn("journal: {}", kept.message());
  }
}

bool ReplyCache::Insert(const std::string& request_id, const std::string& reply) {
  if (request_id.empty() || index_.count(request_id)) return false;
  replies_.emplace_front(request_id, reply);
  index_[request_id] = replies_.begin();
  if (replies_.size() > capacity_) {
    index_.erase(replies_.back().first);
    replies_.pop_back();
  }
  return true;
}

}  // namespace spawn
