#include "process_setup.h"

#include <malloc.h>
#include <openssl/ssl.h>

// Exported from the executable (see process_setup.h): GnuTLS looks it up at load time.
extern "C" __attribute__((visibility("default"))) int _gnutls_global_init_skip() { return 1; }

namespace spawn {

void TuneMalloc() { mallopt(M_ARENA_MAX, 2); }

void SetUpOpenSsl(bool tls_in_use) {
  if (tls_in_use) return;
  OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
                       OPENSSL_INIT_NO_LOAD_SSL_STRINGS,
                   nullptr);
}

sigset_t BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

void TrimHeapPeriodically(EventLoop& loop) {
  loop.RunAfter(kHeapTrimInterval, [&loop] {
    malloc_trim(0);
    TrimHeapPeriodically(loop);
  });
}

}  // namespace spawn
