// AccessPolicy: who may use the gateway, and which requests may change anything.
//
//  - Token: with a token set, every API request carries "Authorization: Bearer <token>" or the
//    session cookie that POST /login hands out for the token (HttpOnly, SameSite=Strict: a
//    browser's EventSource cannot send a header, and another site's page never gets the cookie
//    sent). Sessions live in memory, so a restarted gateway asks to log in again.
//  - Host: on a loopback listener, the Host header must name the loopback (localhost, 127.0.0.1,
//    [::1]), so that a page whose name was rebound to 127.0.0.1 cannot read the API.
//  - Origin: a request that changes anything (POST) from a browser must come from the gateway's
//    own origin (Origin equal to the Host it was sent to; Sec-Fetch-Site not cross-site). A
//    request without Origin (curl, a script) passes this check.
//  - Read-only: commands are refused with 403.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <deque>
#include <optional>
#include <set>
#include <string>

#include "spawn/common/mutex.h"
#include "spawn/gateway/http.h"

namespace spawn::gateway {

struct AccessOptions {
  std::string token;           // empty: no token needed
  bool read_only = false;      // --read-only
  bool loopback = true;        // the listener is on a loopback address
  size_t max_sessions = 1000;  // the oldest login is forgotten beyond this
};

class AccessPolicy {
 public:
  static constexpr const char* kCookie = "spawnpoint_session";

  explicit AccessPolicy(AccessOptions options) : options_(std::move(options)) {}

  bool read_only() const { return options_.read_only; }
  bool token_required() const { return !options_.token.empty(); }

  // nullopt when the request may be served; else the refusal (400 bad Host, 401 no or wrong
  // credentials, 403 cross-origin or read-only). `changes` says whether it would change anything;
  // `command` whether it is a command (deploy, restart, stop) that --read-only refuses.
  std::optional<HttpResponse> Check(const HttpRequest& req, bool needs_auth, bool changes,
                                    bool command) const EXCLUDES(mu_);

  // POST /login: the token in the body (JSON {"token": ...}, a form's token=..., or the bare
  // token). 200 with the session cookie set, or 401.
  HttpResponse Login(const HttpRequest& req) EXCLUDES(mu_);
  // POST /logout: forgets the session and clears the cookie.
  HttpResponse Logout(const HttpRequest& req) EXCLUDES(mu_);

 private:
  bool Authenticated(const HttpRequest& req) const EXCLUDES(mu_);

  const AccessOptions options_;
  mutable Mutex mu_;
  std::set<std::string> sessions_ GUARDED_BY(mu_);
  std::deque<std::string> session_order_ GUARDED_BY(mu_);
};

// Compares in time independent of where they differ.
bool SecretsEqual(const std::string& a, const std::string& b);
// The value of cookie `name` in a Cookie header, or "".
std::string CookieValue(const std::string& header, const std::string& name);

}  // namespace spawn::gateway
