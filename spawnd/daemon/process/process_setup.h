// Process-wide set-up for the spawnd executable: what the process needs from glibc, OpenSSL,
// GnuTLS and the signal mask before (and while) the daemon library runs in it.
//
// It lives in an object library (spawn::process_setup) that only spawnd and its unit tests link,
// never spawn::daemon nor an installed library: it defines GnuTLS's private init-skip hook and
// changes malloc, which is a program's choice, not a library's. Being an object library, its
// definitions end up in the executable whether or not main() calls anything of it.
//
// Memory:
//   - GnuTLS initialises itself in a library constructor and keeps that resident for good. spawnd
//     never uses it: it is loaded only because Debian's libcurl links librtmp, which links GnuTLS.
//     This file defines the weak, exported hook `_gnutls_global_init_skip`, which GnuTLS asks
//     whether to skip that implicit initialisation (the same switch as GNUTLS_NO_IMPLICIT_INIT=1,
//     without needing the environment); a library that does use GnuTLS still calls
//     gnutls_global_init() itself, which works as before. The hook must stay exported from the
//     executable (spawnd/daemon/CMakeLists.txt says so, and a test checks the binding).
//   - libcurl initialises OpenSSL in full as it starts (the configuration file, the built-in
//     engines, the error strings of every library), and keeps that resident. spawnd's libcurl only
//     ever speaks plain HTTP to the engine's unix socket, so when the broker is not ssl:// nothing
//     in the process uses TLS: SetUpOpenSsl then initialises OpenSSL without its configuration
//     file and error strings, and libcurl's initialisation afterwards finds that part done and
//     does not redo it. With TLS in use, OpenSSL is left to set itself up as usual (its
//     configuration may set TLS policy, and a TLS error should read as words, not codes).
//   - glibc gives each thread that allocates an arena of its own, and keeps the pages of freed
//     chunks that are not at the top of an arena: TuneMalloc and TrimHeapPeriodically keep that
//     bounded.
#pragma once

#include <signal.h>

#include <chrono>

#include "spawn/common/event_loop.h"

extern "C" int _gnutls_global_init_skip();

namespace spawn {

// Call early in main(), before any thread starts: spawnd's threads allocate little and rarely at
// once, and every arena keeps pages resident, so two arenas are plenty.
void TuneMalloc();

// Call once, before anything else in the process touches libcurl, Paho or OpenSSL; whether the
// broker uses TLS is spawn::BrokerUsesTls (spawn/bus/bus.h).
void SetUpOpenSsl(bool tls_in_use);

// Blocks SIGINT and SIGTERM in the calling thread, and so in every thread it starts afterwards
// (call it before any): they are then taken by one thread with sigwait, so no work runs in a
// signal handler and no other thread is interrupted by them. Returns the set, for sigwait.
sigset_t BlockTerminationSignals();

// Owner thread of `loop`: hands the pages of freed heap chunks back to the system every
// kHeapTrimInterval, for as long as the loop runs. After a burst of work (a hundred deploys, their
// concurrent engine calls and buffers) they would otherwise stay resident for the daemon's
// lifetime; a trim costs a walk of the heap.
inline constexpr std::chrono::seconds kHeapTrimInterval{10};
void TrimHeapPeriodically(EventLoop& loop);

}  // namespace spawn
