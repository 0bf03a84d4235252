#include "paho_code.h"

#include <dlfcn.h>

#include <cstring>

namespace spawn {

bool IsPahoCode(const void* address) {
  Dl_info info{};
  if (dladdr(address, &info) == 0 || info.dli_fname == nullptr) return false;
  // libpaho-mqtt3a.so and libpaho-mqtt3as.so, the asynchronous client without and with TLS.
  return std::strstr(info.dli_fname, "libpaho-mqtt3a") != nullptr;
}

bool FirstDefinitionIsBeside(const char* symbol, const void* address) {
  Dl_info first_info{}, here{};
  void* first = dlsym(RTLD_DEFAULT, symbol);
  return first != nullptr && dladdr(first, &first_info) != 0 && dladdr(address, &here) != 0 &&
         first_info.dli_fbase == here.dli_fbase;
}

}  // namespace spawn
