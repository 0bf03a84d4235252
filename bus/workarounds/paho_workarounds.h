// Workarounds for defects of Paho C 1.3.12 (Debian 12's), for this project's own executables.
//
// They live in an object library (spawn::paho_workarounds) that only spawnd, spawnctl, their tests
// and bench_fleet link, never in an installed library: three of them interpose a libc or libssl
// function (writev, SSL_write, SSL_get_error, connect) and one signals Paho's receive thread, which
// no library should do to the program that links it. A service may opt in by linking the object
// library into its own executable and calling InstallPahoWorkarounds() first thing in main().
//
//   - write guard (paho_write_guard.h): a publish whose write fails on a broken connection is
//     kept intact for the resend, instead of being resent from freed memory (a correctness fix).
//   - prompt connect (paho_prompt_connect.h): Paho's connect to a plain-TCP broker reports the
//     finished handshake at once, and its sockets get TCP_NODELAY, which Paho never sets.
//   - receive-thread wake-up (thread_wakeup.h): while a connect waits for its CONNACK, Paho's
//     receive thread is woken if it went to sleep before the connection's socket existed.
//
// Each switches itself off unless the Paho C library loaded at run time reports the version it
// was written for (MQTTAsync_getVersionInfo), so a fixed Paho runs unpatched.
#pragma once

#include <string>
#include <string_view>

namespace spawn {

// The version of Paho's asynchronous C library loaded in this process ("1.3.12"), or "" if it
// does not say.
std::string LoadedPahoCVersion();

// Whether the workarounds apply to Paho C `version` as the library reports it: only to 1.3.12, the
// one they were written for and tested against, which reports itself as 1.3.11.
bool PahoCNeedsWorkarounds(std::string_view version);

struct PahoWorkaroundsState {
  std::string paho_version;
  bool active = false;      // the workarounds are switched on for this version
  bool interposed = false;  // Paho's writev/SSL_write/connect calls reach them in this program
};

// Switches the workarounds on if the loaded Paho C needs them and sets PahoBus's connect hooks.
// Call once, before the first bus is made. Returns what is in force, for the caller to log.
PahoWorkaroundsState InstallPahoWorkarounds();

// As InstallPahoWorkarounds, as if Paho C `version` were loaded (tests show the version check).
PahoWorkaroundsState InstallPahoWorkaroundsFor(std::string_view version);

// Whether the workarounds are switched on now (the interposed calls pass straight to libc and
// libssl while they are not).
bool PahoWorkaroundsActive();

}  // namespace spawn
