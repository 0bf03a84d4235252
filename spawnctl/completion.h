// `spawnctl completion bash|zsh`: a completion script made from spawnctl's own CLI11 definition, so
// it never lists a command or an option spawnctl does not have. The build writes both into files
// that the package installs where bash-completion and zsh look for them.
//
// What is completed: commands; options (global ones also after the command); file names after an
// option that takes an existing file (CLI::ExistingFile), and the words of a CLI::IsMember check
// (`completion bash|zsh`, `example deploy.yml|spawnd.yml`).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace spawn {

// A bash script defining _spawnctl and `complete -F _spawnctl spawnctl`. Needs bash 4, not the
// bash-completion package.
std::string BashCompletion(const CLI::App& app);

// A zsh script for fpath (#compdef spawnctl; autoloaded as _spawnctl) that also works when sourced
// after compinit.
std::string ZshCompletion(const CLI::App& app);

}  // namespace spawn
