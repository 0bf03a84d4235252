#include "spawn/daemon/openssl_setup.h"

#include <openssl/ssl.h>

namespace spawn {

void SetUpOpenSsl(bool tls_in_use) {
  if (tls_in_use) return;
  OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
                       OPENSSL_INIT_NO_LOAD_SSL_STRINGS,
                   nullptr);
}

}  // namespace spawn
