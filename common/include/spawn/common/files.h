// Reading a whole file, with an error a user can act on: the one way every component reads
// configs, parameters, state records and included files.
#pragma once

#include <string>

#include "spawn/common/status.h"

namespace spawn {

// The file's bytes; kNotFound "cannot read <path>: <reason>" when it cannot be opened or read.
Result<std::string> ReadFile(const std::string& path);

}  // namespace spawn
