#include "paho_workarounds.h"

#include <MQTTAsync.h>

#include <atomic>
#include <cstring>

#include "../src/paho_connect_hooks.h"
#include "paho_prompt_connect.h"
#include "paho_write_guard.h"
#include "thread_wakeup.h"

namespace spawn {
namespace {

std::atomic<bool> active{false};

void AllowPromptConnectToPlainBroker(const std::string& uri) {
  if (uri.rfind("tcp://", 0) == 0 || uri.rfind("mqtt://", 0) == 0) {
    AllowPromptConnectTo(BrokerPort(uri));
  }
}

void WakePahoReceiveThread() { WakeSleepingThreads("MQTTAsync_rcv"); }

}  // namespace

std::string LoadedPahoCVersion() {
  for (const MQTTAsync_nameValue* entry = MQTTAsync_getVersionInfo();
       entry != nullptr && entry->name != nullptr; ++entry) {
    if (std::strcmp(entry->name, "Version") == 0 && entry->value != nullptr) return entry->value;
  }
  return "";
}

// Debian 12's Paho C 1.3.12 reports itself as "1.3.11" (upstream did not bump the version string
// it builds in), and 1.3.11 has the same defects.
bool PahoCNeedsWorkarounds(std::string_view version) {
  return version == "1.3.11" || version == "1.3.12";
}

PahoWorkaroundsState InstallPahoWorkarounds() {
  return InstallPahoWorkaroundsFor(LoadedPahoCVersion());
}

PahoWorkaroundsState InstallPahoWorkaroundsFor(std::string_view version) {
  PahoWorkaroundsState state;
  state.paho_version = std::string(version);
  state.active = PahoCNeedsWorkarounds(version);
  state.interposed = PahoWriteGuardInstalled() && PahoPromptConnectInstalled();
  active = state.active;
  internal::PahoConnectHooks hooks;
  if (state.active) {
    hooks.before_connect = &AllowPromptConnectToPlainBroker;
    hooks.awaiting_connack = &WakePahoReceiveThread;
  }
  internal::SetPahoConnectHooks(hooks);
  return state;
}

bool PahoWorkaroundsActive() { return active.load(std::memory_order_relaxed); }

}  // namespace spawn
