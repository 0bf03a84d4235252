// RunSpawnd: the spawnd process's work once main() has set the process up (process_setup.h).
// It builds the real parts (libcurl engine, Paho bus, file state store and command journal,
// threaded executor), wires them to a Supervisor and a Daemon, connects to the broker (retrying
// until it answers: BrokerConnector) and serves until SIGINT or SIGTERM. Containers keep running
// after exit.
#pragma once

#include <signal.h>

#include <map>
#include <string>

#include "spawn/common/config.h"
#include "spawn/common/event_loop.h"
#include "spawn/common/status.h"
#include "spawn/daemon/spawnd_cli.h"

namespace spawn {

// What spawnd serves with: its configuration and the metadata it publishes.
struct SpawndInputs {
  SpawndConfig config;
  std::map<std::string, std::string> metadata;
};

// Reads the files `command_line` names; an error says which file and what is wrong with it.
Result<SpawndInputs> LoadSpawndInputs(const SpawndCommandLine& command_line);

// Runs spawnd on `loop` (from the calling thread, which becomes its owner) until one of `signals`
// arrives; they must be blocked in every thread (BlockTerminationSignals), as this waits for them
// with sigwait. `loop` must outlive the call. Returns the process's exit code: 0 after a shutdown
// asked for by a signal, 1 if the engine, the command journal or the start failed, 2 if the
// broker's password file cannot be read. Failures are logged.
int RunSpawnd(const SpawndInputs& inputs, RealEventLoop& loop, const sigset_t& signals);

}  // namespace spawn
