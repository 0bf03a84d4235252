// What the interposed calls (paho_write_guard.h, paho_prompt_connect.h) share: finding the
// real function to call, telling Paho's calls from everyone else's (the calls change behaviour for
// Paho's only), and checking that an interposed definition is in effect.
#pragma once

#include <dlfcn.h>

#include <cerrno>

namespace spawn {

// The definition of `symbol` that comes after the interposed one in lookup order (libc's), for it
// to call; null if there is none.
template <typename Function>
Function NextDefinition(const char* symbol) {
  return reinterpret_cast<Function>(dlsym(RTLD_NEXT, symbol));
}

// What an interposed call returns when NextDefinition found nothing to call.
inline int NoNextDefinition() {
  errno = ENOSYS;
  return -1;
}

// dladdr takes the loader's lock: call it on rare paths only.
bool IsPahoCode(const void* address);

// True when the first definition of `symbol` in the global lookup order, the one a library's
// reference to it binds to, lives in the same object as `address`: an interposed definition
// there is in effect.
bool FirstDefinitionIsBeside(const char* symbol, const void* address);

}  // namespace spawn
