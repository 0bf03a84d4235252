#include "engine_codec.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace spawn {

using json = nlohmann::json;

std::string EngineMessage(const std::string& body) {
  try {
    auto j = json::parse(body);
    if (j.contains("message")) return j["message"].get<std::string>();
  } catch (const std::exception&) {
  }
  return body.empty() ? "no message from the engine" : body;
}

EngineEvent ParseEvent(const json& j) {
  EngineEvent e;
  e.action = j.value("Action", j.value("status", ""));
  const json actor = j.value("Actor", json::object());
  e.container_id = actor.value("ID", j.value("id", ""));
  if (actor.contains("Attributes") && actor["Attributes"].is_object()) {
    for (const auto& [k, v] : actor["Attributes"].items()) {
      if (v.is_string()) e.labels[k] = v.get<std::string>();
    }
  }
  e.time_unix_ns = j.value("timeNano", int64_t{0});
  if (e.action == "start")
    e.kind = EngineEvent::Kind::kStart;
  else if (e.action == "die")
    e.kind = EngineEvent::Kind::kDie;
  else if (e.action == "oom")
    e.kind = EngineEvent::Kind::kOom;
  else if (e.action.rfind("health_status", 0) == 0)
    e.kind = EngineEvent::Kind::kHealthStatus;
  // The engine mixes exitCode into the attributes next to the labels: it is not a label.
  if (auto it = e.labels.find("exitCode"); it != e.labels.end()) {
    if (e.kind == EngineEvent::Kind::kDie) e.exit_code = std::atoi(it->second.c_str());
    e.labels.erase(it);
  }
  return e;
}

ContainerInfo ParseInspect(const json& j) {
  ContainerInfo info;
  info.id = j.value("Id", "");
  info.name = j.value("Name", "");
  if (!info.name.empty() && info.name[0] == '/') info.name.erase(0, 1);
  const json config = j.value("Config", json::object());
  info.image = config.value("Image", "");
  if (config.contains("Labels") && config["Labels"].is_object()) {
    info.labels = config["Labels"].get<std::map<std::string, std::string>>();
  }
  const json state = j.value("State", json::object());
  info.status = state.value("Status", "");
  info.running = state.value("Running", false);
  info.exit_code = state.value("ExitCode", 0);
  info.oom_killed = state.value("OOMKilled", false);
  info.started_at = state.value("StartedAt", "");
  info.finished_at = state.value("FinishedAt", "");
  const json host = j.value("HostConfig", json::object());
  info.memory_bytes = host.value("Memory", int64_t{0});
  info.cpu_shares = host.value("CpuShares", int64_t{0});
  info.network_mode = host.value("NetworkMode", "");
  info.privileged = host.value("Privileged", false);
  // null when no limit is set (or the engine discarded it).
  if (auto pids = host.find("PidsLimit"); pids != host.end() && pids->is_number_integer()) {
    info.pids_limit = pids->get<int64_t>();
  }
  const json net = j.value("NetworkSettings", json::object());
  info.ip_address = net.value("IPAddress", "");
  if (info.ip_address.empty() && net.contains("Networks") && net["Networks"].is_object()) {
    for (const auto& [name, endpoint] : net["Networks"].items()) {
      if (endpoint.is_object() && !endpoint.value("IPAddress", "").empty()) {
        info.ip_address = endpoint.value("IPAddress", "");
        break;
      }
    }
  }
  const json health = state.value("Health", json::object());
  if (health.is_object()) {
    info.health = health.value("Status", "");
    const json log = health.value("Log", json::array());
    if (log.is_array()) {
      for (const auto& probe : log) {
        if (probe.is_object() && probe.value("ExitCode", 0) != 0) {
          info.health_output = probe.value("Output", "");
        }
      }
    }
  }
  return info;
}

ImageInfo ParseImage(const json& image) {
  ImageInfo info;
  info.id = image.value("Id", "");
  const json tags = image.value("RepoTags", json());
  if (tags.is_array()) {
    for (const auto& t : tags) info.tags.push_back(t.get<std::string>());
  }
  info.size_bytes = image.value("Size", int64_t{0});
  json labels = image.value("Labels", json());
  if (image.contains("Config") && image["Config"].is_object())
    labels = image["Config"].value("Labels", json());
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) info.labels[k] = v.get<std::string>();
  }
  return info;
}

std::vector<std::string> CreateWarnings(const json& answer) {
  std::vector<std::string> out;
  auto warnings = answer.find("Warnings");
  if (warnings == answer.end() || !warnings->is_array()) return out;
  for (const auto& w : *warnings) {
    if (w.is_string() && !w.get<std::string>().empty()) out.push_back(w.get<std::string>());
  }
  return out;
}

json CreateContainerBody(const ContainerSpec& spec) {
  json mounts = json::array();
  for (const auto& volume : spec.volumes) {
    mounts.push_back({{"Type", "volume"}, {"Source", volume}, {"Target", "/srv/" + volume}});
  }
  json devices = json::array();
  for (const auto& d : spec.devices) {
    std::string host = d, container = d, perms = "rwm";
    const size_t first = d.find(':');
    if (first != std::string::npos) {
      host = d.substr(0, first);
      const size_t second = d.find(':', first + 1);
      container =
          d.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
      if (second != std::string::npos) perms = d.substr(second + 1);
    }
    devices.push_back(
        {{"PathOnHost", host}, {"PathInContainer", container}, {"CgroupPermissions", perms}});
  }
  json host_config = {
      {"Memory", spec.memory_bytes},
      {"CpuShares", spec.cpu_shares},
      {"Privileged", false},
      {"Mounts", mounts},
      {"Devices", devices},
      {"LogConfig", {{"Type", "json-file"}, {"Config", {{"max-size", spec.log_max_size}}}}}};
  for (const auto& bind : spec.binds) {
    host_config["Mounts"].push_back({{"Type", "bind"},
                                     {"Source", bind.host_dir},
                                     {"Target", bind.container_dir},
                                     {"ReadOnly", bind.read_only}});
  }
  if (spec.pids_limit > 0) host_config["PidsLimit"] = spec.pids_limit;
  if (spec.read_only_rootfs) {
    host_config["ReadonlyRootfs"] = true;
    host_config["Tmpfs"] = {{"/tmp", "rw,nosuid,nodev,mode=1777"}};
  }
  if (spec.no_new_privileges) host_config["SecurityOpt"] = {"no-new-privileges"};
  if (!spec.network_mode.empty()) host_config["NetworkMode"] = spec.network_mode;
  json body = {{"Image", spec.image},
               {"Env", spec.env},
               {"Labels", spec.labels},
               {"HostConfig", host_config}};
  if (!spec.cmd.empty()) body["Cmd"] = spec.cmd;
  if (!spec.working_dir.empty()) body["WorkingDir"] = spec.working_dir;
  if (!spec.user.empty()) body["User"] = spec.user;
  if (const auto& h = spec.healthcheck; !h.test.empty()) {
    json test = json::array({"CMD"});
    for (const auto& arg : h.test) test.push_back(arg);
    body["Healthcheck"] = {{"Test", test},
                           {"Interval", h.interval.count()},
                           {"Timeout", h.timeout.count()},
                           {"StartPeriod", h.start_period.count()},
                           {"Retries", h.retries}};
  }
  const std::string& net = spec.network_mode;
  if (!spec.network_aliases.empty() && !net.empty() && net != "host" && net != "none" &&
      net != "bridge") {
    body["NetworkingConfig"] = {{"EndpointsConfig", {{net, {{"Aliases", spec.network_aliases}}}}}};
  }
  return body;
}

bool SwarmActive(const json& info) {
  const json swarm = info.value("Swarm", json::object());
  return swarm.is_object() && swarm.value("LocalNodeState", "") == "active";
}

json CreateNetworkBody(const std::string& name, bool swarm) {
  return {{"Name", name},
          {"Driver", swarm ? "overlay" : "bridge"},
          {"Attachable", swarm},
          {"CheckDuplicate", true}};
}

BuildLine ParseBuildLine(const json& j) {
  BuildLine line;
  if (j.contains("error")) {
    line.error = j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump();
    return line;
  }
  line.text = j.value("stream", "");
  if (line.text.empty() && j.contains("status")) line.text = j.value("status", "");
  while (!line.text.empty() && (line.text.back() == '\n' || line.text.back() == '\r'))
    line.text.pop_back();
  return line;
}

void JsonLines::Feed(std::string_view data) {
  buffer_.append(data);
  size_t nl;
  while ((nl = buffer_.find('\n')) != std::string::npos) {
    std::string line = buffer_.substr(0, nl);
    buffer_.erase(0, nl + 1);
    if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
    try {
      sink_(json::parse(line));
    } catch (const json::exception& e) {
      spdlog::debug("engine: unparsable stream line: {}", e.what());
    }
  }
}

void LogDemultiplexer::Feed(std::string_view chunk) {
  if (tty_) {
    AppendText(1, chunk);
    return;
  }
  while (!chunk.empty()) {
    if (frame_remaining_ == 0) {
      const size_t need = 8 - header_.size();
      header_.append(chunk.substr(0, need));
      chunk.remove_prefix(std::min(need, chunk.size()));
      if (header_.size() < 8) return;
      const auto* h = reinterpret_cast<const unsigned char*>(header_.data());
      frame_stream_ = h[0] == 2 ? 2 : 1;
      frame_remaining_ = (size_t{h[4]} << 24) | (size_t{h[5]} << 16) | (size_t{h[6]} << 8) | h[7];
      header_.clear();
      continue;
    }
    const size_t take = std::min(frame_remaining_, chunk.size());
    AppendText(frame_stream_, chunk.substr(0, take));
    chunk.remove_prefix(take);
    frame_remaining_ -= take;
  }
}

void LogDemultiplexer::AppendText(int stream, std::string_view text) {
  std::string& partial = partial_[stream];
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      partial.append(text);
      return;
    }
    partial.append(text.substr(0, nl));
    if (!partial.empty() && partial.back() == '\r') partial.pop_back();
    sink_(LogLine{stream == 2 ? "stderr" : "stdout", partial});
    partial.clear();
    text.remove_prefix(nl + 1);
  }
}

void LogDemultiplexer::Flush() {
  for (int stream : {1, 2}) {
    if (!partial_[stream].empty()) {
      sink_(LogLine{stream == 2 ? "stderr" : "stdout", partial_[stream]});
      partial_[stream].clear();
    }
  }
}

namespace {

int64_t Int(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

// The member `key` of `j`, or an empty object: a reference, where json::value would copy the whole
// subtree (a sample's memory_stats alone has dozens of members).
const nlohmann::json& Member(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kNone = nlohmann::json::object();
  if (!j.is_object()) return kNone;
  auto it = j.find(key);
  return it != j.end() ? *it : kNone;
}

}  // namespace

bool InspectSaysTty(const std::string& inspect_body) {
  try {
    return json::parse(inspect_body).at("Config").value("Tty", false);
  } catch (const json::exception&) {
    return false;
  }
}

bool SplitLogTimestamp(std::string_view line, int64_t* unix_ns, std::string_view* text) {
  // RFC 3339 in UTC, with up to nine digits of fraction (the engine trims trailing zeros).
  const size_t space = line.find(' ');
  const std::string_view stamp = line.substr(0, space);
  if (stamp.size() < 20 || stamp.size() > 30 || stamp.back() != 'Z') return false;
  const std::string text_stamp(stamp);
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text_stamp.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19)
    return false;
  int64_t nanos = 0;
  size_t at = 19;
  if (text_stamp[at] == '.') {
    int digits = 0;
    for (++at; at < text_stamp.size() && text_stamp[at] >= '0' && text_stamp[at] <= '9'; ++at) {
      if (++digits > 9) return false;
      nanos = nanos * 10 + (text_stamp[at] - '0');
    }
    if (digits == 0) return false;
    for (; digits < 9; ++digits) nanos *= 10;
  }
  if (at != text_stamp.size() - 1) return false;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  *unix_ns = static_cast<int64_t>(timegm(&tm)) * 1000000000 + nanos;
  *text = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  return true;
}

bool KeepStatsMember(int depth, json::parse_event_t event, json& parsed) {
  if (depth != 1 || event != json::parse_event_t::key) return true;
  const auto& key = parsed.get_ref<const std::string&>();
  return key == "memory_stats" || key == "cpu_stats" || key == "networks" || key == "blkio_stats";
}

double CpuPercent(const nlohmann::json& s) {
  const auto& cpu = Member(s, "cpu_stats");
  const auto& pre = Member(s, "precpu_stats");
  const auto& usage = Member(cpu, "cpu_usage");
  const auto& pre_usage = Member(pre, "cpu_usage");
  const double cpu_delta = static_cast<double>(Int(usage, "total_usage")) -
                           static_cast<double>(Int(pre_usage, "total_usage"));
  const double system_delta = static_cast<double>(Int(cpu, "system_cpu_usage")) -
                              static_cast<double>(Int(pre, "system_cpu_usage"));
  int64_t cpus = Int(cpu, "online_cpus");
  if (const auto& per_cpu = Member(usage, "percpu_usage"); cpus == 0 && per_cpu.is_array()) {
    cpus = static_cast<int64_t>(per_cpu.size());
  }
  if (cpus == 0) cpus = 1;
  if (cpu_delta <= 0 || system_delta <= 0) return 0;
  return cpu_delta / system_delta * static_cast<double>(cpus) * 100.0;
}

ContainerStats ComputeStats(const nlohmann::json& s) {
  ContainerStats out;
  const auto& mem = Member(s, "memory_stats");
  const auto& mem_detail = Member(mem, "stats");
  // As the docker CLI of the engine's release: page cache that could be dropped is not "in use".
  // cgroup v1 reports it as total_inactive_file (older CLIs took `cache`), v2 as inactive_file.
  const int64_t usage = Int(mem, "usage");
  int64_t cache = 0;
  if (mem_detail.contains("total_inactive_file"))
    cache = Int(mem_detail, "total_inactive_file");
  else if (mem_detail.contains("inactive_file"))
    cache = Int(mem_detail, "inactive_file");
  else if (mem_detail.contains("cache"))
    cache = Int(mem_detail, "cache");
  out.memory_usage_bytes = cache < usage ? usage - cache : usage;
  out.memory_limit_bytes = Int(mem, "limit");
  out.cpu_percent = CpuPercent(s);
  if (const auto& networks = Member(s, "networks"); networks.is_object()) {
    for (const auto& [name, net] : networks.items()) {
      out.network_rx_bytes += Int(net, "rx_bytes");
      out.network_tx_bytes += Int(net, "tx_bytes");
    }
  }
  const auto& blkio = Member(s, "blkio_stats");
  if (const auto& entries = Member(blkio, "io_service_bytes_recursive"); entries.is_array()) {
    for (const auto& entry : entries) {
      std::string op = entry.value("op", "");
      for (auto& ch : op) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (op == "read") out.block_read_bytes += Int(entry, "value");
      if (op == "write") out.block_written_bytes += Int(entry, "value");
    }
  }
  return out;
}

}  // namespace spawn
