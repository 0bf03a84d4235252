// Hooks PahoBus calls around a connect, for workarounds of Paho C defects that this project's own
// executables carry (bus/workarounds/, never installed). A program sets them once, before its first
// bus; a program that sets none gets Paho's behaviour unchanged. Private to the bus: not installed.
#pragma once

#include <string>

namespace spawn::internal {

struct PahoConnectHooks {
  // Called before each Connect() with the broker's uri.
  void (*before_connect)(const std::string& uri) = nullptr;
  // Called about every millisecond while a Connect() waits for the broker's CONNACK.
  void (*awaiting_connack)() = nullptr;
};

void SetPahoConnectHooks(const PahoConnectHooks& hooks);

}  // namespace spawn::internal
