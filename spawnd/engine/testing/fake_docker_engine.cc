#include "spawn/engine/fake_docker_engine.h"

namespace spawn {
namespace {

class FakeStream final : public Stream {
 public:
  explicit FakeStream(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  ~FakeStream() override { Cancel(); }
  void Cancel() override {
    if (cancel_) cancel_();
    cancel_ = nullptr;
  }

 private:
  std::function<void()> cancel_;
};

}  // namespace

Status FakeDockerEngine::Record(const std::string& call, const std::string& detail) {
  MutexLock lock(mu_);
  calls_.push_back(call + " " + detail);
  auto it = failures_.find(call);
  if (it == failures_.end()) return Status::Ok();
  Status status = it->second;
  failures_.erase(it);
  return status;
}

Result<EngineVersion> FakeDockerEngine::Connect() {
  SPAWN_RETURN_IF_ERROR(Record("Connect", ""));
  return EngineVersion{"20.10.24", "1.41"};
}

Result<bool> FakeDockerEngine::ImageExists(const std::string& tag) {
  SPAWN_RETURN_IF_ERROR(Record("ImageExists", tag));
  MutexLock lock(mu_);
  return std::any_of(images_.begin(), images_.end(),
                     [&](const ImageInfo& image) { return Names(image, tag); });
}

bool FakeDockerEngine::Names(const ImageInfo& image, const std::string& reference) {
  return image.id == reference ||
         std::find(image.tags.begin(), image.tags.end(), reference) != image.tags.end();
}

Result<ImageInfo> FakeDockerEngine::InspectImage(const std::string& reference) {
  SPAWN_RETURN_IF_ERROR(Record("InspectImage", reference));
  MutexLock lock(mu_);
  for (const auto& image : images_) {
    if (Names(image, reference)) return image;
  }
  return Status::NotFound("No such image: " + reference);
}

Result<std::vector<ImageInfo>> FakeDockerEngine::ListImages(const std::string& key,
                                                            const std::string& value) {
  SPAWN_RETURN_IF_ERROR(Record("ListImages", key + "=" + value));
  MutexLock lock(mu_);
  std::vector<ImageInfo> out;
  for (const auto& image : images_) {
    auto it = image.labels.find(key);
    if (it != image.labels.end() && it->second == value) out.push_back(image);
  }
  return out;
}

Status FakeDockerEngine::RemoveImage(const std::string& reference) {
  SPAWN_RETURN_IF_ERROR(Record("RemoveImage", reference));
  MutexLock lock(mu_);
  auto it = std::find_if(images_.begin(), images_.end(),
                         [&](const ImageInfo& image) { return Names(image, reference); });
  if (it == images_.end()) return Status::NotFound("No such image: " + reference);
  for (const auto& [id, c] : containers_) {
    if (Names(*it, c.spec.image))
      return Status::Conflict("image " + reference + " is being used by container " + id);
  }
  images_.erase(it);
  return Status::Ok();
}

std::vector<ImageInfo> FakeDockerEngine::Images() const {
  MutexLock lock(mu_);
  return images_;
}

std::unique_ptr<Stream> FakeDockerEngine::Build(const BuildRequest& request, BuildOutput on_output,
                                                Done on_done) {
  Status failure = Record("Build", request.tag);
  auto build = std::make_shared<PendingBuild>();
  build->request = request;
  build->on_done = on_done;
  bool hold = false;
  {
    MutexLock lock(mu_);
    hold = hold_builds_;
  }
  if (!hold || !failure.ok()) {
    if (failure.ok()) {
      on_output("Step 1/1 : FROM fake");
      AddBuiltImage(request);
    }
    on_done(failure);
    return std::make_unique<FakeStream>(nullptr);
  }
  MutexLock lock(mu_);
  builds_.push_back(build);
  return std::make_unique<FakeStream>([build] { build->cancelled = true; });
}

size_t FakeDockerEngine::PendingBuilds() const {
  MutexLock lock(mu_);
  return builds_.size();
}

void FakeDockerEngine::CompleteBuild(size_t index, Status status) {
  std::shared_ptr<PendingBuild> build;
  {
    MutexLock lock(mu_);
    build = builds_.at(index);
    builds_.erase(builds_.begin() + static_cast<long>(index));
  }
  if (build->cancelled) return;
  if (status.ok()) AddBuiltImage(build->request);
  build->on_done(status);
}

void FakeDockerEngine::AddImage(const std::string& tag) {
  ImageInfo image;
  image.tags = {tag};
  image.size_bytes = 1 << 20;
  AddImage(std::move(image));
}

void FakeDockerEngine::AddImage(ImageInfo image) {
  MutexLock lock(mu_);
  if (image.id.empty()) image.id = "sha256:fake" + std::to_string(next_id_++);
  // A tag names one image: the newest takes it.
  for (auto& other : images_) {
    std::erase_if(other.tags, [&](const std::string& t) {
      return std::find(image.tags.begin(), image.tags.end(), t) != image.tags.end();
    });
  }
  images_.push_back(std::move(image));
}

void FakeDockerEngine::AddBuiltImage(const BuildRequest& request) {
  ImageInfo image;
  image.tags = {request.tag};
  image.labels = request.labels;
  {
    MutexLock lock(mu_);
    image.size_bytes = built_image_size_;
  }
  AddImage(std::move(image));
}

Status FakeDockerEngine::EnsureNetwork(const std::string& name) {
  SPAWN_RETURN_IF_ERROR(Record("EnsureNetwork", name));
  MutexLock lock(mu_);
  if (std::find(networks_.begin(), networks_.end(), name) == networks_.end())
    networks_.push_back(name);
  return Status::Ok();
}

Result<std::string> FakeDockerEngine::CreateContainer(const ContainerSpec& spec) {
  SPAWN_RETURN_IF_ERROR(Record("CreateContainer", spec.name));
  MutexLock lock(mu_);
  const std::string& net = spec.network_mode;
  if (!net.empty() && net != "host" && net != "none" && net != "bridge" &&
      std::find(networks_.begin(), networks_.end(), net) == networks_.end()) {
    return Status::NotFound("network " + net + " not found");
  }
  for (const auto& [id, c] : containers_) {
    if (c.spec.name == spec.name) return Status::Conflict("name " + spec.name + " is in use");
  }
  const std::string id = "c" + std::to_string(next_id_++);
  containers_[id] = Container{spec, id, false, 0, 0};
  return id;
}

std::string FakeDockerEngine::AddContainer(const ContainerSpec& spec, bool running, int exit_code) {
  MutexLock lock(mu_);
  const std::string id = "c" + std::to_string(next_id_++);
  containers_[id] = Container{spec, id, running, exit_code, running ? 1 : 0};
  return id;
}

Status FakeDockerEngine::PutArchive(const std::string& id, const std::string& dir,
                                    const std::string&) {
  SPAWN_RETURN_IF_ERROR(Record("PutArchive", id + " " + dir));
  MutexLock lock(mu_);
  return containers_.count(id) ? Status::Ok() : Status::NotFound("no container " + id);
}

Status FakeDockerEngine::StartContainer(const std::string& id) {
  SPAWN_RETURN_IF_ERROR(Record("StartContainer", id));
  EngineEvent started;
  {
    MutexLock lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return Status::NotFound("no container " + id);
    if (it->second.running) return Status::Ok();  // as the engine: 304, and no event
    it->second.running = true;
    it->second.starts++;
    started = MakeEvent(EngineEvent::Kind::kStart, "start", it->second);
  }
  DeliverEvent(started);
  return Status::Ok();
}

Status FakeDockerEngine::StopContainer(const std::string& id, std::chrono::seconds timeout) {
  SPAWN_RETURN_IF_ERROR(Record("StopContainer", id + " t=" + std::to_string(timeout.count())));
  bool was_running = false;
  {
    MutexLock lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return Status::NotFound("no container " + id);
    was_running = it->second.running;
  }
  if (was_running) Die(id, 143);
  return Status::Ok();
}

Status FakeDockerEngine::RestartContainer(const std::string& id, std::chrono::seconds timeout) {
  SPAWN_RETURN_IF_ERROR(Record("RestartContainer", id + " t=" + std::to_string(timeout.count())));
  {
    MutexLock lock(mu_);
    if (!containers_.count(id)) return Status::NotFound("no container " + id);
  }
  Die(id, 143);
  EngineEvent started;
  {
    MutexLock lock(mu_);
    Container& c = containers_[id];
    c.running = true;
    c.starts++;
    started = MakeEvent(EngineEvent::Kind::kStart, "start", c);
  }
  DeliverEvent(started);
  return Status::Ok();
}

Status FakeDockerEngine::KillContainer(const std::string& id, const std::string& signal) {
  SPAWN_RETURN_IF_ERROR(Record("KillContainer", id + " " + signal));
  Die(id, 137);
  return Status::Ok();
}

Status FakeDockerEngine::RenameContainer(const std::string& id, const std::string& new_name) {
  SPAWN_RETURN_IF_ERROR(Record("RenameContainer", id + " " + new_name));
  MutexLock lock(mu_);
  for (const auto& [other_id, c] : containers_) {
    if (c.spec.name == new_name && other_id != id) {
      return Status::Conflict("the name " + new_name + " is in use");
    }
  }
  auto it = containers_.find(id);
  if (it == containers_.end()) return Status::NotFound("no container " + id);
  it->second.spec.name = new_name;
  return Status::Ok();
}

Status FakeDockerEngine::RemoveContainer(const std::string& id, bool force) {
  SPAWN_RETURN_IF_ERROR(Record("RemoveContainer", id + (force ? " force" : "")));
  MutexLock lock(mu_);
  for (auto it = containers_.begin(); it != containers_.end(); ++it) {
    if (it->first == id || it->second.spec.name == id) {
      output_.erase(it->first);  // its output goes with it, as the engine's
      containers_.erase(it);
      return Status::Ok();
    }
  }
  return Status::NotFound("no container " + id);
}

ContainerInfo FakeDockerEngine::Info(const Container& c) const {
  ContainerInfo info;
  info.id = c.id;
  info.name = c.spec.name;
  info.image = c.spec.image;
  info.running = c.running;
  info.status = c.running ? "running" : (c.starts ? "exited" : "created");
  info.exit_code = c.exit_code;
  info.labels = c.spec.labels;
  info.memory_bytes = c.spec.memory_bytes;
  info.cpu_shares = c.spec.cpu_shares;
  info.network_mode = c.spec.network_mode;
  info.pids_limit = enforce_pids_limit_ ? c.spec.pids_limit : 0;
  // Every container on the engine's own networks gets the one address: tests see it passed on.
  if (c.running && c.spec.network_mode != "host") info.ip_address = "172.17.0.2";
  return info;
}

Result<ContainerInfo> FakeDockerEngine::InspectContainer(const std::string& id_or_name) {
  SPAWN_RETURN_IF_ERROR(Record("InspectContainer", id_or_name));
  MutexLock lock(mu_);
  for (const auto& [id, c] : containers_) {
    if (id == id_or_name || c.spec.name == id_or_name) return Info(c);
  }
  return Status::NotFound("no container " + id_or_name);
}

Result<std::vector<ContainerInfo>> FakeDockerEngine::ListContainers(const std::string& key,
                                                                    const std::string& value) {
  SPAWN_RETURN_IF_ERROR(Record("ListContainers", key + "=" + value));
  MutexLock lock(mu_);
  std::vector<ContainerInfo> out;
  for (const auto& [id, c] : containers_) {
    auto it = c.spec.labels.find(key);
    if (it != c.spec.labels.end() && it->second == value) out.push_back(Info(c));
  }
  return out;
}

std::unique_ptr<Stream> FakeDockerEngine::FollowEvents(
    std::function<void(const EngineEvent&)> on_event, std::function<void()> on_reconnect) {
  MutexLock lock(mu_);
  const int n = next_stream_++;
  event_followers_[n] = std::move(on_event);
  reconnect_followers_[n] = std::move(on_reconnect);
  return std::make_unique<FakeStream>([this, n] {
    MutexLock lock(mu_);
    event_followers_.erase(n);
    reconnect_followers_.erase(n);
  });
}

std::unique_ptr<Stream> FakeDockerEngine::FollowLogs(const std::string& id, int64_t,
                                                     std::function<void(const LogLine&)> on_line,
                                                     Done) {
  MutexLock lock(mu_);
  const int n = next_stream_++;
  log_followers_[n] = {id, std::move(on_line)};
  return std::make_unique<FakeStream>([this, n] {
    MutexLock lock(mu_);
    log_followers_.erase(n);
  });
}

Result<std::vector<LogLine>> FakeDockerEngine::ReadLogs(const std::string& id,
                                                        int64_t since_unix_ns, size_t max_lines) {
  SPAWN_RETURN_IF_ERROR(Record("ReadLogs", id));
  MutexLock lock(mu_);
  if (!containers_.count(id)) return Status::NotFound("no container " + id);
  std::vector<LogLine> lines;
  for (const LogLine& line : output_[id]) {
    if (line.time_unix_ns >= since_unix_ns) lines.push_back(line);
  }
  if (lines.size() > max_lines) lines.erase(lines.begin(), lines.end() - max_lines);
  return lines;
}

std::unique_ptr<Stream> FakeDockerEngine::FollowStats(
    const std::string& id, std::function<void(const ContainerStats&)> on_stats, Done) {
  MutexLock lock(mu_);
  const int n = next_stream_++;
  stats_followers_[n] = {id, std::move(on_stats)};
  return std::make_unique<FakeStream>([this, n] {
    MutexLock lock(mu_);
    stats_followers_.erase(n);
  });
}

void FakeDockerEngine::FailNext(const std::string& call, Status status) {
  MutexLock lock(mu_);
  failures_[call] = std::move(status);
}

bool FakeDockerEngine::Following(int n) const {
  MutexLock lock(mu_);
  return event_followers_.count(n) || reconnect_followers_.count(n) || log_followers_.count(n) ||
         stats_followers_.count(n);
}

EngineEvent FakeDockerEngine::MakeEvent(EngineEvent::Kind kind, const std::string& action,
                                        const Container& c) {
  return EngineEvent{kind, action, c.id, 0, c.spec.labels, clock_ ? clock_() : 0};
}

void FakeDockerEngine::HoldEvents(bool hold) {
  {
    MutexLock lock(mu_);
    hold_events_ = hold;
  }
  if (!hold) ReleaseEvents();
}

void FakeDockerEngine::ReleaseEvents() {
  std::vector<EngineEvent> held;
  {
    MutexLock lock(mu_);
    held.swap(held_events_);
  }
  for (const auto& event : held) SendEvent(event);
}

void FakeDockerEngine::DeliverEvent(const EngineEvent& event) {
  {
    MutexLock lock(mu_);
    if (hold_events_) {
      held_events_.push_back(event);
      return;
    }
  }
  SendEvent(event);
}

void FakeDockerEngine::SendEvent(const EngineEvent& event) {
  std::vector<std::pair<int, std::function<void(const EngineEvent&)>>> followers;
  {
    MutexLock lock(mu_);
    followers.assign(event_followers_.begin(), event_followers_.end());
  }
  for (const auto& [n, follower] : followers) {
    if (Following(n)) follower(event);
  }
}

void FakeDockerEngine::Die(const std::string& id, int exit_code) {
  EngineEvent e;
  {
    MutexLock lock(mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return;
    it->second.running = false;
    it->second.exit_code = exit_code;
    e = MakeEvent(EngineEvent::Kind::kDie, "die", it->second);
    e.exit_code = exit_code;
  }
  DeliverEvent(e);
}

void FakeDockerEngine::DieSilently(const std::string& id, int exit_code) {
  MutexLock lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return;
  it->second.running = false;
  it->second.exit_code = exit_code;
}

void FakeDockerEngine::EmitLog(const std::string& id, const LogLine& line) {
  std::vector<std::pair<int, std::function<void(const LogLine&)>>> followers;
  {
    MutexLock lock(mu_);
    output_[id].push_back(line);
    for (const auto& [n, follower] : log_followers_) {
      if (follower.first == id) followers.emplace_back(n, follower.second);
    }
  }
  for (const auto& [n, follower] : followers) {
    if (Following(n)) follower(line);
  }
}

void FakeDockerEngine::EmitStats(const std::string& id, const ContainerStats& stats) {
  std::vector<std::pair<int, std::function<void(const ContainerStats&)>>> followers;
  {
    MutexLock lock(mu_);
    for (const auto& [n, follower] : stats_followers_) {
      if (follower.first == id) followers.emplace_back(n, follower.second);
    }
  }
  for (const auto& [n, follower] : followers) {
    if (Following(n)) follower(stats);
  }
}

void FakeDockerEngine::EmitEvent(const EngineEvent& event) { DeliverEvent(event); }

void FakeDockerEngine::ReconnectEvents() {
  std::vector<std::pair<int, std::function<void()>>> followers;
  {
    MutexLock lock(mu_);
    followers.assign(reconnect_followers_.begin(), reconnect_followers_.end());
  }
  for (const auto& [n, follower] : followers) {
    if (Following(n)) follower();
  }
}

std::vector<std::string> FakeDockerEngine::Calls() const {
  MutexLock lock(mu_);
  return calls_;
}

size_t FakeDockerEngine::CountCalls(const std::string& prefix) const {
  MutexLock lock(mu_);
  return static_cast<size_t>(std::count_if(
      calls_.begin(), calls_.end(), [&](const std::string& c) { return c.rfind(prefix, 0) == 0; }));
}

std::map<std::string, FakeDockerEngine::Container> FakeDockerEngine::Containers() const {
  MutexLock lock(mu_);
  return containers_;
}

std::vector<std::string> FakeDockerEngine::Networks() const {
  MutexLock lock(mu_);
  return networks_;
}

int FakeDockerEngine::ActiveStreams() const {
  MutexLock lock(mu_);
  return static_cast<int>(event_followers_.size() + log_followers_.size() +
                          stats_followers_.size());
}

}  // namespace spawn
