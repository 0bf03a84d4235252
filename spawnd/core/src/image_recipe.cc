#include "spawn/core/image_recipe.h"

#include <openssl/evp.h>

#include <cstdio>
#include <memory>
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

// SHA-256 of the parts, each preceded by its length, so that no two lists of parts collide.
std::string Sha256Hex(std::initializer_list<const std::string*> parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  for (const std::string* part : parts) {
    const std::string length = std::to_string(part->size()) + ":";
    EVP_DigestUpdate(ctx.get(), length.data(), length.size());
    EVP_DigestUpdate(ctx.get(), part->data(), part->size());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &size);
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < size; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

}  // namespace

bool NeedsBuild(const ServiceConfig& c) {
  return !c.apt_requires.empty() || !c.source.empty() || !c.included_files.empty() ||
         !c.included_dirs.empty() || !c.build.empty();
}

std::string BaseImage(const ServiceConfig& c, const std::string& default_image) {
  return c.image.empty() ? default_image : c.image;
}

std::string GenerateDockerfile(const ServiceConfig& c, const std::string& base) {
  const std::string dir = kServiceWorkDir;
  std::string out = "FROM " + OneLine(base) + "\n";
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
  return out;
}

std::string ImageTag(const std::string& dockerfile, const std::string& archive) {
  return "spawnpoint/build:" + Sha256Hex({&dockerfile, &archive});
}

}  // namespace spawn
