#include "spawn/proto/messages.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <msgpack.hpp>
#include <string>

#include "spawn/common/config_yaml.h"

namespace spawn::proto {
namespace {

// Where a message is packed: the string that Encode returns. (msgpack::sbuffer starts at 8 KiB,
// and glibc's malloc answers a request of 1 KiB or more by first consolidating its fast bins: on
// every message, for messages that are mostly a few hundred bytes.)
struct StringStream {
  std::string bytes;
  void write(const char* data, size_t size) { bytes.append(data, size); }
};
using Packer = msgpack::packer<StringStream>;

// ---- encoding ----

void PackStr(Packer& p, const std::string& s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}
void PackBin(Packer& p, const std::string& s) {
  p.pack_bin(static_cast<uint32_t>(s.size()));
  p.pack_bin_body(s.data(), static_cast<uint32_t>(s.size()));
}
// The config as design.md puts it on the bus: deploy.yml's keys (only those ServiceConfigToNode
// emits, i.e. non-default ones) with typed values: cpuShares an integer, flags booleans, lists
// arrays of strings, everything else (sizes "64M", durations "30s", names) a string. Typed by key,
// not guessed from the text, so a name such as "123" or "true" stays a string.
void PackConfig(Packer& p, const ServiceConfig& c) {
  const YAML::Node node = ServiceConfigToNode(c);
  p.pack_map(static_cast<uint32_t>(node.size()));
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    PackStr(p, key);
    if (kv.second.IsSequence()) {
      p.pack_array(static_cast<uint32_t>(kv.second.size()));
      for (const auto& item : kv.second) PackStr(p, item.Scalar());
    } else if (kv.second.IsMap()) {  // healthCheck: cmd a list, retries an integer, text else
      p.pack_map(static_cast<uint32_t>(kv.second.size()));
      for (const auto& field : kv.second) {
        PackStr(p, field.first.Scalar());
        if (field.second.IsSequence()) {
          p.pack_array(static_cast<uint32_t>(field.second.size()));
          for (const auto& item : field.second) PackStr(p, item.Scalar());
        } else if (field.first.Scalar() == "retries" && c.health_check) {
          p.pack_int64(c.health_check->retries);
        } else {
          PackStr(p, field.second.Scalar());
        }
      }
    } else if (key == "cpuShares") {
      p.pack_int64(c.cpu_shares);
    } else if (key == "autoRestart") {
      c.auto_restart ? p.pack_true() : p.pack_false();
    } else if (key == "useHostNet") {
      c.use_host_net ? p.pack_true() : p.pack_false();
    } else {
      PackStr(p, kv.second.Scalar());
    }
  }
}

// Writes a map whose size is known up front; Field() calls must match the declared count.
class MapWriter {
 public:
  MapWriter(Packer& p, uint32_t fields) : p_(p) { p_.pack_map(fields); }
  MapWriter& Str(const char* key, const std::string& v) { return Key(key), PackStr(p_, v), *this; }
  MapWriter& Bin(const char* key, const std::string& v) { return Key(key), PackBin(p_, v), *this; }
  MapWriter& Int(const char* key, int64_t v) { return Key(key), p_.pack_int64(v), *this; }
  MapWriter& Float(const char* key, double v) { return Key(key), p_.pack_double(v), *this; }
  MapWriter& Bool(const char* key, bool v) {
    Key(key);
    v ? p_.pack_true() : p_.pack_false();
    return *this;
  }
  MapWriter& StrList(const char* key, const std::vector<std::string>& v) {
    Key(key);
    p_.pack_array(static_cast<uint32_t>(v.size()));
    for (const auto& s : v) PackStr(p_, s);
    return *this;
  }
  MapWriter& Config(const char* key, const ServiceConfig& c) {
    Key(key);
    PackConfig(p_, c);
    return *this;
  }
  Packer& Raw(const char* key) {
    Key(key);
    return p_;
  }

 private:
  void Key(const char* key) { PackStr(p_, key); }
  Packer& p_;
};

void PackLogMessage(Packer& p, const LogMessage& m) {
  MapWriter(p, 5)
      .Int("Time", m.time_unix_ns)
      .Str("SPAlias", m.sp_alias)
      .Str("Service", m.service)
      .Str("Stream", m.stream)
      .Str("Contents", m.contents);
}

template <typename Fn>
std::string Pack(Fn fn) {
  StringStream out;
  out.bytes.reserve(256);
  Packer p(out);
  fn(p);
  return std::move(out.bytes);
}

// ---- decoding ----

const char* TypeName(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return "nil";
    case msgpack::type::BOOLEAN:
      return "boolean";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER:
      return "integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return "float";
    case msgpack::type::STR:
      return "string";
    case msgpack::type::BIN:
      return "binary";
    case msgpack::type::ARRAY:
      return "array";
    case msgpack::type::MAP:
      return "map";
    default:
      return "extension";
  }
}

Status WrongType(const std::string& key, const char* expected, const msgpack::object& o) {
  return Status::BadRequest(key + ": expected " + expected + ", got " + TypeName(o));
}

// A first pass that allocates nothing and refuses payloads whose containers claim more elements
// than the bytes could hold, or more objects than any real message has. msgpack::unpack reserves
// a container's claimed size before reading it, so without this a few bytes could make it
// allocate megabytes.
class BoundsVisitor : public msgpack::null_visitor {
 public:
  explicit BoundsVisitor(size_t budget) : budget_(budget) {}
  bool start_array(uint32_t n) { return Take(n) && Enter(); }
  bool start_map(uint32_t n) { return Take(uint64_t{n} * 2) && Enter(); }
  bool end_array() { return --depth_, true; }
  bool end_map() { return --depth_, true; }
  bool over() const { return over_; }

 private:
  bool Take(uint64_t n) {
    if (n > budget_) return over_ = true, false;
    budget_ -= n;
    return true;
  }
  bool Enter() {
    if (++depth_ > kMaxDepth) return over_ = true, false;
    return true;
  }
  static constexpr int kMaxDepth = 32;
  uint64_t budget_;
  int depth_ = 0;
  bool over_ = false;
};

constexpr size_t kMaxObjects = 1 << 20;

Result<msgpack::object_handle> Unpack(const std::string& bytes, size_t max_bytes) {
  if (bytes.size() > max_bytes) {
    return Status::BadRequest("message of " + std::to_string(bytes.size()) +
                              " bytes is larger than the limit of " + std::to_string(max_bytes));
  }
  if (bytes.empty()) return Status::BadRequest("empty message; expected a msgpack map");
  try {
    BoundsVisitor bounds(std::min(bytes.size(), kMaxObjects));
    std::size_t checked = 0;
    if (!msgpack::parse(bytes.data(), bytes.size(), checked, bounds)) {
      if (bounds.over()) {
        return Status::BadRequest(
            "message nests deeper than 32 levels or claims more elements than it holds");
      }
      if (checked >= bytes.size()) return Status::BadRequest("message is truncated");
      // Let unpack below name the error.
    }
    // Limits bound what a hostile payload can make the decoder allocate.
    const msgpack::unpack_limit limit(100000, 100000, max_bytes, max_bytes, 1000, 32);
    // The decoded objects and copied strings take about twice the message's bytes; a zone sized
    // for that, instead of msgpack's 8 KiB default, keeps small messages small allocations.
    auto zone = std::make_unique<msgpack::zone>(2 * bytes.size() + 256);
    std::size_t offset = 0;
    bool referenced = false;
    const msgpack::object object = msgpack::unpack(*zone, bytes.data(), bytes.size(), offset,
                                                   referenced, nullptr, nullptr, limit);
    if (offset != bytes.size())
      return Status::BadRequest("trailing bytes after the msgpack message");
    return msgpack::object_handle(object, std::move(zone));
  } catch (const msgpack::insufficient_bytes&) {
    return Status::BadRequest("message is truncated");
  } catch (const std::exception& e) {
    return Status::BadRequest(std::string("not a msgpack message: ") + e.what());
  }
}

// Reads the fields of a msgpack map by key. Unknown keys are ignored (forward compatibility);
// missing keys leave defaults.
class MapReader {
 public:
  static Result<MapReader> Of(const msgpack::object& o, const std::string& what) {
    if (o.type != msgpack::type::MAP) return WrongType(what, "a map", o);
    return MapReader(o);
  }

  const msgpack::object* Find(const std::string& key) const {
    for (uint32_t i = 0; i < o_.via.map.size; ++i) {
      const auto& kv = o_.via.map.ptr[i];
      if (kv.key.type == msgpack::type::STR &&
          std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key) {
        return &kv.val;
      }
    }
    return nullptr;
  }

  Status Str(const std::string& key, std::string* out, bool required = false) const {
    const auto* v = Find(key);
    if (!v) return Missing(key, required);
    if (v->type == msgpack::type::STR)
      *out = std::string(v->via.str.ptr, v->via.str.size);
    else if (v->type == msgpack::type::BIN)
      *out = std::string(v->via.bin.ptr, v->via.bin.size);
    else if (v->type == msgpack::type::NIL)
      out->clear();
    else
      return WrongType(key, "a string", *v);
    return Status::Ok();
  }
  Status Bytes(const std::string& key, std::string* out, size_t max) const {
    SPAWN_RETURN_IF_ERROR(Str(key, out));
    if (out->size() > max) {
      return Status::BadRequest(key + ": " + std::to_string(out->size()) +
                                " bytes is larger than the limit of " + std::to_string(max));
    }
    return Status::Ok();
  }
  Status Int(const std::string& key, int64_t* out) const {
    const auto* v = Find(key);
    if (!v) return Status::Ok();
    if (v->type == msgpack::type::POSITIVE_INTEGER) {
      if (v->via.u64 > static_cast<uint64_t>(INT64_MAX))
        return WrongType(key, "a 64-bit integer", *v);
      *out = static_cast<int64_t>(v->via.u64);
    } else if (v->type == msgpack::type::NEGATIVE_INTEGER) {
      *out = v->via.i64;
    } else {
      return WrongType(key, "an integer", *v);
    }
    return Status::Ok();
  }
  Status Int32(const std::string& key, int* out) const {
    int64_t wide = *out;
    SPAWN_RETURN_IF_ERROR(Int(key, &wide));
    if (wide < INT32_MIN || wide > INT32_MAX) return Status::BadRequest(key + ": out of range");
    *out = static_cast<int>(wide);
    return Status::Ok();
  }
  Status Float(const std::string& key, double* out) const {
    const auto* v = Find(key);
    if (!v) return Status::Ok();
    if (v->type == msgpack::type::FLOAT32 || v->type == msgpack::type::FLOAT64)
      *out = v->via.f64;
    else if (v->type == msgpack::type::POSITIVE_INTEGER)
      *out = static_cast<double>(v->via.u64);
    else if (v->type == msgpack::type::NEGATIVE_INTEGER)
      *out = static_cast<double>(v->via.i64);
    else
      return WrongType(key, "a number", *v);
    return Status::Ok();
  }
  Status Bool(const std::string& key, bool* out) const {
    const auto* v = Find(key);
    if (!v) return Status::Ok();
    if (v->type != msgpack::type::BOOLEAN) return WrongType(key, "a boolean", *v);
    *out = v->via.boolean;
    return Status::Ok();
  }
  Status StrList(const std::string& key, std::vector<std::string>* out) const {
    const auto* v = Find(key);
    if (!v) return Status::Ok();
    if (v->type != msgpack::type::ARRAY) return WrongType(key, "an array", *v);
    out->clear();
    for (uint32_t i = 0; i < v->via.array.size; ++i) {
      const auto& item = v->via.array.ptr[i];
      if (item.type != msgpack::type::STR)
        return WrongType(key + "[" + std::to_string(i) + "]", "a string", item);
      out->emplace_back(item.via.str.ptr, item.via.str.size);
    }
    return Status::Ok();
  }

 private:
  explicit MapReader(const msgpack::object& o) : o_(o) {}
  static Status Missing(const std::string& key, bool required) {
    return required ? Status::BadRequest(key + " is required") : Status::Ok();
  }
  const msgpack::object& o_;
};

// msgpack -> YAML, so a config from the bus goes through the very parser a deploy.yml does.
Result<YAML::Node> ToYaml(const msgpack::object& o, const std::string& where) {
  switch (o.type) {
    case msgpack::type::NIL:
      return YAML::Node(YAML::NodeType::Null);
    case msgpack::type::BOOLEAN:
      return YAML::Node(o.via.boolean ? "true" : "false");
    case msgpack::type::POSITIVE_INTEGER:
      return YAML::Node(std::to_string(o.via.u64));
    case msgpack::type::NEGATIVE_INTEGER:
      return YAML::Node(std::to_string(o.via.i64));
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return YAML::Node(std::to_string(o.via.f64));
    case msgpack::type::STR: {
      YAML::Node n(std::string(o.via.str.ptr, o.via.str.size));
      n.SetTag("!");  // a string stays a string ("true" in quotes is not a boolean)
      return n;
    }
    case msgpack::type::ARRAY: {
      YAML::Node seq(YAML::NodeType::Sequence);
      for (uint32_t i = 0; i < o.via.array.size; ++i) {
        auto item = ToYaml(o.via.array.ptr[i], where);
        if (!item.ok()) return item.status();
        seq.push_back(*item);
      }
      return seq;
    }
    case msgpack::type::MAP: {
      YAML::Node map(YAML::NodeType::Map);
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) return WrongType(where + " key", "a string", kv.key);
        auto value = ToYaml(kv.val, where);
        if (!value.ok()) return value.status();
        // force_insert: operator[] searches the map, quadratic in a hostile number of keys.
        map.force_insert(std::string(kv.key.via.str.ptr, kv.key.via.str.size), *value);
      }
      return map;
    }
    default:
      return WrongType(where, "plain data", o);
  }
}

Result<ServiceConfig> DecodeConfig(const MapReader& r, const std::string& key) {
  const auto* v = r.Find(key);
  if (!v) return Status::BadRequest(key + " is required");
  if (v->type != msgpack::type::MAP) return WrongType(key, "a map", *v);
  auto node = ToYaml(*v, key);
  if (!node.ok()) return node.status();
  return ParseServiceConfigNode(*node, key);
}

template <typename T>
Result<T> Decode(const std::string& bytes, size_t max_bytes, const char* what,
                 const std::function<Status(const MapReader&, T&)>& fill) {
  auto handle = Unpack(bytes, max_bytes);
  if (!handle.ok()) return handle.status().WithContext(what);
  auto reader = MapReader::Of(handle->get(), what);
  if (!reader.ok()) return reader.status();
  T out;
  Status s = fill(*reader, out);
  if (!s.ok()) return s.WithContext(what);
  return out;
}

constexpr size_t kMaxSmallMessage = 1024 * 1024;

std::string TrimSpace(const std::string& s) {
  const char* space = " \t\r\n";
  const size_t begin = s.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

// Non-empty, well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF), no control
// characters.
bool IsPrintableUtf8(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0)) {
      return false;
    }
    i += len;
  }
  return true;
}

Status FillLogMessage(const MapReader& r, LogMessage& m) {
  SPAWN_RETURN_IF_ERROR(r.Int("Time", &m.time_unix_ns));
  SPAWN_RETURN_IF_ERROR(r.Str("SPAlias", &m.sp_alias));
  SPAWN_RETURN_IF_ERROR(r.Str("Service", &m.service));
  SPAWN_RETURN_IF_ERROR(r.Str("Stream", &m.stream));
  return r.Str("Contents", &m.contents);
}

}  // namespace

const char* ToString(ServiceState state) {
  switch (state) {
    case ServiceState::kBuilding:
      return "building";
    case ServiceState::kStarting:
      return "starting";
    case ServiceState::kRunning:
      return "running";
    case ServiceState::kExited:
      return "exited";
    case ServiceState::kRestarting:
      return "restarting";
    case ServiceState::kZombie:
      return "zombie";
  }
  return "unknown";
}

Result<ServiceState> ParseServiceState(const std::string& text) {
  for (auto s : {ServiceState::kBuilding, ServiceState::kStarting, ServiceState::kRunning,
                 ServiceState::kExited, ServiceState::kRestarting, ServiceState::kZombie}) {
    if (text == ToString(s)) return s;
  }
  // Cut short: the text comes from the bus and may be megabytes long.
  const std::string shown = text.size() > 100 ? text.substr(0, 100) + "..." : text;
  return Status::BadRequest("State: \"" + shown +
                            "\" is not a state; expected building, starting, running, exited, "
                            "restarting or zombie");
}

Reply Reply::FromStatus(const std::string& request_id, const Status& status,
                        const std::string& ok_message) {
  return Reply{request_id, status.ok(), status.http_code(),
               status.ok() ? ok_message : status.message()};
}

std::string Encode(const DeployRequest& m) {
  return Pack([&](Packer& p) {
    MapWriter(p, 5)
        .Str("RequestId", m.request_id)
        .Config("Config", m.config)
        .Bin("Archive", m.archive)
        .Bool("Replace", m.replace)
        .Bin("Entity", m.entity);
  });
}

std::string Encode(const ServiceCommand& m) {
  return Pack([&](Packer& p) {
    // "Now" only when set: a plain stop stays the bytes older spawnds know.
    MapWriter w(p, m.now ? 3 : 2);
    w.Str("RequestId", m.request_id).Str("Service", m.service);
    if (m.now) w.Bool("Now", true);
  });
}

std::string Encode(const LogsRequest& m) {
  return Pack([&](Packer& p) {
    MapWriter(p, 3)
        .Str("RequestId", m.request_id)
        .Str("Service", m.service)
        .Int("Since", m.since_unix_ns);
  });
}

std::string Encode(const Reply& m) {
  return Pack([&](Packer& p) {
    MapWriter(p, 4)
        .Str("RequestId", m.request_id)
        .Bool("Ok", m.ok)
        .Int("Code", m.code)
        .Str("Message", m.message);
  });
}

std::string Encode(const SpawnpointHeartbeat& m) {
  return Pack([&](Packer& p) {
    const bool disk = m.total_disk_mib > 0;
    MapWriter w(p, 9 + (m.warnings.empty() ? 0 : 1) + (disk ? 2 : 0) +
                       (m.heartbeat_policy.empty() ? 0 : 1));
    w.Str("Alias", m.alias)
        .Int("Time", m.time_unix_ns)
        .Str("Version", m.version)
        .Int("TotalMem", m.total_mem_mib)
        .Int("TotalCpuShares", m.total_cpu_shares)
        .Int("AvailableMem", m.available_mem_mib)
        .Int("AvailableCpuShares", m.available_cpu_shares)
        .StrList("Services", m.services)
        .Int("HeartbeatInterval", m.heartbeat_interval_ms);
    if (!m.warnings.empty()) w.StrList("Warnings", m.warnings);
    if (disk) w.Int("TotalDisk", m.total_disk_mib).Int("AvailableDisk", m.available_disk_mib);
    if (!m.heartbeat_policy.empty()) w.Str("HeartbeatPolicy", m.heartbeat_policy);
  });
}

std::string Encode(const ServiceHeartbeat& m) {
  return Pack([&](Packer& p) {
    MapWriter w(p, m.health.empty() ? 17 : 19);
    w.Str("SpawnpointURI", m.spawnpoint_uri)
        .Str("Name", m.name)
        .Int("Time", m.time_unix_ns)
        .Str("State", ToString(m.state))
        .Str("ContainerId", m.container_id)
        .Int("MemAlloc", m.mem_alloc_mib)
        .Int("CpuShares", m.cpu_shares)
        .Float("MemUsage", m.mem_usage_mib)
        .Float("CpuPercent", m.cpu_percent)
        .Float("NetworkRx", m.network_rx_mb)
        .Float("NetworkTx", m.network_tx_mb)
        .Float("MbRead", m.mb_read)
        .Float("MbWritten", m.mb_written)
        .Int("Restarts", m.restarts)
        .Int("ExitCode", m.exit_code)
        .Config("OriginalConfig", m.original_config)
        .Str("Backoff", m.backoff);
    if (!m.health.empty()) w.Str("Health", m.health).Str("HealthOutput", m.health_output);
  });
}

std::string Encode(const LogMessage& m) {
  return Pack([&](Packer& p) { PackLogMessage(p, m); });
}

std::string Encode(const LogsReply& m) {
  return Pack([&](Packer& p) {
    MapWriter w(p, 2);
    w.Str("RequestId", m.request_id);
    Packer& raw = w.Raw("Messages");
    raw.pack_array(static_cast<uint32_t>(m.messages.size()));
    for (const auto& message : m.messages) PackLogMessage(raw, message);
  });
}

Result<DeployRequest> DecodeDeployRequest(const std::string& bytes) {
  return Decode<DeployRequest>(
      bytes, kMaxPayloadBytes, "deploy request", [](const MapReader& r, DeployRequest& m) {
        SPAWN_RETURN_IF_ERROR(r.Str("RequestId", &m.request_id));
        auto config = DecodeConfig(r, "Config");
        if (!config.ok()) return config.status();
        m.config = std::move(*config);
        SPAWN_RETURN_IF_ERROR(r.Bytes("Archive", &m.archive, kMaxArchiveBytes));
        SPAWN_RETURN_IF_ERROR(r.Bytes("Entity", &m.entity, 64 * 1024));
        return r.Bool("Replace", &m.replace);
      });
}

// The service name is validated here, whatever the form: it becomes part of topic names (log
// lines, heartbeats), where "+", "#" or "/" would be wrong, so no caller should see one.
Result<ServiceCommand> CheckedCommand(ServiceCommand m) {
  Status valid = ValidateServiceName(m.service);
  if (!valid.ok()) return valid.WithContext("command: Service");
  return m;
}

Result<ServiceCommand> DecodeServiceCommand(const std::string& bytes) {
  if (bytes.size() > kMaxSmallMessage) {
    return Status::BadRequest("command of " + std::to_string(bytes.size()) +
                              " bytes is larger than the limit of " +
                              std::to_string(kMaxSmallMessage));
  }
  if (bytes.empty()) {
    return Status::BadRequest("command: empty message; expected {RequestId, Service} or a name");
  }
  auto handle = Unpack(bytes, kMaxSmallMessage);
  if (handle.ok()) {
    const msgpack::object& o = handle->get();
    if (o.type == msgpack::type::STR) {
      return CheckedCommand({"", std::string(o.via.str.ptr, o.via.str.size)});
    }
    if (o.type == msgpack::type::MAP) {
      auto reader = MapReader::Of(o, "command");
      ServiceCommand m;
      SPAWN_RETURN_IF_ERROR(reader->Str("RequestId", &m.request_id).WithContext("command"));
      SPAWN_RETURN_IF_ERROR(reader->Str("Service", &m.service, true).WithContext("command"));
      SPAWN_RETURN_IF_ERROR(reader->Bool("Now", &m.now).WithContext("command"));
      return CheckedCommand(std::move(m));
    }
  }
  // A bare UTF-8 name, as the original's clients sent it (mosquitto_pub -m demo). Valid UTF-8
  // text never starts with a msgpack map's first byte (0x80-0x8f, 0xde, 0xdf followed by a
  // complete map), so the two forms cannot be confused. Surrounding whitespace (a newline from
  // `echo`) is dropped.
  const std::string name = TrimSpace(bytes);
  if (IsPrintableUtf8(name)) return CheckedCommand({"", name});
  if (!handle.ok()) return handle.status().WithContext("command");
  return WrongType("command", "a map or a service name", handle->get());
}

Result<LogsRequest> DecodeLogsRequest(const std::string& bytes) {
  return Decode<LogsRequest>(bytes, kMaxSmallMessage, "logs request",
                             [](const MapReader& r, LogsRequest& m) {
                               SPAWN_RETURN_IF_ERROR(r.Str("RequestId", &m.request_id));
                               SPAWN_RETURN_IF_ERROR(r.Str("Service", &m.service, true));
                               return r.Int("Since", &m.since_unix_ns);
                             });
}

Result<Reply> DecodeReply(const std::string& bytes) {
  return Decode<Reply>(bytes, kMaxSmallMessage, "reply", [](const MapReader& r, Reply& m) {
    SPAWN_RETURN_IF_ERROR(r.Str("RequestId", &m.request_id));
    SPAWN_RETURN_IF_ERROR(r.Bool("Ok", &m.ok));
    SPAWN_RETURN_IF_ERROR(r.Int32("Code", &m.code));
    return r.Str("Message", &m.message);
  });
}

Result<SpawnpointHeartbeat> DecodeSpawnpointHeartbeat(const std::string& bytes) {
  return Decode<SpawnpointHeartbeat>(
      bytes, kMaxSmallMessage, "heartbeat", [](const MapReader& r, SpawnpointHeartbeat& m) {
        SPAWN_RETURN_IF_ERROR(r.Str("Alias", &m.alias));
        SPAWN_RETURN_IF_ERROR(r.Int("Time", &m.time_unix_ns));
        SPAWN_RETURN_IF_ERROR(r.Str("Version", &m.version));
        SPAWN_RETURN_IF_ERROR(r.Int("TotalMem", &m.total_mem_mib));
        SPAWN_RETURN_IF_ERROR(r.Int("TotalCpuShares", &m.total_cpu_shares));
        SPAWN_RETURN_IF_ERROR(r.Int("AvailableMem", &m.available_mem_mib));
        SPAWN_RETURN_IF_ERROR(r.Int("AvailableCpuShares", &m.available_cpu_shares));
        SPAWN_RETURN_IF_ERROR(r.StrList("Services", &m.services));
        SPAWN_RETURN_IF_ERROR(r.Int("HeartbeatInterval", &m.heartbeat_interval_ms));
        SPAWN_RETURN_IF_ERROR(r.StrList("Warnings", &m.warnings));
        SPAWN_RETURN_IF_ERROR(r.Int("TotalDisk", &m.total_disk_mib));
        SPAWN_RETURN_IF_ERROR(r.Int("AvailableDisk", &m.available_disk_mib));
        SPAWN_RETURN_IF_ERROR(r.Str("HeartbeatPolicy", &m.heartbeat_policy));
        if (m.heartbeat_interval_ms < 0) {
          return Status::BadRequest("HeartbeatInterval: expected milliseconds >= 0, got " +
                                    std::to_string(m.heartbeat_interval_ms));
        }
        return Status::Ok();
      });
}

Result<ServiceHeartbeat> DecodeServiceHeartbeat(const std::string& bytes, HeartbeatDetail detail) {
  return Decode<ServiceHeartbeat>(
      bytes, kMaxSmallMessage, "service heartbeat",
      [detail](const MapReader& r, ServiceHeartbeat& m) {
        SPAWN_RETURN_IF_ERROR(r.Str("SpawnpointURI", &m.spawnpoint_uri));
        SPAWN_RETURN_IF_ERROR(r.Str("Name", &m.name));
        SPAWN_RETURN_IF_ERROR(r.Int("Time", &m.time_unix_ns));
        std::string state = "building";
        SPAWN_RETURN_IF_ERROR(r.Str("State", &state));
        auto parsed = ParseServiceState(state);
        if (!parsed.ok()) return parsed.status();
        m.state = *parsed;
        SPAWN_RETURN_IF_ERROR(r.Str("ContainerId", &m.container_id));
        SPAWN_RETURN_IF_ERROR(r.Int("MemAlloc", &m.mem_alloc_mib));
        SPAWN_RETURN_IF_ERROR(r.Int("CpuShares", &m.cpu_shares));
        SPAWN_RETURN_IF_ERROR(r.Float("MemUsage", &m.mem_usage_mib));
        SPAWN_RETURN_IF_ERROR(r.Float("CpuPercent", &m.cpu_percent));
        SPAWN_RETURN_IF_ERROR(r.Float("NetworkRx", &m.network_rx_mb));
        SPAWN_RETURN_IF_ERROR(r.Float("NetworkTx", &m.network_tx_mb));
        SPAWN_RETURN_IF_ERROR(r.Float("MbRead", &m.mb_read));
        SPAWN_RETURN_IF_ERROR(r.Float("MbWritten", &m.mb_written));
        SPAWN_RETURN_IF_ERROR(r.Int("Restarts", &m.restarts));
        SPAWN_RETURN_IF_ERROR(r.Int("ExitCode", &m.exit_code));
        SPAWN_RETURN_IF_ERROR(r.Str("Backoff", &m.backoff));
        SPAWN_RETURN_IF_ERROR(r.Str("Health", &m.health));
        SPAWN_RETURN_IF_ERROR(r.Str("HealthOutput", &m.health_output));
        // OriginalConfig is shown, never acted on: a config this reader cannot parse (say, a
        // newer spawnd's key) must not hide the state and usage, so it is reported beside them.
        if (detail == HeartbeatDetail::kWithOriginalConfig && r.Find("OriginalConfig")) {
          auto config = DecodeConfig(r, "OriginalConfig");
          if (config.ok()) {
            m.original_config = std::move(*config);
          } else {
            m.original_config_error = config.status().message();
          }
        }
        return Status::Ok();
      });
}

Result<LogMessage> DecodeLogMessage(const std::string& bytes) {
  return Decode<LogMessage>(bytes, kMaxSmallMessage, "log message", FillLogMessage);
}

Result<LogsReply> DecodeLogsReply(const std::string& bytes) {
  return Decode<LogsReply>(
      bytes, kMaxPayloadBytes, "logs reply", [](const MapReader& r, LogsReply& m) {
        SPAWN_RETURN_IF_ERROR(r.Str("RequestId", &m.request_id));
        const auto* list = r.Find("Messages");
        if (!list) return Status::Ok();
        if (list->type != msgpack::type::ARRAY) return WrongType("Messages", "an array", *list);
        for (uint32_t i = 0; i < list->via.array.size; ++i) {
          auto item = MapReader::Of(list->via.array.ptr[i], "Messages[" + std::to_string(i) + "]");
          if (!item.ok()) return item.status();
          LogMessage message;
          SPAWN_RETURN_IF_ERROR(FillLogMessage(*item, message));
          m.messages.push_back(std::move(message));
        }
        return Status::Ok();
      });
}

// ---- jobs and metadata ----

namespace {

constexpr size_t kMaxMetaKey = 128;
constexpr size_t kMaxMetaValue = 4 * 1024;

void PackJob(Packer& p, const Job& m) {
  MapWriter(p, 11)
      .Str("Id", m.id)
      .Str("Kind", m.kind)
      .Str("Service", m.service)
      .Str("State", ToString(m.state))
      .Str("Reason", m.reason)
      .Int("Count", m.count)
      .Int("Created", m.created_unix_ns)
      .Int("Started", m.started_unix_ns)
      .Int("Ended", m.ended_unix_ns)
      .Int("Code", m.code)
      .Str("Message", m.message);
}

Status FillJob(const MapReader& r, Job& m) {
  SPAWN_RETURN_IF_ERROR(r.Str("Id", &m.id, true));
  SPAWN_RETURN_IF_ERROR(r.Str("Kind", &m.kind));
  SPAWN_RETURN_IF_ERROR(r.Str("Service", &m.service));
  std::string state = "queued";
  SPAWN_RETURN_IF_ERROR(r.Str("State", &state));
  auto parsed = ParseJobState(state);
  if (!parsed.ok()) return parsed.status();
  m.state = *parsed;
  SPAWN_RETURN_IF_ERROR(r.Str("Reason", &m.reason));
  SPAWN_RETURN_IF_ERROR(r.Int("Count", &m.count));
  SPAWN_RETURN_IF_ERROR(r.Int("Created", &m.created_unix_ns));
  SPAWN_RETURN_IF_ERROR(r.Int("Started", &m.started_unix_ns));
  SPAWN_RETURN_IF_ERROR(r.Int("Ended", &m.ended_unix_ns));
  SPAWN_RETURN_IF_ERROR(r.Int32("Code", &m.code));
  return r.Str("Message", &m.message);
}

// Keys become topic levels (!meta/<key>): no separators or wildcards, nothing unprintable.
Status CheckMetaKey(const std::string& key) {
  if (key.empty() || key.size() > kMaxMetaKey) {
    return Status::BadRequest("Key: expected 1 to " + std::to_string(kMaxMetaKey) +
                              " characters, got " + std::to_string(key.size()));
  }
  for (unsigned char c : key) {
    if (c == '/' || c == '+' || c == '#' || c < 0x20 || c == 0x7f) {
      return Status::BadRequest("Key: \"" + key +
                                "\" may not contain '/', '+', '#' or control characters");
    }
  }
  if (!IsPrintableUtf8(key)) return Status::BadRequest("Key: expected printable UTF-8");
  return Status::Ok();
}

}  // namespace

const char* ToString(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kDone:
      return "done";
    case JobState::kFailed:
      return "failed";
  }
  return "unknown";
}

Result<JobState> ParseJobState(const std::string& text) {
  for (auto s : {JobState::kQueued, JobState::kRunning, JobState::kDone, JobState::kFailed}) {
    if (text == ToString(s)) return s;
  }
  const std::string shown = text.size() > 100 ? text.substr(0, 100) + "..." : text;
  return Status::BadRequest("State: \"" + shown +
                            "\" is not a job state; expected queued, running, done or failed");
}

int64_t Job::updated_unix_ns() const {
  return std::max({created_unix_ns, started_unix_ns, ended_unix_ns});
}

std::string Encode(const MetaCommand& m) {
  return Pack([&](Packer& p) {
    MapWriter(p, 4)
        .Str("RequestId", m.request_id)
        .Str("Key", m.key)
        .Str("Value", m.value)
        .Bool("Remove", m.remove);
  });
}

std::string Encode(const Job& m) {
  return Pack([&](Packer& p) { PackJob(p, m); });
}

std::string Encode(const JobsRequest& m) {
  return Pack([&](Packer& p) {
    MapWriter(p, 3)
        .Str("RequestId", m.request_id)
        .Str("Service", m.service)
        .Int("Since", m.since_unix_ns);
  });
}

std::string Encode(const JobsReply& m) {
  return Pack([&](Packer& p) {
    MapWriter w(p, 2);
    w.Str("RequestId", m.request_id);
    Packer& raw = w.Raw("Jobs");
    raw.pack_array(static_cast<uint32_t>(m.jobs.size()));
    for (const auto& job : m.jobs) PackJob(raw, job);
  });
}

Result<MetaCommand> DecodeMetaCommand(const std::string& bytes) {
  return Decode<MetaCommand>(bytes, kMaxSmallMessage, "meta command",
                             [](const MapReader& r, MetaCommand& m) {
                               SPAWN_RETURN_IF_ERROR(r.Str("RequestId", &m.request_id));
                               SPAWN_RETURN_IF_ERROR(r.Str("Key", &m.key, true));
                               SPAWN_RETURN_IF_ERROR(CheckMetaKey(m.key));
                               SPAWN_RETURN_IF_ERROR(r.Bytes("Value", &m.value, kMaxMetaValue));
                               return r.Bool("Remove", &m.remove);
                             });
}

Result<Job> DecodeJob(const std::string& bytes) {
  return Decode<Job>(bytes, kMaxSmallMessage, "job", FillJob);
}

Result<JobsRequest> DecodeJobsRequest(const std::string& bytes) {
  return Decode<JobsRequest>(bytes, kMaxSmallMessage, "jobs request",
                             [](const MapReader& r, JobsRequest& m) {
                               SPAWN_RETURN_IF_ERROR(r.Str("RequestId", &m.request_id));
                               SPAWN_RETURN_IF_ERROR(r.Str("Service", &m.service));
                               return r.Int("Since", &m.since_unix_ns);
                             });
}

Result<JobsReply> DecodeJobsReply(const std::string& bytes) {
  return Decode<JobsReply>(bytes, kMaxPayloadBytes, "jobs reply",
                           [](const MapReader& r, JobsReply& m) {
                             SPAWN_RETURN_IF_ERROR(r.Str("RequestId", &m.request_id));
                             const auto* list = r.Find("Jobs");
                             if (!list) return Status::Ok();
                             if (list->type != msgpack::type::ARRAY)
                               return WrongType("Jobs", "an array", *list);
                             for (uint32_t i = 0; i < list->via.array.size; ++i) {
                               const std::string where = "Jobs[" + std::to_string(i) + "]";
                               auto item = MapReader::Of(list->via.array.ptr[i], where);
                               if (!item.ok()) return item.status();
                               Job job;
                               SPAWN_RETURN_IF_ERROR(FillJob(*item, job).WithContext(where));
                               m.jobs.push_back(std::move(job));
                             }
                             return Status::Ok();
                           });
}

std::string PeekRequestId(const std::string& bytes) {
  auto handle = Unpack(bytes, kMaxPayloadBytes);
  if (!handle.ok()) return "";
  auto reader = MapReader::Of(handle->get(), "message");
  if (!reader.ok()) return "";
  std::string id;
  if (!reader->Str("RequestId", &id).ok()) return "";
  return id;
}

}  // namespace spawn::proto
