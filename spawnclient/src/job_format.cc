#include "spawn/client/job_format.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace spawn {
namespace {

std::string KindText(const proto::Job& job) {
  std::string text = job.kind;
  if (!job.reason.empty()) text += " (" + job.reason + ")";
  if (job.count > 1) text += " x" + std::to_string(job.count);
  return text;
}

std::string ResultText(const proto::Job& job) {
  if (!job.ended()) return job.message;
  return (job.state == proto::JobState::kDone ? "" : "[" + std::to_string(job.code) + "] ") +
         job.message;
}

std::string Took(const proto::Job& job, int64_t now_unix_ns) {
  if (job.started_unix_ns == 0) return "-";
  return FormatAgeBetween(job.started_unix_ns, job.ended() ? job.ended_unix_ns : now_unix_ns);
}

}  // namespace

std::string FormatJobs(const std::vector<proto::Job>& jobs, int64_t now_unix_ns,
                       const FormatOptions& options) {
  if (jobs.empty()) return "No jobs.\n";
  using Row = std::array<std::string, 7>;
  std::vector<Row> rows{{"ID", "KIND", "SERVICE", "STATE", "CREATED", "TOOK", "RESULT"}};
  for (const auto& job : jobs) {
    rows.push_back({job.id, KindText(job), job.service, proto::ToString(job.state),
                    FormatTime(job.created_unix_ns, options), Took(job, now_unix_ns),
                    ResultText(job)});
  }
  std::array<size_t, 7> width{};
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string FormatJob(const proto::Job& job, const FormatOptions&) {
  std::string line = "job " + job.id + ": " + KindText(job) + " of " + job.service + " " +
                     proto::ToString(job.state);
  const std::string result = ResultText(job);
  if (!result.empty()) line += " " + result;
  return line;
}

std::string ToJson(const proto::Job& j) {
  using json = nlohmann::json;
  return json{{"Id", j.id},
              {"Kind", j.kind},
              {"Service", j.service},
              {"State", proto::ToString(j.state)},
              {"Reason", j.reason},
              {"Count", j.count},
              {"Created", j.created_unix_ns},
              {"Started", j.started_unix_ns},
              {"Ended", j.ended_unix_ns},
              {"Code", j.code},
              {"Message", j.message}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace spawn
