#include "spawn/common/files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace spawn {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::NotFound("cannot read " + path + ": " + std::strerror(errno));
  return ss.str();
}

}  // namespace spawn
