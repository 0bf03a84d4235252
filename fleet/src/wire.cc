#include "spawn/fleet/wire.h"

#include <msgpack.hpp>
#include <string_view>

#include "spawn/common/units.h"
#include "spawn/proto/messages.h"

namespace spawn::fleet {
namespace {

struct StringStream {
  std::string bytes;
  void write(const char* data, size_t size) { bytes.append(data, size); }
};
using Packer = msgpack::packer<StringStream>;

void Str(Packer& p, std::string_view s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}
void Bin(Packer& p, const std::string& s) {
  p.pack_bin(static_cast<uint32_t>(s.size()));
  p.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
}

// A revision's config travels as slot/config's DeployRequest map (no archive, no entity), so its
// Config is the same deploy.yml map; the wire format's own codec writes and reads it.
void PackRevision(Packer& p, StringStream& out, const Revision& r) {
  p.pack_map(2);
  Str(p, "Generation");
  p.pack_int64(r.generation);
  Str(p, "Deploy");
  proto::DeployRequest request;
  request.config = r.config;
  out.bytes += proto::Encode(request);
}

// ---- decoding ----

class Reader {
 public:
  static Result<Reader> Of(const msgpack::object& o, const std::string& what) {
    if (o.type != msgpack::type::MAP) return Status::BadRequest(what + ": expected a map");
    return Reader(o, what);
  }
  const msgpack::object* Find(std::string_view key) const {
    for (uint32_t i = 0; i < o_.via.map.size; ++i) {
      const auto& kv = o_.via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR &&
          std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key)
        return &kv.val;
    }
    return nullptr;
  }
  Status String(std::string_view key, std::string* out) const {
    const auto* v = Find(key);
    if (!v || v->type == msgpack::type::NIL) return Status::Ok();
    if (v->type == msgpack::type::STR)
      *out = std::string(v->via.str.ptr, v->via.str.size);
    else if (v->type == msgpack::type::BIN)
      *out = std::string(v->via.bin.ptr, v->via.bin.size);
    else
      return Wrong(key, "a string");
    return Status::Ok();
  }
  Status Int(std::string_view key, int64_t* out) const {
    const auto* v = Find(key);
    if (!v) return Status::Ok();
    if (v->type == msgpack::type::POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)
      *out = static_cast<int64_t>(v->via.u64);
    else if (v->type == msgpack::type::NEGATIVE_INTEGER)
      *out = v->via.i64;
    else
      return Wrong(key, "an integer");
    return Status::Ok();
  }
  Status Bool(std::string_view key, bool* out) const {
    const auto* v = Find(key);
    if (!v) return Status::Ok();
    if (v->type != msgpack::type::BOOLEAN) return Wrong(key, "a boolean");
    *out = v->via.boolean;
    return Status::Ok();
  }
  Status Wrong(std::string_view key, const char* expected) const {
    return Status::BadRequest(what_ + ": " + std::string(key) + ": expected " + expected);
  }
  const std::string& what() const { return what_; }

 private:
  Reader(const msgpack::object& o, std::string what) : o_(o), what_(std::move(what)) {}
  const msgpack::object& o_;
  std::string what_;
};

template <typename T, typename Fill>
Result<T> DecodeMap(const std::string& bytes, const std::string& what, Fill fill) {
  if (bytes.empty() || bytes.size() > proto::kMaxPayloadBytes)
    return Status::BadRequest(what + ": empty or oversized message");
  try {
    const msgpack::unpack_limit limit(100000, 100000, bytes.size(), bytes.size(), 1000, 16);
    msgpack::object_handle handle =
        msgpack::unpack(bytes.data(), bytes.size(), nullptr, nullptr, limit);
    auto reader = Reader::Of(handle.get(), what);
    if (!reader.ok()) return reader.status();
    T out;
    SPAWN_RETURN_IF_ERROR(fill(*reader, out));
    return out;
  } catch (const std::exception& e) {
    return Status::BadRequest(what + ": not a msgpack message: " + e.what());
  }
}

Status ReadRevision(const msgpack::object& o, const std::string& what, Revision* out) {
  auto r = Reader::Of(o, what);
  if (!r.ok()) return r.status();
  SPAWN_RETURN_IF_ERROR(r->Int("Generation", &out->generation));
  const auto* deploy = r->Find("Deploy");
  if (!deploy) return Status::BadRequest(what + ": Deploy is missing; expected the config");
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, *deploy);
  auto request = proto::DecodeDeployRequest(std::string(buffer.data(), buffer.size()));
  if (!request.ok()) return Status::BadRequest(what + ": " + request.status().message());
  out->config = std::move(request->config);
  return Status::Ok();
}

}  // namespace

const char* ToString(RolloutState state) {
  switch (state) {
    case RolloutState::kRolling:
      return "rolling";
    case RolloutState::kDone:
      return "done";
    case RolloutState::kFailed:
      return "failed";
  }
  return "?";
}

std::string Encode(const FleetSpec& s) {
  StringStream out;
  Packer p(out);
  p.pack_map(s.previous ? 6 : 5);
  Str(p, "Name");
  Str(p, s.name);
  Str(p, "Replicas");
  p.pack_int64(s.replicas);
  Str(p, "Placement");
  p.pack_map(3);
  Str(p, "Spread");
  p.pack(s.placement.spread);
  Str(p, "Require");
  p.pack_map(static_cast<uint32_t>(s.placement.require.size()));
  for (const auto& [key, value] : s.placement.require) {
    Str(p, key);
    Str(p, value);
  }
  Str(p, "RescheduleAfter");
  Str(p, FormatDuration(s.placement.reschedule_after));
  Str(p, "Removed");
  p.pack(s.removed);
  Str(p, "Current");
  PackRevision(p, out, s.current);
  if (s.previous) {
    Str(p, "Previous");
    PackRevision(p, out, *s.previous);
  }
  return out.bytes;
}

std::string Encode(const FleetFiles& f) {
  StringStream out;
  Packer p(out);
  p.pack_map(5);
  Str(p, "Generation");
  p.pack_int64(f.generation);
  Str(p, "Archive");
  Bin(p, f.archive);
  Str(p, "Entity");
  Bin(p, f.entity);
  Str(p, "PreviousArchive");
  Bin(p, f.previous_archive);
  Str(p, "PreviousEntity");
  Bin(p, f.previous_entity);
  return out.bytes;
}

std::string Encode(const FleetStatus& s) {
  StringStream out;
  Packer p(out);
  p.pack_map(10);
  Str(p, "Name");
  Str(p, s.name);
  Str(p, "Generation");
  p.pack_int64(s.generation);
  Str(p, "Desired");
  p.pack_int64(s.desired);
  Str(p, "Running");
  p.pack_int64(s.running);
  Str(p, "Replicas");
  p.pack_array(static_cast<uint32_t>(s.replicas.size()));
  for (const auto& r : s.replicas) {
    p.pack_map(4);
    Str(p, "Replica");
    p.pack_int64(r.replica);
    Str(p, "Path");
    Str(p, r.path);
    Str(p, "State");
    Str(p, r.state);
    Str(p, "Generation");
    p.pack_int64(r.generation);
  }
  Str(p, "Pending");
  p.pack_array(static_cast<uint32_t>(s.pending.size()));
  for (const auto& r : s.pending) {
    p.pack_map(2);
    Str(p, "Replica");
    p.pack_int64(r.replica);
    Str(p, "Reason");
    Str(p, r.reason);
  }
  Str(p, "Conflicts");
  p.pack_array(static_cast<uint32_t>(s.conflicts.size()));
  for (const auto& c : s.conflicts) Str(p, c);
  Str(p, "Rollout");
  Str(p, ToString(s.rollout));
  Str(p, "Updated");
  p.pack_int64(s.updated);
  Str(p, "Message");
  Str(p, s.message);
  return out.bytes;
}

Result<FleetSpec> DecodeFleetSpec(const std::string& bytes) {
  return DecodeMap<FleetSpec>(bytes, "fleet spec", [](const Reader& r, FleetSpec& s) -> Status {
    SPAWN_RETURN_IF_ERROR(r.String("Name", &s.name));
    SPAWN_RETURN_IF_ERROR(r.Int("Replicas", &s.replicas));
    if (s.replicas < 0 || s.replicas > kMaxReplicas) return r.Wrong("Replicas", "0 to 10000");
    SPAWN_RETURN_IF_ERROR(r.Bool("Removed", &s.removed));
    if (const auto* placement = r.Find("Placement")) {
      auto pr = Reader::Of(*placement, "fleet spec: Placement");
      if (!pr.ok()) return pr.status();
      SPAWN_RETURN_IF_ERROR(pr->Bool("Spread", &s.placement.spread));
      std::string after;
      SPAWN_RETURN_IF_ERROR(pr->String("RescheduleAfter", &after));
      if (!after.empty()) {
        auto d = ParseDuration(after);
        if (!d.ok() || d->count() <= 0) return pr->Wrong("RescheduleAfter", "a duration");
        s.placement.reschedule_after = *d;
      }
      if (const auto* require = pr->Find("Require")) {
        if (require->type != msgpack::type::MAP) return pr->Wrong("Require", "a map");
        for (uint32_t i = 0; i < require->via.map.size; ++i) {
          const auto& kv = require->via.map.ptr[i];
          if (kv.key.type != msgpack::type::STR || kv.val.type != msgpack::type::STR)
            return pr->Wrong("Require", "a map of strings");
          s.placement.require[std::string(kv.key.via.str.ptr, kv.key.via.str.size)] =
              std::string(kv.val.via.str.ptr, kv.val.via.str.size);
        }
      }
    }
    const auto* current = r.Find("Current");
    if (!current) return Status::BadRequest("fleet spec: Current is missing");
    SPAWN_RETURN_IF_ERROR(ReadRevision(*current, "fleet spec: Current", &s.current));
    if (const auto* previous = r.Find("Previous")) {
      Revision revision;
      SPAWN_RETURN_IF_ERROR(ReadRevision(*previous, "fleet spec: Previous", &revision));
      s.previous = std::move(revision);
    }
    if (s.name.empty() || s.current.config.name != s.name)
      return Status::BadRequest("fleet spec: Name does not match its config's name");
    return ValidateSetName(s.name, s.replicas);
  });
}

Result<FleetFiles> DecodeFleetFiles(const std::string& bytes) {
  return DecodeMap<FleetFiles>(bytes, "fleet files", [](const Reader& r, FleetFiles& f) {
    SPAWN_RETURN_IF_ERROR(r.Int("Generation", &f.generation));
    SPAWN_RETURN_IF_ERROR(r.String("Archive", &f.archive));
    SPAWN_RETURN_IF_ERROR(r.String("Entity", &f.entity));
    SPAWN_RETURN_IF_ERROR(r.String("PreviousArchive", &f.previous_archive));
    return r.String("PreviousEntity", &f.previous_entity);
  });
}

Result<FleetStatus> DecodeFleetStatus(const std::string& bytes) {
  return DecodeMap<FleetStatus>(bytes, "fleet status", [](const Reader& r, FleetStatus& s) {
    SPAWN_RETURN_IF_ERROR(r.String("Name", &s.name));
    SPAWN_RETURN_IF_ERROR(r.Int("Generation", &s.generation));
    SPAWN_RETURN_IF_ERROR(r.Int("Desired", &s.desired));
    SPAWN_RETURN_IF_ERROR(r.Int("Running", &s.running));
    SPAWN_RETURN_IF_ERROR(r.Int("Updated", &s.updated));
    SPAWN_RETURN_IF_ERROR(r.String("Message", &s.message));
    std::string rollout;
    SPAWN_RETURN_IF_ERROR(r.String("Rollout", &rollout));
    s.rollout = rollout == "done"     ? RolloutState::kDone
                : rollout == "failed" ? RolloutState::kFailed
                                      : RolloutState::kRolling;
    auto list = [&r](std::string_view key, auto each) -> Status {
      const auto* v = r.Find(key);
      if (!v) return Status::Ok();
      if (v->type != msgpack::type::ARRAY) return r.Wrong(key, "a list");
      for (uint32_t i = 0; i < v->via.array.size; ++i)
        SPAWN_RETURN_IF_ERROR(each(v->via.array.ptr[i]));
      return Status::Ok();
    };
    SPAWN_RETURN_IF_ERROR(list("Replicas", [&s](const msgpack::object& o) -> Status {
      auto item = Reader::Of(o, "fleet status: Replicas");
      if (!item.ok()) return item.status();
      ReplicaPlace place;
      SPAWN_RETURN_IF_ERROR(item->Int("Replica", &place.replica));
      SPAWN_RETURN_IF_ERROR(item->String("Path", &place.path));
      SPAWN_RETURN_IF_ERROR(item->String("State", &place.state));
      SPAWN_RETURN_IF_ERROR(item->Int("Generation", &place.generation));
      s.replicas.push_back(std::move(place));
      return Status::Ok();
    }));
    SPAWN_RETURN_IF_ERROR(list("Pending", [&s](const msgpack::object& o) -> Status {
      auto item = Reader::Of(o, "fleet status: Pending");
      if (!item.ok()) return item.status();
      PendingReplica pending;
      SPAWN_RETURN_IF_ERROR(item->Int("Replica", &pending.replica));
      SPAWN_RETURN_IF_ERROR(item->String("Reason", &pending.reason));
      s.pending.push_back(std::move(pending));
      return Status::Ok();
    }));
    return list("Conflicts", [&s](const msgpack::object& o) -> Status {
      if (o.type != msgpack::type::STR) return Status::BadRequest("fleet status: Conflicts");
      s.conflicts.emplace_back(o.via.str.ptr, o.via.str.size);
      return Status::Ok();
    });
  });
}

}  // namespace spawn::fleet
