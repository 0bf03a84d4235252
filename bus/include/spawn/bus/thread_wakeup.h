// Cutting a library thread's sleep short.
//
// Why: Paho C 1.3.12 (Debian 12's) starts its receive thread on the first connect. When that thread
// looks for sockets before the send thread has opened the connection's (it loses that race about
// one connect in three here), it sleeps 100 ms before it looks again, and the CONNACK waits for it:
// every such spawnctl command takes 100 ms longer. WakeSleepingThreads("MQTTAsync_rcv") during a
// connect ends that sleep, and the thread goes on to find the new socket. Paho offers no other way
// in.
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
