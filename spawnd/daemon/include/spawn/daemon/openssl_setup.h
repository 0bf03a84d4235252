// OpenSSL's process-wide set-up, for a program whose only TLS could be its broker connection.
//
// Why: libcurl initialises OpenSSL in full as it starts (the configuration file, the built-in
// engines, the error strings of every library), and keeps that resident: about 1 MiB of spawnd's
// memory. spawnd's libcurl only ever speaks plain HTTP to the engine's unix socket, so when the
// broker is not ssl:// nothing in the process uses TLS. OpenSSL is then initialised without its
// configuration file and error strings; libcurl's initialisation afterwards finds that part done
// and does not redo it. With TLS in use, OpenSSL is left to set itself up as usual (its
// configuration may set TLS policy, and a TLS error should read as words, not codes).
//
// Call once, before anything else in the process touches libcurl, Paho or OpenSSL; whether the
// broker uses TLS is spawn::BrokerUsesTls (spawn/bus/bus.h).
#pragma once

namespace spawn {

void SetUpOpenSsl(bool tls_in_use);

}  // namespace spawn
