#include "spawn/daemon/openssl_setup.h"

#include <openssl/ssl.h>

namespace spawn {

bool BrokerUsesTls(const std::string& broker_uri) { return broker_uri.rfind("ssl://", 0) == 0; }

void SetUpOpenSsl(bool tls_in_use) {
  if (tls_in_use) return;
  OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
                       OPENSSL_INIT_NO_LOAD_SSL_STRINGS,
                   nullptr);
}

}  // namespace spawn
