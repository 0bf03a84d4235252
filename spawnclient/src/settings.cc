#include "spawn/client/settings.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "spawn/common/units.h"

namespace spawn {

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

CliDefaults DefaultsFromEnvironment(const EnvLookup& env) {
  CliDefaults d;
  if (auto broker = env("SPAWNPOINT_BROKER")) d.broker = *broker;
  if (auto uri = env("SPAWNPOINT_DEFAULT_URI")) d.uri = *uri;
  if (auto version = env("SPAWNPOINT_MQTT_VERSION")) d.mqtt_version = *version;
  const auto home = env("HOME");
  d.history_file = (home ? *home : std::string(".")) + "/.spawnpoint_history";
  return d;
}

Status AppendHistory(const std::string& file, const HistoryEntry& e) {
  for (const std::string* field : {&e.uri, &e.config_path, &e.name}) {
    if (field->find_first_of("\t\n") != std::string::npos)
      return Status::BadRequest("cannot record \"" + *field +
                                "\" in the history: it has a tab or newline");
  }
  // Created 0600 (it names hosts and files), then appended to.
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("cannot write the deployment history " + file);
  const std::string line = e.uri + "\t" + e.config_path + "\t" + e.name + "\n";
  const ssize_t written = ::write(fd, line.data(), line.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(line.size()))
    return Status::Internal("cannot write the deployment history " + file);
  return Status::Ok();
}

Result<HistoryEntry> LastHistoryEntry(const std::string& file) {
  std::ifstream in(file);
  if (!in) return Status::NotFound("no deployment recorded yet (" + file + " does not exist)");
  std::optional<HistoryEntry> last;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, '\t')) fields.push_back(field);
    if (fields.size() < 2 || fields[0].empty() || fields[1].empty()) continue;
    last = HistoryEntry{fields[0], fields[1], fields.size() > 2 ? fields[2] : ""};
  }
  if (!last) return Status::NotFound("no deployment recorded yet in " + file);
  return *last;
}

Result<std::chrono::seconds> ParseExpiry(const std::string& expire) {
  auto expiry = ParseDuration(expire);
  if (!expiry.ok()) return expiry.status().WithContext("--expire");
  return std::chrono::ceil<std::chrono::seconds>(*expiry);
}

Result<int64_t> SinceToUnixNs(const std::string& since, int64_t now_unix_ns) {
  if (since.empty()) return int64_t{0};
  auto window = ParseDuration(since);
  if (!window.ok()) return window.status().WithContext("--since");
  if (window->count() == 0) return int64_t{0};
  return now_unix_ns - std::chrono::duration_cast<std::chrono::nanoseconds>(*window).count();
}

}  // namespace spawn
