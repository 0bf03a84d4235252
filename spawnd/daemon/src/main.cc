// spawnd: library plus main(). main() sets the process up (process_setup.h, and the Paho C
// workarounds of paho_workarounds.h) and hands over to the daemon library: its command line
// (spawn/daemon/spawnd_cli.h) and its run (spawn/daemon/run.h).
#include <spdlog/spdlog.h>

#include "paho_workarounds.h"
#include "process_setup.h"
#include "spawn/bus/bus.h"
#include "spawn/common/logging.h"
#include "spawn/daemon/run.h"
#include "spawn/daemon/spawnd_cli.h"

int main(int argc, char** argv) {
  spawn::TuneMalloc();
  const spawn::SpawndCommandLine command_line = spawn::ParseSpawndCommandLine(argc, argv);
  if (command_line.exit_code) return *command_line.exit_code;
  spawn::SetUpLogging("spawnd", command_line.log_level);
  const spawn::PahoWorkaroundsState paho = spawn::InstallPahoWorkarounds();
  if (paho.active && !paho.interposed) {
    spdlog::warn("Paho C {}: its workarounds are not in effect in this build", paho.paho_version);
  }
  auto inputs = spawn::LoadSpawndInputs(command_line);
  if (!inputs.ok()) {
    spdlog::error("{}", inputs.status().message());
    return 2;
  }
  // Before the engine's libcurl initialises OpenSSL in full for nothing.
  spawn::SetUpOpenSsl(spawn::BrokerUsesTls(inputs->config.broker));
  const sigset_t signals = spawn::BlockTerminationSignals();  // before any thread starts
  spawn::RealEventLoop loop;  // outlives everything RunSpawnd makes, which Posts to it
  spawn::TrimHeapPeriodically(loop);
  return spawn::RunSpawnd(*inputs, loop, signals);
}
