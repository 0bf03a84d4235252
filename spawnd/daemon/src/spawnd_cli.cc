#include "spawn/daemon/spawnd_cli.h"

#include <CLI/CLI.hpp>

namespace spawn {

SpawndCommandLine ParseSpawndCommandLine(int argc, const char* const* argv) {
  SpawndCommandLine parsed;
  CLI::App app{"spawnd: runs and supervises services in Docker containers, driven over MQTT"};
  app.set_version_flag("--version", SPAWN_VERSION);
  app.require_subcommand(1);
  CLI::App* run = app.add_subcommand("run", "Run the daemon in the foreground (logs to stderr)");
  // As the original spawnd did, a missing -c means config.yml in the working directory; whether
  // that exists is the loader's to say, naming the path it looked for.
  run->add_option("-c,--config", parsed.config_path,
                  "spawnd.yml: the spawnpoint's configuration (default: config.yml in the working "
                  "directory)")
      ->capture_default_str();
  run->add_option("-m,--metadata", parsed.metadata_path,
                  "metadata.yml: key/value pairs published as metadata")
      ->check(CLI::ExistingFile);
  run->add_option("--log-level", parsed.log_level, "trace, debug, info, warn or error")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    parsed.exit_code = app.exit(error);
  }
  return parsed;
}

}  // namespace spawn
