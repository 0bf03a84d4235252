#include "spawn/engine/engine_codec.h"

namespace spawn {

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
