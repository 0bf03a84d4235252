// `spawnctl serve BASE`: the fleet under BASE over HTTP (spawn::gateway): the dashboard at /, the
// JSON API under /api/v1, Server-Sent Events at /api/v1/events and Prometheus at /metrics. It
// connects with the global broker options (reconnecting and resubscribing when the broker goes
// away), listens on loopback unless --listen says otherwise, and runs until Ctrl-C or SIGTERM.
//
// ServeCommand defines the command on the app before parsing; after parsing, Run() serves and
// returns the exit code (exit_codes.h).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "interrupts.h"
#include "session.h"

namespace spawn {

class ServeCommand {
 public:
  // Adds `serve` to `app`; `g` is read when Run() is called (after parsing).
  ServeCommand(CLI::App& app, const Globals& g);

  bool parsed() const { return serve_->parsed(); }
  int Run(Interrupts& interrupts);

 private:
  const Globals& g_;
  CLI::App* serve_;
  std::string base_;
  std::string listen_ = "127.0.0.1:8080";
  std::string token_file_;
  std::string down_after_;
  bool read_only_ = false;
};

}  // namespace spawn
