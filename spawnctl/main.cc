// spawnctl: the command line for a fleet of spawnpoints. Library (spawnclient) plus main(): the
// command line is defined and parsed here, each command runs in commands.cc (bus interactions are
// SpawnClient's, formats format.h's), and completion.cc writes the shell completions from this
// same definition.
//
// Exit codes: spawnclient's table (spawn/client/exit_codes.h), shown at the end of --help; every
// failure also prints one line on stderr saying why.
#include <CLI/CLI.hpp>
#include <iostream>

#include "access_commands.h"
#include "commands.h"
#include "completion.h"
#include "fleet_commands.h"
#include "help_format.h"
#include "interrupts.h"
#include "paho_workarounds.h"
#include "serve_command.h"
#include "session.h"
#include "spawn/client/config_keys.h"
#include "spawn/client/reference_docs.h"
#include "spawn/client/settings.h"
#include "spawn/common/units.h"

namespace spawn {
namespace {

std::string CheckDuration(const std::string& value) {
  auto d = ParseDuration(value);
  return d.ok() ? std::string() : d.status().message();
}

std::string CheckMqttVersion(const std::string& value) {
  auto version = ParseMqttVersion(value);
  return version.ok() ? std::string() : version.status().message();
}

std::string CheckBroker(const std::string& value) {
  const size_t scheme = value.find("://");
  if (scheme == std::string::npos || scheme == 0 || scheme + 3 == value.size())
    return "\"" + value + "\" is not a broker URI; expected e.g. tcp://127.0.0.1:1883";
  return "";
}

int Main(int argc, char** argv) {
  Interrupts interrupts;
  const CliDefaults defaults = DefaultsFromEnvironment(ProcessEnvironment());
  Globals g;
  g.broker = defaults.broker;
  g.uri = defaults.uri;
  g.history_file = defaults.history_file;
  g.mqtt_version = defaults.mqtt_version;

  CLI::App app{"spawnctl: deploy, inspect and control services on spawnpoints over MQTT",
               "spawnctl"};
  app.formatter(std::make_shared<HelpAllFormatter>());  // before the commands, which inherit it
  app.set_version_flag("--version", SPAWN_VERSION);
  app.set_help_all_flag("--help-all", "Print the help of every command and exit");
  app.footer(ExitCodeHelp());
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("-b,--broker", g.broker, "MQTT broker URI (env SPAWNPOINT_BROKER)")
      ->capture_default_str()
      ->check(CheckBroker);
  app.add_option("--username", g.username, "broker user name");
  app.add_option("--password-file", g.password_file, "file holding the broker password")
      ->check(CLI::ExistingFile);
  app.add_option("--ca-file", g.ca_file, "CA certificate for ssl:// brokers")
      ->check(CLI::ExistingFile);
  app.add_option("--cert-file", g.cert_file, "client certificate")->check(CLI::ExistingFile);
  app.add_option("--key-file", g.key_file, "client private key")->check(CLI::ExistingFile);
  app.add_option("--mqtt-version", g.mqtt_version,
                 "MQTT version spoken to the broker: 5, or 3.1.1 for a broker that speaks nothing "
                 "newer (commands then never expire, and a refused one is dropped without a word) "
                 "(env SPAWNPOINT_MQTT_VERSION)")
      ->capture_default_str()
      ->check(CheckMqttVersion);
  app.add_flag("--json", g.json, "print decoded messages as JSON, one per line");
  app.add_option("--timeout", g.timeout, "how long to wait for a spawnpoint's answer")
      ->capture_default_str()
      ->check(CheckDuration);
  const std::string uri_help = "the spawnpoint's path (env SPAWNPOINT_DEFAULT_URI)";
  // deploy, restart and stop also take BASE/*: every spawnpoint `scan BASE` lists.
  const std::string fan_out_help =
      "the spawnpoint's path, or 'BASE/*' for every spawnpoint `scan BASE` lists, one line each "
      "(away ones: queued) (env SPAWNPOINT_DEFAULT_URI)";

  std::string base, yaml, name, since = "0s", wait = "10m", down_after;
  std::string shell, example_file = "deploy.yml";
  bool all = false, replace = false, no_follow = false;
  auto* scan = app.add_subcommand("scan", "List the spawnpoints under a base path");
  scan->add_option("base", base, "base path; a spawnpoint's own path shows it in detail");
  scan->add_option("-u,--uri", g.uri, uri_help);
  scan->add_flag("-a,--all", all, "include zombie services");
  scan->add_option("--down-after", down_after,
                   "a spawnpoint silent this long appears to be down (default: three of the "
                   "heartbeat intervals it announces)")
      ->check(CheckDuration);

  auto* deploy = app.add_subcommand("deploy", "Deploy a service from its deploy.yml");
  deploy->add_option("-u,--uri", g.uri, fan_out_help);
  deploy->add_option("-c,--config", yaml, "the service's deploy.yml")
      ->required()
      ->check(CLI::ExistingFile);
  deploy->add_option("-n,--name", name, "service name (overrides the file's)");
  deploy->add_flag("--replace", replace, "replace a service of the same name");

  auto* deploy_last = app.add_subcommand(
      "deploy-last", "Deploy the last deployment again (from ~/.spawnpoint_history)");
  deploy_last->add_flag("--replace", replace, "replace the service if it exists");

  auto* restart = app.add_subcommand("restart", "Restart a service (or revive a zombie)");
  auto* stop = app.add_subcommand("stop", "Stop a service (it stays a zombie for a while)");
  auto* rollback = app.add_subcommand(
      "rollback", "Bring back the deployment the last --replace replaced, at once (no build)");
  auto* tail = app.add_subcommand("tail", "Follow a service's log until Ctrl-C");
  auto* logs = app.add_subcommand("logs", "Print the log history a spawnpoint keeps for a service");
  auto* inspect =
      app.add_subcommand("inspect", "Show a service's original config and current heartbeat");
  for (auto* sub : {restart, stop, rollback, tail, logs, inspect}) {
    sub->add_option("-u,--uri", g.uri, sub == restart || sub == stop ? fan_out_help : uri_help);
    sub->add_option("-n,--name", name, "service name")->required();
  }
  for (auto* sub : {deploy, deploy_last, restart, stop, rollback}) {
    sub->add_flag("--no-follow", no_follow,
                  "do not tail the log: return once the service runs (stop: after the reply)");
    sub->add_option("--wait", wait, "with --no-follow: how long to wait for it to run")
        ->capture_default_str()
        ->check(CheckDuration);
    sub->add_option("--expire", g.expire,
                    "drop the command unless the spawnpoint gets it within this (it may be away); "
                    "0s: never (MQTT 5 only)")
        ->capture_default_str()
        ->check(CheckDuration);
  }
  logs->add_option("--since", since, "only lines newer than this, e.g. 10m (0s: all kept)")
      ->capture_default_str()
      ->check(CheckDuration);
  bool now = false, job_wait = false;
  std::string job_id, meta_argument;
  stop->add_flag("--now", now, "KILL at once, without the service's stopTimeout of TERM grace");
  auto* jobs = app.add_subcommand(
      "jobs", "List a spawnpoint's jobs: its commands and the restarts it decided itself");
  jobs->add_option("-u,--uri", g.uri, uri_help);
  jobs->add_option("-n,--name", name, "only this service's jobs");
  jobs->add_option("--since", since, "only jobs changed within this, e.g. 1h (0s: all kept)")
      ->capture_default_str()
      ->check(CheckDuration);
  auto* job = app.add_subcommand(
      "job", "Show one job; with --wait, wait until it ends (exit 0: done, 1: failed)");
  job->add_option("-u,--uri", g.uri, uri_help);
  job->add_option("id", job_id, "the job's id (a command's RequestId)")->required();
  job->add_flag("--wait", job_wait, "wait until the job has ended");
  job->add_option("--wait-for", wait, "with --wait: how long to wait")
      ->capture_default_str()
      ->check(CheckDuration);
  auto* meta = app.add_subcommand("meta", "Change a spawnpoint's metadata at run time");
  meta->require_subcommand(1);
  auto* meta_set = meta->add_subcommand(
      "set", "Set KEY=VALUE; it wins over spawnd's -m file until it is removed");
  meta_set->add_option("pair", meta_argument, "KEY=VALUE")->required();
  auto* meta_rm = meta->add_subcommand(
      "rm", "Remove a key set at run time (the -m file's value, if any, comes back)");
  meta_rm->add_option("key", meta_argument, "KEY")->required();
  for (auto* sub : {meta_set, meta_rm}) sub->add_option("-u,--uri", g.uri, uri_help);

  auto* example = app.add_subcommand(
      "example", "Print a commented deploy.yml (or spawnd.yml) with every key and its default");
  example->add_option("file", example_file, "which file")
      ->capture_default_str()
      ->check(CLI::IsMember({"deploy.yml", "spawnd.yml"}));
  auto* completion =
      app.add_subcommand("completion", "Print the shell completion script for bash or zsh");
  completion->add_option("shell", shell, "the shell")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh"}));

  AccessCommands access(app, g);
  FleetCommands fleet(app, g);
  ServeCommand serve(app, g);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help, --help-all and --version are "errors" that exit 0; every other one is bad usage.
    return app.exit(e) == 0 ? static_cast<int>(ExitCode::kDone)
                            : static_cast<int>(ExitCode::kUsage);
  }

  if (example->parsed()) {
    std::cout << ExampleYaml(example_file == "spawnd.yml" ? SpawndYamlDoc() : DeployYamlDoc(),
                             SPAWN_VERSION);
    return static_cast<int>(ExitCode::kDone);
  }
  if (completion->parsed()) {
    std::cout << (shell == "zsh" ? ZshCompletion(app) : BashCompletion(app));
    return static_cast<int>(ExitCode::kDone);
  }

  if (access.parsed()) return access.Run();
  if (fleet.parsed()) return fleet.Run();
  if (serve.parsed()) return serve.Run(interrupts);
  const Duration wait_limit = ParseDuration(wait).value_or(std::chrono::minutes(10));
  Session session(g, interrupts);
  if (scan->parsed()) return ScanCommand(session, base, all, down_after);

  std::optional<std::string> name_override = name.empty() ? std::nullopt : std::optional(name);
  if (deploy_last->parsed()) {
    auto last = LastHistoryEntry(g.history_file);
    if (!last.ok()) return Fail(ExitCode::kUsage, "deploy-last: " + last.status().message());
    g.uri = last->uri;
    yaml = last->config_path;
    name_override = last->name.empty() ? std::nullopt : std::optional(last->name);
    if (!g.json) std::cerr << "Deploying " << yaml << " to " << g.uri << " again" << std::endl;
  }
  if (g.uri.empty()) {
    return Fail(ExitCode::kUsage, "no spawnpoint given: use -u PATH or set SPAWNPOINT_DEFAULT_URI");
  }
  if (deploy->parsed() || deploy_last->parsed())
    return DeployCommand(session, yaml, name_override, replace, no_follow, wait_limit);
  if (restart->parsed() || stop->parsed())
    return RestartOrStopCommand(session, restart->parsed(), name, no_follow, wait_limit, now);
  if (rollback->parsed()) return RollbackCommand(session, name, no_follow, wait_limit);
  if (tail->parsed()) return TailCommand(session, name);
  if (logs->parsed()) return LogsCommand(session, name, since);
  if (inspect->parsed()) return InspectCommand(session, name);
  if (jobs->parsed()) return JobsCommand(session, name, since);
  if (job->parsed()) return JobCommand(session, job_id, job_wait, wait_limit);
  if (meta_set->parsed() || meta_rm->parsed())
    return MetaCommand(session, meta_rm->parsed(), meta_argument);
  return Fail(ExitCode::kUsage, "no command given (see --help)");
}

}  // namespace
}  // namespace spawn

int main(int argc, char** argv) {
  spawn::InstallPahoWorkarounds();  // only for the Paho C they were written for
  return spawn::Main(argc, argv);
}
