#include "fleet_commands.h"

#include <iostream>
#include <memory>

#include "spawn/bus/paho_bus.h"
#include "spawn/client/client.h"
#include "spawn/common/units.h"
#include "spawn/fleet/fleet_client.h"
#include "spawn/fleet/format.h"

namespace spawn {
namespace {

// A connected FleetClient on a bus of its own. The bus is left to the process's end after a clean
// disconnect, as Session does, because destroying it waits for Paho's threads.
class FleetConnection {
 public:
  ~FleetConnection() {
    if (bus_) bus_->Disconnect().IgnoreError();
    (void)client_.release();
    (void)bus_.release();
  }
  Status Open(const Globals& g) {
    auto options = GlobalBusOptions(g);
    if (!options.ok()) return options.status();
    bus_ = MakePahoBus(*options);
    client_ = std::make_unique<fleet::FleetClient>(*bus_);  // before Connect
    return bus_->Connect();
  }
  fleet::FleetClient& client() { return *client_; }

 private:
  std::unique_ptr<Bus> bus_;
  std::unique_ptr<fleet::FleetClient> client_;
};

Duration TimeoutOf(const Globals& g) {
  return ParseDuration(g.timeout).value_or(std::chrono::seconds(30));
}

const char* kFleetNote =
    "The fleet's desired state is retained on the broker under BASE/s.spawnfleet; the spawnds "
    "whose spawnd.yml has fleet: {base: BASE, ...} reconcile it: they place the replicas "
    "(<name>-0, <name>-1, ...) on the spawnpoints under BASE that have room, replace those of a "
    "spawnpoint silent for rescheduleAfter, and roll a changed config out one replica at a time.";

}  // namespace

FleetCommands::FleetCommands(CLI::App& app, const Globals& g) : g_(g) {
  fleet_ = app.add_subcommand(
      "fleet", "Run N replicas of a service across the spawnpoints of a base (the fleet)");
  fleet_->require_subcommand(1);
  fleet_->footer(kFleetNote);
  const std::string base_help = "the base, BASE (its spawnpoints are BASE/<alias>)";

  apply_ = fleet_->add_subcommand(
      "apply", "Write a replicated service (a deploy.yml with replicas:) to a base");
  apply_->add_option("-u,--uri", uri_, base_help);
  apply_->add_option("-c,--config", yaml_, "the deploy.yml, with replicas: and placement:")
      ->required()
      ->check(CLI::ExistingFile);
  apply_->add_option("-n,--name", name_, "the set's name (overrides the file's)");
  apply_->add_flag("--wait", wait_,
                   "wait until the rollout has ended: exit 0 when it finished, 1 when it failed");
  apply_->add_option("--wait-for", wait_for_, "with --wait: how long to wait")
      ->capture_default_str()
      ->check([](const std::string& v) {
        auto d = ParseDuration(v);
        return d.ok() ? std::string() : d.status().message();
      });
  apply_->footer(
      "A changed config (or changed included files) is a new generation: its replicas are "
      "replaced one at a time, each running (and healthy, with a health check) before the next; "
      "one that fails halts the rollout and the changed ones go back to the previous generation.");

  ls_ = fleet_->add_subcommand(
      "ls", "Show a base's sets: desired, running, pending and why, where each replica runs");
  ls_->add_option("-u,--uri", uri_, base_help);
  ls_->add_option("name", name_, "only this set");

  scale_ = fleet_->add_subcommand("scale", "Change a set's number of replicas");
  scale_->add_option("-u,--uri", uri_, base_help);
  scale_->add_option("name", name_, "the set")->required();
  scale_->add_option("replicas", replicas_, "how many")->required()->check(CLI::Range(0, 10000));

  rm_ = fleet_->add_subcommand("rm", "Stop every replica of a set and forget it");
  rm_->add_option("-u,--uri", uri_, base_help);
  rm_->add_option("name", name_, "the set")->required();

  drain_ = fleet_->add_subcommand(
      "drain", "Move a spawnpoint's replicas elsewhere and keep new ones away (maintenance)");
  undrain_ = fleet_->add_subcommand("undrain", "Let a drained spawnpoint take replicas again");
  for (auto* sub : {drain_, undrain_})
    sub->add_option("-u,--uri", uri_, "the spawnpoint's path, BASE/<alias>");
}

std::string FleetCommands::Uri() const { return uri_.empty() ? g_.uri : uri_; }

int FleetCommands::Run() {
  if (Uri().empty()) {
    return Fail(ExitCode::kUsage,
                "fleet: no base given: use -u BASE or set SPAWNPOINT_DEFAULT_URI");
  }
  if (apply_->parsed()) return Apply();
  if (ls_->parsed()) return List();
  if (scale_->parsed()) return Scale();
  if (rm_->parsed()) return Remove();
  if (drain_->parsed()) return Drain(true);
  if (undrain_->parsed()) return Drain(false);
  return Fail(ExitCode::kUsage, "fleet: no command given (see fleet --help)");
}

int FleetCommands::Apply() {
  auto config = fleet::LoadFleetConfigFile(
      yaml_, name_.empty() ? std::nullopt : std::optional<std::string>(name_));
  if (!config.ok()) return Fail(ExitCode::kUsage, config.status().message());
  // The archive and entity, read as a plain deploy reads them.
  auto shipped = PrepareDeployOf(config->config, yaml_, false);
  if (!shipped.ok()) return Fail(ExitCode::kUsage, shipped.status().message());
  FleetConnection c;
  if (Status s = c.Open(g_); !s.ok()) return Fail(s);
  auto applied = c.client().Apply(Uri(), *config, shipped->archive, shipped->entity, TimeoutOf(g_));
  if (!applied.ok()) return Fail(applied.status());
  const fleet::FleetSpec& spec = applied->spec;
  std::cerr << "Applied " << spec.name << " to " << Uri() << ": " << spec.replicas
            << " replicas, generation " << spec.current.generation
            << (applied->changed_config ? "" : " (config unchanged)") << std::endl;
  if (!wait_) return static_cast<int>(ExitCode::kDone);
  const Duration limit = ParseDuration(wait_for_).value_or(std::chrono::minutes(10));
  auto ended = c.client().WaitForRollout(Uri(), spec.name, spec.current.generation, limit);
  if (!ended.ok()) {
    return Fail(ended.status().code() == Code::kTimeout ? ExitCode::kNoAnswer : ExitCode::kRefused,
                ended.status().message());
  }
  if (ended->rollout == fleet::RolloutState::kFailed)
    return Fail(ExitCode::kRefused, spec.name + ": " + ended->message);
  std::cerr << spec.name << ": rollout of generation " << spec.current.generation << " done; "
            << ended->running << " of " << ended->desired << " running" << std::endl;
  return static_cast<int>(ExitCode::kDone);
}

int FleetCommands::List() {
  FleetConnection c;
  if (Status s = c.Open(g_); !s.ok()) return Fail(s);
  auto view = c.client().Read(Uri(), TimeoutOf(g_));
  if (!view.ok()) return Fail(view.status());
  if (!name_.empty() && !view->sets.count(name_))
    return Fail(ExitCode::kRefused, "fleet ls: no set " + name_ + " under " + Uri());
  std::cout << (g_.json ? fleet::FleetJson(*view, name_) : fleet::FormatFleet(*view, name_))
            << std::flush;
  return static_cast<int>(ExitCode::kDone);
}

int FleetCommands::Scale() {
  if (Status s = fleet::ValidateSetName(name_, replicas_); !s.ok())
    return Fail(s.WithContext("fleet scale"));
  FleetConnection c;
  if (Status s = c.Open(g_); !s.ok()) return Fail(s);
  auto scaled = c.client().Scale(Uri(), name_, replicas_, TimeoutOf(g_));
  if (!scaled.ok()) return Fail(scaled.status());
  std::cerr << "Scaled " << name_ << " to " << replicas_ << " replicas" << std::endl;
  return static_cast<int>(ExitCode::kDone);
}

int FleetCommands::Remove() {
  FleetConnection c;
  if (Status s = c.Open(g_); !s.ok()) return Fail(s);
  if (Status s = c.client().Remove(Uri(), name_, TimeoutOf(g_)); !s.ok()) return Fail(s);
  std::cerr << "Removing " << name_ << ": its replicas stop, then the set is forgotten"
            << std::endl;
  return static_cast<int>(ExitCode::kDone);
}

int FleetCommands::Drain(bool drained) {
  FleetConnection c;
  if (Status s = c.Open(g_); !s.ok()) return Fail(s);
  if (Status s = c.client().Drain(Uri(), drained); !s.ok()) return Fail(s);
  std::cerr << (drained ? "Drained " : "Undrained ") << Uri() << std::endl;
  return static_cast<int>(ExitCode::kDone);
}

}  // namespace spawn
