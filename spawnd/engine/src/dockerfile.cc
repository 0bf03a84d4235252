#include "spawn/engine/dockerfile.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "spawn/common/tar.h"

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
  std::string out = "FROM " + (c.image.empty() ? default_image : c.image) + "\n";
  if (!c.apt_requires.empty()) {
    out +=
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
        "--no-install-recommends";
    for (const auto& p : c.apt_requires) out += " " + ShellQuote(p);
    out += " && rm -rf /var/lib/apt/lists/*\n";
  }
  out += "WORKDIR " + dir + "\n";
  if (!c.source.empty()) {
    std::string repo = BaseName(c.source);
    if (repo.size() > 4 && repo.ends_with(".git")) repo.resize(repo.size() - 4);
    out += "RUN git clone --depth 1 " + ShellQuote(c.source) + " " + ShellQuote(dir + "/" + repo) +
           "\n";
  }
  for (const auto* list : {&c.included_files, &c.included_dirs}) {
    for (const auto& path : *list) {
      const std::string name = BaseName(path);
      out += "COPY " + nlohmann::json::array({name, dir + "/" + name}).dump() + "\n";
    }
  }
  for (const auto& step : c.build) out += "RUN " + step + "\n";
  out += "CMD " + nlohmann::json(c.run).dump() + "\n";
  return out;
}

std::string ImageTag(const ServiceConfig& config, const std::string& dockerfile,
                     const std::string& archive) {
  std::string name;
  for (char ch : config.name) {
    name.push_back(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' ||
                           ch == '_'
                       ? static_cast<char>(std::tolower(static_cast<unsigned char>(ch)))
                       : '-');
  }
  char digits[17];
  std::snprintf(digits, sizeof digits, "%016llx",
                static_cast<unsigned long long>(Fnv1a(archive, Fnv1a(dockerfile + '\0'))));
  return "spawnpoint/" + name + ":" + digits;
}

Result<std::string> MakeBuildContext(const std::string& dockerfile, const std::string& archive) {
  auto entries = ReadTar(archive);
  if (!entries.ok()) return entries.status().WithContext("included files");
  TarWriter writer;
  writer.AddFile(kDockerfileName, dockerfile);
  for (const auto& entry : *entries) writer.Add(entry);
  return writer.Finish();
}

}  // namespace spawn
