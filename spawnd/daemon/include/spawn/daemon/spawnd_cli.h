// spawnd's command line: `spawnd run [-c spawnd.yml] [-m metadata.yml] [--log-level LEVEL]`,
// `spawnd --help`, `spawnd --version`.
#pragma once

#include <optional>
#include <string>

namespace spawn {

struct SpawndCommandLine {
  std::string config_path = "config.yml";  // as given, or the original's default
  std::string metadata_path;               // an existing file, or empty: no metadata
  std::string log_level = "info";
  // Set when spawnd is to exit at once with this code: after --help or --version (0), or a usage
  // error (not 0). What there was to say has been printed then.
  std::optional<int> exit_code;
};

SpawndCommandLine ParseSpawndCommandLine(int argc, const char* const* argv);

}  // namespace spawn
