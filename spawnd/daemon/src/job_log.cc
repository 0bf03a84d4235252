#include "spawn/daemon/job_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "spawn/common/files.h"

namespace spawn {
namespace {

class FileJobStore final : public JobStore {
 public:
  explicit FileJobStore(std::string path) : path_(std::move(path)) {}

  Result<std::vector<proto::Job>> Load() override {
    if (!std::filesystem::exists(path_)) return std::vector<proto::Job>{};
    auto bytes = ReadFile(path_);
    if (!bytes.ok()) return bytes.status();
    auto decoded = proto::DecodeJobsReply(*bytes);
    if (!decoded.ok()) return decoded.status().WithContext(path_);
    return std::move(decoded->jobs);
  }

  Status Save(const std::vector<proto::Job>& jobs) override {
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), error);
    if (error)
      return Status::Internal("cannot make the directory of " + path_ + ": " + error.message());
    return WriteFileAtomically(path_, proto::Encode(proto::JobsReply{"", jobs}));
  }

 private:
  const std::string path_;
};

}  // namespace

std::unique_ptr<JobStore> MakeFileJobStore(const std::string& path) {
  return std::make_unique<FileJobStore>(path);
}

JobLog::JobLog(JobStore& store, size_t capacity)
    : store_(store), capacity_(std::max<size_t>(capacity, 1)) {}

Status JobLog::Load() {
  auto loaded = store_.Load();
  if (!loaded.ok()) return loaded.status();
  jobs_.assign(loaded->begin(), loaded->end());
  while (jobs_.size() > capacity_) jobs_.pop_front();
  return Status::Ok();
}

const proto::Job& JobLog::Open(const std::string& id, const std::string& kind,
                               const std::string& service, int64_t now_unix_ns,
                               const std::string& reason) {
  if (!id.empty()) {
    if (const proto::Job* existing = Find(id)) return *existing;
  }
  proto::Job job;
  job.id = id.empty() ? NewId("job", now_unix_ns) : id;
  job.kind = kind;
  job.service = service;
  job.reason = reason;
  job.created_unix_ns = now_unix_ns;
  proto::Job& added = Append(std::move(job));
  Save();
  return added;
}

const proto::Job& JobLog::AutoRestart(const std::string& service, const std::string& reason,
                                      int64_t now_unix_ns) {
  for (size_t i = jobs_.size(); i-- > 0;) {
    if (jobs_[i].service != service) continue;
    if (jobs_[i].kind != job_kind::kAutoRestart) break;  // another job came between: a new run
    proto::Job& job = Touch(i);
    job.count += 1;
    job.reason = reason;
    job.state = proto::JobState::kRunning;
    job.started_unix_ns = now_unix_ns;
    job.ended_unix_ns = 0;
    job.code = 0;
    job.message.clear();
    Save();
    return job;
  }
  proto::Job job;
  job.id = NewId("auto-" + service, now_unix_ns);
  job.kind = job_kind::kAutoRestart;
  job.service = service;
  job.reason = reason;
  job.state = proto::JobState::kRunning;
  job.created_unix_ns = job.started_unix_ns = now_unix_ns;
  proto::Job& added = Append(std::move(job));
  Save();
  return added;
}

const proto::Job* JobLog::Start(const std::string& id, int64_t now_unix_ns) {
  const size_t index = IndexOf(id);
  if (index == jobs_.size()) return nullptr;
  if (jobs_[index].state != proto::JobState::kQueued) return &jobs_[index];
  proto::Job& job = Touch(index);
  job.state = proto::JobState::kRunning;
  job.started_unix_ns = now_unix_ns;
  Save();
  return &job;
}

const proto::Job* JobLog::Finish(const std::string& id, const Status& outcome,
                                 const std::string& message, int64_t now_unix_ns) {
  const size_t index = IndexOf(id);
  if (index == jobs_.size() || jobs_[index].ended()) return nullptr;
  proto::Job& job = Touch(index);
  job.state = outcome.ok() ? proto::JobState::kDone : proto::JobState::kFailed;
  if (job.started_unix_ns == 0) job.started_unix_ns = now_unix_ns;
  job.ended_unix_ns = now_unix_ns;
  job.code = outcome.http_code();
  job.message = outcome.ok() ? message : outcome.message();
  // A job is a record, not a log: a long error (a build's last line) is cut to keep the file and
  // the replies small.
  if (job.message.size() > kMaxMessageBytes) job.message.resize(kMaxMessageBytes);
  Save();
  return &job;
}

const proto::Job* JobLog::Find(const std::string& id) const {
  for (const auto& job : jobs_) {
    if (job.id == id) return &job;
  }
  return nullptr;
}

size_t JobLog::IndexOf(const std::string& id) const {
  for (size_t i = 0; i < jobs_.size(); ++i) {
    if (jobs_[i].id == id) return i;
  }
  return jobs_.size();
}

std::vector<proto::Job> JobLog::Unended(const std::string& service) const {
  std::vector<proto::Job> out;
  for (const auto& job : jobs_) {
    if (job.service == service && !job.ended()) out.push_back(job);
  }
  return out;
}

std::vector<proto::Job> JobLog::List(const std::string& service, int64_t since_unix_ns) const {
  std::vector<proto::Job> out;
  for (const auto& job : jobs_) {
    if ((service.empty() || job.service == service) && job.updated_unix_ns() >= since_unix_ns)
      out.push_back(job);
  }
  return out;
}

proto::Job& JobLog::Touch(size_t index) {
  proto::Job job = std::move(jobs_[index]);
  jobs_.erase(jobs_.begin() + static_cast<std::ptrdiff_t>(index));
  jobs_.push_back(std::move(job));
  return jobs_.back();
}

proto::Job& JobLog::Append(proto::Job job) {
  jobs_.push_back(std::move(job));
  while (jobs_.size() > capacity_) jobs_.pop_front();
  return jobs_.back();
}

std::string JobLog::NewId(const std::string& prefix, int64_t now_unix_ns) const {
  const std::string base = prefix + "-" + std::to_string(now_unix_ns);
  std::string id = base;
  for (int n = 2; Find(id); ++n) id = base + "-" + std::to_string(n);
  return id;
}

void JobLog::Save() {
  const Status saved = store_.Save(std::vector<proto::Job>(jobs_.begin(), jobs_.end()));
  if (!saved.ok()) spdlog::warn("jobs: {}; the job log goes on in memory", saved.message());
}

}  // namespace spawn
