// `spawnctl fleet ...`: replicated services over a base's spawnpoints (spawn::fleet). The commands
// write the desired state (retained under BASE/s.spawnfleet) and read what the reconcilers
// reported; the reconcilers, run by spawnd (`fleet:` in spawnd.yml), place and replace the
// replicas. They connect with the global broker options (an operator of the base, where the
// broker checks identities).
//
// FleetCommands defines the command group on the app before parsing; after parsing, Run()
// executes whichever of its subcommands was given and returns the exit code (exit_codes.h).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "session.h"

namespace spawn {

class FleetCommands {
 public:
  // Adds `fleet` to `app`; `g` is read when Run() is called (after parsing).
  FleetCommands(CLI::App& app, const Globals& g);

  bool parsed() const { return fleet_->parsed(); }
  int Run();

 private:
  int Apply();
  int List();
  int Scale();
  int Remove();
  int Drain(bool drained);
  std::string Uri() const;

  const Globals& g_;
  CLI::App* fleet_;
  CLI::App *apply_, *ls_, *scale_, *rm_, *drain_, *undrain_;
  std::string uri_, yaml_, name_, wait_for_ = "10m";
  int64_t replicas_ = 0;
  bool wait_ = false;
};

}  // namespace spawn
