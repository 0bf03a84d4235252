// Whether an address lies in Paho C's asynchronous client library, for the interposed socket calls
// (paho_write_guard.h, paho_prompt_connect.h) that change behaviour for Paho's calls only.
#pragma once

namespace spawn {

// dladdr takes the loader's lock: call it on rare paths only.
bool IsPahoCode(const void* address);

// True when the first definition of `symbol` in the global lookup order, the one a library's
// reference to it binds to, lives in the same object as `address`: an interposed definition
// there is in effect.
bool FirstDefinitionIsBeside(const char* symbol, const void* address);

}  // namespace spawn
