#include "spawn/access/password.h"

#include <exception>
#include <random>
#include <string_view>

namespace spawn::access {

Result<std::string> GeneratePassword(size_t length) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  try {
    std::random_device source;  // a true random source on Linux, not a seeded engine
    // The distribution rejects draws beyond a multiple of the alphabet's size, so no character
    // is likelier than another.
    std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
    std::string password;
    password.reserve(length);
    for (size_t i = 0; i < length; ++i) password += kAlphabet[pick(source)];
    return password;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("no random source for a password: ") + e.what());
  }
}

}  // namespace spawn::access
