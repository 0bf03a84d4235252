#include "spawn/gateway/access.h"

#include <sys/random.h>

#include <nlohmann/json.hpp>

namespace spawn::gateway {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// 256 random bits as hex, from the kernel's generator.
std::string NewSessionId() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The host part of a Host header ("127.0.0.1:8080" -> "127.0.0.1", "[::1]:80" -> "::1").
std::string HostName(const std::string& host) {
  if (!host.empty() && host[0] == '[') {
    const size_t end = host.find(']');
    return end == std::string::npos ? host : host.substr(1, end - 1);
  }
  return host.substr(0, host.find(':'));
}

// The token a /login body carries, in any of the forms it accepts.
std::string TokenOf(const HttpRequest& req) {
  const std::string type = req.Header("content-type");
  if (type.starts_with("application/json")) {
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (j.is_object() && j.contains("token") && j["token"].is_string())
      return j["token"].get<std::string>();
    return "";
  }
  if (type.starts_with("application/x-www-form-urlencoded")) {
    size_t start = 0;
    while (start <= req.body.size()) {
      size_t end = req.body.find('&', start);
      if (end == std::string::npos) end = req.body.size();
      const std::string pair = req.body.substr(start, end - start);
      if (pair.starts_with("token=")) return PercentDecode(pair.substr(6));
      start = end + 1;
    }
    return "";
  }
  return Trim(req.body);
}

}  // namespace

HttpResponse ErrorResponse(int status, const std::string& message) {
  HttpResponse r;
  r.status = status;
  r.body = nlohmann::json{{"Code", status}, {"Message", message}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

bool SecretsEqual(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ (b.empty() ? 0 : b[i % b.size()]));
  return diff == 0;
}

std::string CookieValue(const std::string& header, const std::string& name) {
  size_t start = 0;
  while (start < header.size()) {
    size_t end = header.find(';', start);
    if (end == std::string::npos) end = header.size();
    std::string pair = Trim(header.substr(start, end - start));
    if (pair.size() > name.size() && pair.compare(0, name.size(), name) == 0 &&
        pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
    start = end + 1;
  }
  return "";
}

bool AccessPolicy::Authenticated(const HttpRequest& req) const {
  if (options_.token.empty()) return true;
  const std::string auth = req.Header("authorization");
  if (auth.starts_with("Bearer ")) return SecretsEqual(Trim(auth.substr(7)), options_.token);
  const std::string session = CookieValue(req.Header("cookie"), kCookie);
  if (session.empty()) return false;
  MutexLock lock(mu_);
  return sessions_.count(session) > 0;
}

std::optional<HttpResponse> AccessPolicy::Check(const HttpRequest& req, bool needs_auth,
                                                bool changes, bool command) const {
  const std::string host = req.Header("host");
  if (options_.loopback) {
    const std::string name = HostName(host);
    if (name != "localhost" && name != "127.0.0.1" && name != "::1") {
      return ErrorResponse(400, "Host \"" + host +
                                    "\" is not this gateway's: on a loopback address it answers "
                                    "to localhost, 127.0.0.1 and [::1] only");
    }
  }
  if (changes) {
    const std::string origin = req.Header("origin");
    if (!origin.empty() && origin != "http://" + host && origin != "https://" + host) {
      return ErrorResponse(403, "cross-origin request refused: Origin " + origin +
                                    " is not this gateway (" + host + ")");
    }
    if (req.Header("sec-fetch-site") == "cross-site")
      return ErrorResponse(403, "cross-site request refused");
  }
  if (needs_auth && !Authenticated(req)) {
    return ErrorResponse(401,
                         "this gateway needs its token: send \"Authorization: Bearer <token>\" "
                         "or log in with POST /login");
  }
  if (command && options_.read_only) {
    return ErrorResponse(403,
                         "the gateway is read-only (spawnctl serve --read-only): it refuses "
                         "commands");
  }
  return std::nullopt;
}

HttpResponse AccessPolicy::Login(const HttpRequest& req) {
  if (auto refused = Check(req, false, true, false)) return *refused;
  if (options_.token.empty()) return ErrorResponse(200, "no token needed");
  if (!SecretsEqual(TokenOf(req), options_.token)) return ErrorResponse(401, "wrong token");
  const std::string id = NewSessionId();
  {
    MutexLock lock(mu_);
    sessions_.insert(id);
    session_order_.push_back(id);
    while (session_order_.size() > options_.max_sessions) {
      sessions_.erase(session_order_.front());
      session_order_.pop_front();
    }
  }
  HttpResponse r = ErrorResponse(200, "logged in");
  r.headers.emplace_back("Set-Cookie",
                         std::string(kCookie) + "=" + id + "; Path=/; HttpOnly; SameSite=Strict");
  return r;
}

HttpResponse AccessPolicy::Logout(const HttpRequest& req) {
  if (auto refused = Check(req, false, true, false)) return *refused;
  const std::string session = CookieValue(req.Header("cookie"), kCookie);
  {
    MutexLock lock(mu_);
    sessions_.erase(session);
    std::erase(session_order_, session);
  }
  HttpResponse r = ErrorResponse(200, "logged out");
  r.headers.emplace_back("Set-Cookie",
                         std::string(kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  return r;
}

}  // namespace spawn::gateway
