// Renders the tables of config_keys.h and exit_codes.h for the places that show them: markdown
// tables for the README (a unit test fails when README.md's copy differs; `spawn_docgen markdown
// ...` prints them), the footer of `spawnctl --help`, and the roff of the man pages deploy.yml(5)
// and spawnd.yml(5). Pure functions of the tables; no I/O.
#pragma once

#include <string>
#include <string_view>

#include "spawn/client/config_keys.h"
#include "spawn/common/status.h"

namespace spawn {

// "| key | meaning | default | example |" and a row per key, each line ending in "\n".
std::string MarkdownKeyTable(const ConfigFileDoc& doc);
// "| code | meaning |" and a row per exit code.
std::string MarkdownExitCodeTable();

// The README's generated tables: each is the block of "|" lines right after a marker line
// "<!-- spawn_docgen: NAME -->", NAME one of kReadmeTables. Returns `readme` with each such table
// replaced by its generated version (so a README that is up to date comes back unchanged).
// kBadRequest naming the marker when a marker is unknown or not followed by a table, or when a
// table's marker is missing or repeated.
inline constexpr std::string_view kReadmeTables[] = {"deploy.yml keys", "spawnd.yml keys",
                                                     "spawnctl exit codes"};
Result<std::string> UpdateReadmeTables(const std::string& readme);

// "Exit status:" and a line per code, wrapped at `width` columns: the footer of `spawnctl --help`
// (help2man makes it the EXIT STATUS section of spawnctl(1)).
std::string ExitCodeHelp(size_t width = 100);

// The whole man page (section 5) of the file `doc` describes: NAME, SYNOPSIS, DESCRIPTION, KEYS,
// EXAMPLE (ExampleYaml), SEE ALSO. `version` goes into the footer.
std::string ConfigManPage(const ConfigFileDoc& doc, const std::string& version);

// `text` as roff running text: backslashes and leading dots escaped, `code` spans in bold, not
// hyphenated, with their hyphens as minus signs.
std::string RoffText(std::string_view text);

}  // namespace spawn
