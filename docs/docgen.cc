// spawn_docgen: the documentation the build makes from spawnclient's tables (config_keys.h,
// exit_codes.h), and the one fix-up help2man's spawnctl(1) needs. Not installed.
//
//   spawn_docgen man deploy.yml|spawnd.yml OUT      the man page deploy.yml(5) or spawnd.yml(5)
//   spawn_docgen markdown deploy.yml|spawnd.yml|exit-codes   a README table, on stdout
//   spawn_docgen update-readme README.md            rewrites the README's generated tables
//   spawn_docgen fix-spawnctl-man IN OUT            help2man's spawnctl(1), with the commands and
//                                                   the exit status as sections of their own
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "spawn/client/config_keys.h"
#include "spawn/client/reference_docs.h"

namespace spawn {
namespace {

int Usage() {
  std::cerr << "usage: spawn_docgen man deploy.yml|spawnd.yml OUT\n"
               "       spawn_docgen markdown deploy.yml|spawnd.yml|exit-codes\n"
               "       spawn_docgen update-readme README.md\n"
               "       spawn_docgen fix-spawnctl-man IN OUT\n";
  return 2;
}

const ConfigFileDoc* DocOf(const std::string& file) {
  if (file == "deploy.yml") return &DeployYamlDoc();
  if (file == "spawnd.yml") return &SpawndYamlDoc();
  return nullptr;
}

bool Read(const std::string& path, std::string* text) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  *text = s.str();
  return static_cast<bool>(in);
}

bool Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) std::cerr << "spawn_docgen: cannot write " << path << "\n";
  return static_cast<bool>(out);
}

// help2man puts the --help-all footer ("Exit status:") and each command's block ("spawnctl scan
// [OPTIONS] [base]:") in subsections of OPTIONS; this gives each group a section of its own.
std::string FixSpawnctlMan(std::string page) {
  const std::string first_command = "\n.SS \"spawnctl ";
  const size_t commands = page.find(first_command);
  if (commands != std::string::npos) page.insert(commands + 1, ".SH COMMANDS\n");
  const std::string exit_status = "\n.SS \"Exit status:\"\n";
  const size_t status = page.find(exit_status);
  if (status != std::string::npos)
    page.replace(status, exit_status.size(), "\n.SH \"EXIT STATUS\"\n");
  return page;
}

int Run(int argc, char** argv) {
  const std::string what = argc > 1 ? argv[1] : "";
  if (what == "man" && argc == 4) {
    const ConfigFileDoc* doc = DocOf(argv[2]);
    if (!doc) return Usage();
    return Write(argv[3], ConfigManPage(*doc, SPAWN_VERSION)) ? 0 : 1;
  }
  if (what == "markdown" && argc == 3) {
    const std::string table = argv[2];
    if (table == "exit-codes") {
      std::cout << MarkdownExitCodeTable();
    } else if (const ConfigFileDoc* doc = DocOf(table)) {
      std::cout << MarkdownKeyTable(*doc);
    } else {
      return Usage();
    }
    return 0;
  }
  if (what == "update-readme" && argc == 3) {
    std::string readme;
    if (!Read(argv[2], &readme)) {
      std::cerr << "spawn_docgen: cannot read " << argv[2] << "\n";
      return 1;
    }
    auto updated = UpdateReadmeTables(readme);
    if (!updated.ok()) {
      std::cerr << "spawn_docgen: " << argv[2] << ": " << updated.status().message() << "\n";
      return 1;
    }
    if (*updated == readme) return 0;
    std::cerr << "spawn_docgen: updated the generated tables of " << argv[2] << "\n";
    return Write(argv[2], *updated) ? 0 : 1;
  }
  if (what == "fix-spawnctl-man" && argc == 4) {
    std::string page;
    if (!Read(argv[2], &page)) {
      std::cerr << "spawn_docgen: cannot read " << argv[2] << "\n";
      return 1;
    }
    return Write(argv[3], FixSpawnctlMan(page)) ? 0 : 1;
  }
  return Usage();
}

}  // namespace
}  // namespace spawn

int main(int argc, char** argv) { return spawn::Run(argc, argv); }
