// How `spawnctl --help-all` shows each command: a heading "spawnctl scan [OPTIONS] [base]:", its
// description indented by two columns and its arguments by four. help2man makes each such block a
// subsection of spawnctl(1), the arguments tagged paragraphs under the description (CLI11's own
// expansion, a bare name over "Options:", reads as running text to it). Plain --help and
// `spawnctl CMD --help` keep CLI11's format.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace spawn {

class HelpAllFormatter : public CLI::Formatter {
 public:
  std::string make_subcommands(const CLI::App* app, CLI::AppFormatMode mode) const override;
  std::string make_expanded(const CLI::App* sub) const override;
};

}  // namespace spawn
