// healthCheck of deploy.yml: its validation, its http URL and its `expect` matcher, shared by the
// parser (spawnctl and spawnd) and spawnd's prober so both read a check the same way.
#include <regex.h>

#include "spawn/common/config.h"
#include "spawn/common/quoted.h"
#include "spawn/common/units.h"

namespace spawn {
namespace {

// A compiled POSIX extended regular expression, freed with its owner.
class Regex {
 public:
  explicit Regex(const std::string& pattern)
      : ok_(regcomp(&re_, pattern.c_str(), REG_EXTENDED | REG_NOSUB) == 0) {}
  ~Regex() {
    if (ok_) regfree(&re_);
  }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  bool ok() const { return ok_; }
  bool Matches(const std::string& text) const {
    return ok_ && regexec(&re_, text.c_str(), 0, nullptr, 0) == 0;
  }

 private:
  regex_t re_{};
  bool ok_;
};

}  // namespace

Result<HttpTarget> ParseHttpTarget(const std::string& url) {
  const std::string scheme = "http://";
  const auto bad = [&url](const std::string& why) {
    return Status::BadRequest(Quoted(url) + " is not an http URL (" + why +
                              "); expected http://127.0.0.1:PORT/path");
  };
  if (url.rfind(scheme, 0) != 0) return bad("it must start with http://");
  const std::string rest = url.substr(scheme.size());
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  HttpTarget target;
  if (slash != std::string::npos) target.path = rest.substr(slash);
  const size_t colon = authority.rfind(':');
  const std::string host = authority.substr(0, colon);
  if (host.empty()) return bad("no host");
  for (char c : url) {
    if (c <= ' ' || c == 0x7f) return bad("it has a space or a control character");
  }
  if (colon != std::string::npos) {
    const std::string port = authority.substr(colon + 1);
    int n = 0;
    bool digits = !port.empty() && port.size() <= 5;
    for (char c : port) {
      if (c < '0' || c > '9') digits = false;
      if (digits) n = n * 10 + (c - '0');
    }
    if (!digits || n < 1 || n > 65535) return bad("the port is not a number from 1 to 65535");
    target.port = n;
  }
  return target;
}

bool MatchesExtendedRegex(const std::string& pattern, const std::string& text) {
  return Regex(pattern).Matches(text);
}

Status ValidateHealthCheck(const HealthCheck& check) {
  const std::string key = "healthCheck";
  if (check.cmd.empty() == check.http.empty()) {
    return Status::BadRequest(
        key + ": " + (check.cmd.empty() ? "has neither cmd nor http" : "has both cmd and http") +
        "; expected exactly one of them, like cmd: [test, -f, /tmp/ok] or "
        "http: \"http://127.0.0.1:8080/health\"");
  }
  if (!check.http.empty()) {
    auto target = ParseHttpTarget(check.http);
    if (!target.ok()) return Status::BadRequest(key + ".http: " + target.status().message());
  }
  if (!check.expect.empty()) {
    if (check.http.empty()) {
      return Status::BadRequest(key + ".expect: " + Quoted(check.expect) +
                                " applies to an http check only; expected http with it");
    }
    if (!Regex(check.expect).ok()) {
      return Status::BadRequest(key + ".expect: " + Quoted(check.expect) +
                                " is not a valid regular expression; expected an extended "
                                "regular expression, like \"status\\\":\\\"ok\"");
    }
  }
  const auto positive = [&key](const char* name, Duration d) {
    if (d.count() > 0) return Status::Ok();
    return Status::BadRequest(key + "." + name + ": " + Quoted(FormatDuration(d)) +
                              " is too short; expected a positive duration, like 10s");
  };
  SPAWN_RETURN_IF_ERROR(positive("interval", check.interval));
  SPAWN_RETURN_IF_ERROR(positive("timeout", check.timeout));
  if (check.start_period.count() < 0) {
    return Status::BadRequest(key + ".startPeriod: " + Quoted(FormatDuration(check.start_period)) +
                              " is negative; expected 0s or more, like 30s");
  }
  if (check.retries < 1) {
    return Status::BadRequest(key + ".retries: " + Quoted(std::to_string(check.retries)) +
                              " is too small; expected at least 1, like 3");
  }
  return Status::Ok();
}

}  // namespace spawn
