#include "spawn/core/image_recipe.h"

#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace spawn {
namespace {

std::string BaseName(std::string path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Single-quotes a word for /bin/sh.
std::string ShellQuote(const std::string& word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'')
      out += "'\\''";
    else
      out.push_back(c);
  }
  return out + "'";
}

// The Dockerfile parser splits instructions at line ends before any shell sees them, so a line end
// inside a value would start a new instruction. Shell-form instructions get values without them.
std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

uint64_t Fnv1a(const std::string& data, uint64_t hash = 0xcbf29ce484222325ULL) {
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace

std::string GenerateDockerfile(const ServiceConfig& c, const std::string& default_image) {
  const std::string dir = kServiceWorkDir;
  std::string out = "FROM " + OneLine(c.image.empty() ? default_image : c.image) + "\n";
  if (!c.apt_requires.empty()) {
    out +=
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
        "--no-install-recommends";
    for (const auto& p : c.apt_requires) out += " " + ShellQuote(OneLine(p));
    out += " && rm -rf /var/lib/apt/lists/*\n";
  }
  out += "WORKDIR " + dir + "\n";
  if (!c.source.empty()) {
    std::string repo = BaseName(c.source);
    if (repo.size() > 4 && repo.ends_with(".git")) repo.resize(repo.size() - 4);
    out += "RUN git clone --depth 1 " + ShellQuote(OneLine(c.source)) + " " +
           ShellQuote(OneLine(dir + "/" + repo)) + "\n";
  }
  for (const auto* list : {&c.included_files, &c.included_dirs}) {
    for (const auto& path : *list) {
      const std::string name = BaseName(path);
      out += "COPY " + nlohmann::json::array({name, dir + "/" + name}).dump() + "\n";
    }
  }
  for (const auto& step : c.build) {
    // A multi-line step (a YAML block) is one script: exec form keeps its lines together.
    if (step.find_first_of("\r\n") == std::string::npos)
      out += "RUN " + step + "\n";
    else
      out += "RUN " + nlohmann::json::array({"/bin/sh", "-c", step}).dump() + "\n";
  }
  out += "CMD " + nlohmann::json(c.run).dump() + "\n";
  return out;
}

std::string ImageTag(const ServiceConfig& config, const std::string& dockerfile,
                     const std::string& archive) {
  // A repository name allows lowercase letters and digits joined by single '.' or '_', or runs of
  // '-'; service names allow more ("a..b", "x_"), so everything else becomes '-'.
  std::string name;
  for (char ch : config.name) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    name.push_back((lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9') ? lower : '-');
  }
  while (!name.empty() && name.back() == '-') name.pop_back();
  while (!name.empty() && name.front() == '-') name.erase(0, 1);
  if (name.empty()) name = "service";
  char digits[17];
  std::snprintf(digits, sizeof digits, "%016llx",
                static_cast<unsigned long long>(Fnv1a(archive, Fnv1a(dockerfile + '\0'))));
  return "spawnpoint/" + name + ":" + digits;
}

}  // namespace spawn
