// The keys of spawnpoint's two configuration files, deploy.yml and spawnd.yml, as data: the one
// source of `spawnctl example`, the README's key tables and the man pages deploy.yml(5) and
// spawnd.yml(5) (reference_docs.h renders them). The parser itself is common's config.h; the unit
// tests hold the tables to it: every key and alias listed is one it accepts, every key it accepts
// is listed, each example value parses, and each default given as a value is the parser's.
//
// Here rather than in common because only the client side (spawnctl and the docs it builds) uses
// it; spawnd.yml's table is here too so that both files are documented the same way.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace spawn {

// One key of a configuration file. Text fields may hold `code` spans in backquotes (markdown); the
// renderers turn them into bold (roff) or drop the quotes (YAML comments).
struct ConfigKey {
  std::string_view key;
  std::string_view alias;    // another name the parser accepts for it ("" if none)
  std::string_view meaning;  // a phrase, no final full stop
  bool required = false;
  // The value the key has when it is not given, as written in the file (`5s`, `false`, `[]`); ""
  // when there is no such value, and then `default_note` says it in words ("last element of
  // `path`", "none").
  std::string_view default_value;
  std::string_view default_note;
  std::string_view example;  // a value the parser accepts, as written in the file
};

// What a file is, for the example's header and the man page.
struct ConfigFileDoc {
  std::string_view file;         // "deploy.yml"
  std::string_view summary;      // man page NAME line: what the file is
  std::string_view usage;        // how it is used, e.g. "spawnctl deploy -c deploy.yml"
  std::string_view description;  // paragraphs separated by a blank line
  std::span<const ConfigKey> keys;
};

// deploy.yml: one service (ParseServiceConfig).
const ConfigFileDoc& DeployYamlDoc();
// spawnd.yml: one spawnpoint (ParseSpawndConfig).
const ConfigFileDoc& SpawndYamlDoc();

// A commented file with every key of `doc`: the required ones set to their example value, every
// other one commented out ("# key: example") under a comment giving its meaning and default. It
// parses as it is, and each line "# key: example" uncommented parses too. `version` goes into the
// header line.
std::string ExampleYaml(const ConfigFileDoc& doc, const std::string& version);

// `text` without the backquotes of its `code` spans.
std::string PlainText(std::string_view text);

}  // namespace spawn
