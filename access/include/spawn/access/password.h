// Passwords for the identities `spawnctl access` makes.
#pragma once

#include <cstddef>
#include <string>

#include "spawn/common/status.h"

namespace spawn::access {

inline constexpr size_t kPasswordLength = 32;

// `length` letters and digits drawn from the operating system's random source
// (std::random_device, /dev/urandom on Linux), each with the same chance: about 5.95 bits a
// character, 190 bits for the default length. kInternal when the random source is unavailable.
Result<std::string> GeneratePassword(size_t length = kPasswordLength);

}  // namespace spawn::access
