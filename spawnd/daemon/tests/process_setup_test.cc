#include "process_setup.h"

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <functional>

#include "spawn/common/event_loop.h"

namespace spawn {
namespace {

// OpenSSL is set up once per process, so each case runs in a child of its own; the exit status
// says whether `check` held.
bool HoldsInFreshProcess(const std::function<bool()>& check) {
  const pid_t child = fork();
  if (child == 0) _exit(check() ? 0 : 1);
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Whether OpenSSL would put an error into words: the reason strings of its crypto library, which
// libcurl's initialisation loads, and of its TLS library, which a TLS context loads.
bool ErrorsReadAsWords() {
  return ERR_reason_error_string(ERR_PACK(ERR_LIB_EVP, 0, EVP_R_BAD_DECRYPT)) != nullptr &&
         ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_CERTIFICATE_VERIFY_FAILED)) !=
             nullptr;
}

// What spawnd does: OpenSSL's set-up, then libcurl's, then (over ssl://) Paho's TLS context.
bool SetUpAsSpawndDoes(bool tls_in_use) {
  SetUpOpenSsl(tls_in_use);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (tls_in_use) SSL_CTX_free(SSL_CTX_new(TLS_client_method()));
  return ErrorsReadAsWords();
}

TEST(OpenSslSetupTest, WithoutTlsNoErrorStringIsLoaded) {
  EXPECT_TRUE(HoldsInFreshProcess([] { return !SetUpAsSpawndDoes(false); }));
  // Left alone, libcurl's initialisation would have loaded them.
  EXPECT_TRUE(HoldsInFreshProcess([] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return ERR_reason_error_string(ERR_PACK(ERR_LIB_EVP, 0, EVP_R_BAD_DECRYPT)) != nullptr;
  }));
}

TEST(OpenSslSetupTest, WithTlsErrorsStillReadAsWords) {
  EXPECT_TRUE(HoldsInFreshProcess([] { return SetUpAsSpawndDoes(true); }));
}

// A termination signal stays pending for sigwait instead of ending the process.
TEST(ProcessSetupTest, TerminationSignalsAreLeftForSigwait) {
  EXPECT_TRUE(HoldsInFreshProcess([] {
    const sigset_t signals = BlockTerminationSignals();
    if (!sigismember(&signals, SIGINT) || !sigismember(&signals, SIGTERM)) return false;
    std::raise(SIGTERM);
    int received = 0;
    return sigwait(&signals, &received) == 0 && received == SIGTERM;
  }));
}

TEST(ProcessSetupTest, AHeapTrimIsAlwaysScheduledAfterTheLast) {
  ManualEventLoop loop;
  TrimHeapPeriodically(loop);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(loop.PendingTimers(), 1u);
    loop.AdvanceBy(kHeapTrimInterval);
  }
  EXPECT_EQ(loop.PendingTimers(), 1u);
}

TEST(ProcessSetupTest, GnuTlsIsToldToSkipItsImplicitInitialisation) {
  EXPECT_EQ(_gnutls_global_init_skip(), 1);
}

}  // namespace
}  // namespace spawn
