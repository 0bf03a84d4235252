// Cutting Paho C 1.3.12's receive thread's sleep short.
//
// Why: Paho starts its receive thread on the first connect. When that thread looks for sockets
// before the send thread has opened the connection's, it sleeps before it looks again, and the
// CONNACK waits for it. WakeSleepingThreads("MQTTAsync_rcv"), called while a connect waits
// (paho_workarounds.h), ends that sleep and the thread goes on to find the new socket. Paho offers
// no other way in, which is why this lives only in this project's executables.
#pragma once

#include <string>

namespace spawn {

// Signals each thread of this process named `name` (as in /proc/self/task/*/comm) that is in
// nanosleep or clock_nanosleep now, so that the call returns early (EINTR). The signal is SIGURG
// with a handler that does nothing, installed on first use; SIGURG's default is to be ignored and
// TCP urgent data, its only source, is not used here. Blocking calls other than sleeps restart
// (SA_RESTART). poll does not: if the thread entered one meanwhile, Paho takes the EINTR as "no
// socket ready" and goes to its 100 ms sleep, which the caller's next look then cuts short. Does
// nothing, and returns 0, if someone else handles SIGURG in this process. Returns how many threads
// it signalled.
int WakeSleepingThreads(const std::string& name);

}  // namespace spawn
