#include "spawn/client/fan_out.h"

#include <future>

#include "spawn/common/units.h"

namespace spawn {

std::optional<std::string> FanOutBase(const std::string& uri) {
  if (uri.size() < 3 || !uri.ends_with("/*")) return std::nullopt;
  return uri.substr(0, uri.size() - 2);
}

namespace {

FanOutOutcome FromReply(const std::string& path, const Result<proto::Reply>& reply) {
  FanOutOutcome out;
  out.path = path;
  if (!reply.ok()) {
    out.kind = FanOutOutcome::Kind::kFailed;
    out.message = reply.status().message();
    return out;
  }
  out.kind = reply->ok ? FanOutOutcome::Kind::kOk : FanOutOutcome::Kind::kFailed;
  out.code = reply->code;
  out.message = reply->message;
  return out;
}

}  // namespace

std::vector<FanOutOutcome> FanOut(const std::vector<SpawnpointInfo>& targets, int64_t now_unix_ns,
                                  Duration down_after, Duration timeout, const FanOutSend& send) {
  std::vector<FanOutOutcome> outcomes(targets.size());
  std::vector<std::future<FanOutOutcome>> waiting(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    const SpawnpointInfo& sp = targets[i];
    const bool away = !sp.online || IsDown(sp, now_unix_ns, down_after);
    if (!away) {
      waiting[i] = std::async(std::launch::async, [&send, path = sp.path, timeout] {
        return FromReply(path, send(path, timeout));
      });
      continue;
    }
    // Published once and left to the broker: no answer can come before the spawnpoint is back.
    Result<proto::Reply> sent = send(sp.path, Duration::zero());
    FanOutOutcome& out = outcomes[i];
    if (sent.ok() || sent.status().code() == Code::kTimeout) {
      out.path = sp.path;
      out.kind = FanOutOutcome::Kind::kQueued;
      out.message =
          std::string(sp.online ? "silent" : "offline") +
          ": the broker keeps the command until the spawnpoint returns, within its expiry";
      if (sent.ok()) out = FromReply(sp.path, sent);  // it was there after all
    } else {
      out = FromReply(sp.path, sent);
    }
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    if (waiting[i].valid()) outcomes[i] = waiting[i].get();
  }
  return outcomes;
}

std::string FormatFanOut(const std::vector<FanOutOutcome>& outcomes, const FormatOptions&) {
  std::string out;
  for (const auto& o : outcomes) {
    out += o.path + ": ";
    switch (o.kind) {
      case FanOutOutcome::Kind::kOk:
        out += "ok [" + std::to_string(o.code) + "] " + o.message;
        break;
      case FanOutOutcome::Kind::kQueued:
        out += "queued (" + o.message + ")";
        break;
      case FanOutOutcome::Kind::kFailed:
        out += "failed";
        if (o.code) out += " [" + std::to_string(o.code) + "]";
        out += " " + o.message;
        break;
    }
    out += "\n";
  }
  return out;
}

bool FanOutSucceeded(const std::vector<FanOutOutcome>& outcomes) {
  for (const auto& o : outcomes) {
    if (o.kind == FanOutOutcome::Kind::kFailed) return false;
  }
  return true;
}

}  // namespace spawn
