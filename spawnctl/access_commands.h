// `spawnctl access ...`: identities and roles on Mosquitto's dynamic security plugin
// (spawn::access). The commands connect with the global broker options, which must be the plugin
// admin's
// (--username, --password-file, TLS options): in Mosquitto 2.0 only a superuser may manage it.
//
// AccessCommands defines the command group on the app before parsing; after parsing, Run()
// executes whichever of its subcommands was given and returns the exit code (exit_codes.h).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "session.h"

namespace spawn {

class AccessCommands {
 public:
  // Adds `access` to `app`; `g` is read when Run() is called (after parsing).
  AccessCommands(CLI::App& app, const Globals& g);

  bool parsed() const { return access_->parsed(); }
  int Run();

 private:
  int Host();
  int User(bool operator_role);
  int List();
  int Revoke();

  const Globals& g_;
  CLI::App* access_;
  CLI::App *host_, *operator_, *viewer_, *list_, *revoke_;
  std::string path_, out_, name_, base_, username_;
  bool rotate_ = false;
};

}  // namespace spawn
