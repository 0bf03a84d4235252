#include "commands.h"

#include <filesystem>
#include <iostream>

#include "spawn/client/fan_out.h"
#include "spawn/client/job_format.h"
#include "spawn/client/settings.h"
#include "spawn/common/units.h"

namespace spawn {
namespace {

int64_t NowNs() { return ToUnixNanos(std::chrono::system_clock::now()); }

// `-u 'BASE/*'`: the command goes to every spawnpoint `scan BASE` lists; one line each.
int FanOutCommand(Session& s, const std::string& base, const FanOutSend& send) {
  auto found = s.client().Scan(base, s.timeout(), proto::HeartbeatDetail::kWithoutOriginalConfig);
  if (!found.ok()) return Fail(found.status());
  if (found->empty()) {
    return Fail(ExitCode::kRefused,
                "no spawnpoint under " + base + " (spawnctl scan " + base + " lists them)");
  }
  const auto outcomes = FanOut(*found, NowNs(), s.format().down_after, s.timeout(), send);
  std::cout << FormatFanOut(outcomes, s.format()) << std::flush;
  return static_cast<int>(FanOutSucceeded(outcomes) ? ExitCode::kDone : ExitCode::kRefused);
}

}  // namespace

int ScanCommand(Session& s, std::string base, bool all, const std::string& down_after) {
  const Globals& g = s.globals();
  if (base.empty()) base = g.uri;
  if (base.empty()) {
    return Fail(ExitCode::kUsage,
                "scan: no base path: give one, use -u or set SPAWNPOINT_DEFAULT_URI");
  }
  auto down = down_after.empty() ? Result<Duration>(Duration::zero()) : ParseDuration(down_after);
  if (!down.ok()) return Fail(ExitCode::kUsage, "--down-after: " + down.status().message());
  if (Status st = s.Open(); !st.ok()) return Fail(st);
  // The listing shows state and usage; only --json prints the services' original configs.
  auto found = s.client().Scan(base, s.timeout(),
                               g.json ? proto::HeartbeatDetail::kWithOriginalConfig
                                      : proto::HeartbeatDetail::kWithoutOriginalConfig);
  if (!found.ok()) return Fail(found.status());
  if (g.json) {
    s.Print(ToJson(*found, NowNs(), *down));
  } else {
    FormatOptions f = s.format();
    f.show_zombies = all;
    f.down_after = *down;
    std::cout << FormatScan(*found, NowNs(), f) << std::flush;
  }
  return static_cast<int>(ExitCode::kDone);
}

int DeployCommand(Session& s, const std::string& yaml, const std::optional<std::string>& name,
                  bool replace, bool no_follow, Duration wait) {
  const Globals& g = s.globals();
  auto request = PrepareDeploy(yaml, name, replace);
  if (!request.ok()) return Fail(ExitCode::kUsage, request.status().message());
  if (Status st = s.Open(); !st.ok()) return Fail(st);
  if (auto base = FanOutBase(g.uri)) {
    return FanOutCommand(s, *base, [&](const std::string& path, Duration timeout) {
      proto::DeployRequest copy = *request;  // each spawnpoint's copy gets a RequestId of its own
      return s.client().Deploy(path, std::move(copy), timeout);
    });
  }
  const std::string service = request->config.name;
  Status recorded =
      AppendHistory(g.history_file,
                    {g.uri, std::filesystem::absolute(yaml).lexically_normal().string(), service});
  if (!recorded.ok()) std::cerr << "spawnctl: warning: " << recorded.message() << std::endl;
  // Subscribed to the log before publishing, so the build's progress is not missed.
  auto watch = WatchPrinting(s, service);
  if (!watch.ok()) return Fail(watch.status());
  if (!g.json) std::cerr << "Deploying " << service << " to " << g.uri << "..." << std::endl;
  const int replied = s.PrintReply(s.client().Deploy(g.uri, std::move(*request), s.timeout()),
                                   "deploy", "deploy to " + g.uri, /*job=*/true);
  if (replied != 0) return replied;
  return AfterCommand(
      s, **watch, no_follow ? std::optional(proto::ServiceState::kRunning) : std::nullopt, wait);
}

int RestartOrStopCommand(Session& s, bool restart, const std::string& name, bool no_follow,
                         Duration wait, bool now) {
  const Globals& g = s.globals();
  if (Status st = s.Open(); !st.ok()) return Fail(st);
  if (auto base = FanOutBase(g.uri)) {
    return FanOutCommand(s, *base, [&](const std::string& path, Duration timeout) {
      return restart ? s.client().Restart(path, name, timeout)
                     : s.client().Stop(path, name, timeout, now);
    });
  }
  auto watch = WatchPrinting(s, name);
  if (!watch.ok()) return Fail(watch.status());
  auto reply = restart ? s.client().Restart(g.uri, name, s.timeout())
                       : s.client().Stop(g.uri, name, s.timeout(), now);
  const std::string verb = restart ? "restart" : "stop";
  const int replied = s.PrintReply(reply, verb, verb + " " + name + " on " + g.uri, /*job=*/true);
  if (replied != 0) return replied;
  if (no_follow && !restart) return static_cast<int>(ExitCode::kDone);
  return AfterCommand(
      s, **watch, no_follow ? std::optional(proto::ServiceState::kRunning) : std::nullopt, wait);
}

int RollbackCommand(Session& s, const std::string& name, bool no_follow, Duration wait) {
  const Globals& g = s.globals();
  if (Status st = s.Open(); !st.ok()) return Fail(st);
  auto watch = WatchPrinting(s, name);
  if (!watch.ok()) return Fail(watch.status());
  auto reply = s.client().Rollback(g.uri, name, s.timeout());
  const int replied =
      s.PrintReply(reply, "rollback", "roll back " + name + " on " + g.uri, /*job=*/true);
  if (replied != 0) return replied;
  return AfterCommand(
      s, **watch, no_follow ? std::optional(proto::ServiceState::kRunning) : std::nullopt, wait);
}

int TailCommand(Session& s, const std::string& name) {
  if (Status st = s.Open(); !st.ok()) return Fail(st);
  auto watch = WatchPrinting(s, name);
  if (!watch.ok()) return Fail(watch.status());
  return AfterCommand(s, **watch, std::nullopt, Duration(0));
}

int LogsCommand(Session& s, const std::string& name, const std::string& since) {
  auto since_ns = SinceToUnixNs(since, NowNs());
  if (!since_ns.ok()) return Fail(ExitCode::kUsage, "--since: " + since_ns.status().message());
  if (Status st = s.Open(); !st.ok()) return Fail(st);
  auto lines = s.client().Logs(s.globals().uri, name, *since_ns, s.timeout());
  if (!lines.ok()) return Fail(lines.status());
  for (const auto& m : *lines) s.PrintLog(m);
  return static_cast<int>(ExitCode::kDone);
}

int InspectCommand(Session& s, const std::string& name) {
  if (Status st = s.Open(); !st.ok()) return Fail(st);
  auto hb = s.client().Inspect(s.globals().uri, name, s.timeout());
  if (!hb.ok()) return Fail(hb.status());
  if (s.globals().json) {
    s.Print(ToJson(*hb));
  } else {
    std::cout << FormatInspect(*hb, NowNs(), s.format()) << std::flush;
  }
  return static_cast<int>(ExitCode::kDone);
}

int JobsCommand(Session& s, const std::string& name, const std::string& since) {
  auto since_ns = SinceToUnixNs(since, NowNs());
  if (!since_ns.ok()) return Fail(ExitCode::kUsage, "--since: " + since_ns.status().message());
  if (Status st = s.Open(); !st.ok()) return Fail(st);
  auto jobs = s.client().Jobs(s.globals().uri, name, *since_ns, s.timeout());
  if (!jobs.ok()) return Fail(jobs.status());
  if (s.globals().json) {
    for (const auto& job : *jobs) s.Print(ToJson(job));
  } else {
    std::cout << FormatJobs(*jobs, NowNs(), s.format()) << std::flush;
  }
  return static_cast<int>(ExitCode::kDone);
}

int JobCommand(Session& s, const std::string& id, bool wait, Duration wait_limit) {
  if (Status st = s.Open(); !st.ok()) return Fail(st);
  const std::string& uri = s.globals().uri;
  Result<proto::Job> job = Status::NotFound("");
  if (wait) {
    job = s.client().WaitForJob(uri, id, wait_limit);
  } else {
    auto jobs = s.client().Jobs(uri, "", 0, s.timeout());
    if (!jobs.ok()) return Fail(jobs.status());
    job = Status::NotFound("no job " + id + " at " + uri + " (spawnctl jobs -u " + uri +
                           " lists them)");
    for (const auto& j : *jobs) {
      if (j.id == id) job = j;
    }
  }
  if (!job.ok()) return Fail(job.status());
  s.Print(s.globals().json ? ToJson(*job) : FormatJob(*job, s.format()));
  if (!wait) return static_cast<int>(ExitCode::kDone);
  return static_cast<int>(job->state == proto::JobState::kDone ? ExitCode::kDone
                                                               : ExitCode::kRefused);
}

int MetaCommand(Session& s, bool remove, const std::string& argument) {
  std::string key = argument, value;
  if (!remove) {
    const size_t eq = argument.find('=');
    if (eq == std::string::npos)
      return Fail(ExitCode::kUsage, "meta set: \"" + argument + "\": expected KEY=VALUE");
    key = argument.substr(0, eq);
    value = argument.substr(eq + 1);
  }
  if (key.empty()) return Fail(ExitCode::kUsage, "meta: the key is empty; expected KEY=VALUE");
  if (Status st = s.Open(); !st.ok()) return Fail(st);
  const std::string& uri = s.globals().uri;
  return s.PrintReply(s.client().Meta(uri, key, value, remove, s.timeout()), "meta",
                      std::string(remove ? "remove" : "set") + " metadata " + key + " on " + uri);
}

}  // namespace spawn
