// Status and Result<T>: how errors cross component boundaries in spawnpoint.
//
// A Status is either ok or carries a Code (HTTP-like, because the same codes travel on the bus in
// replies: 400 bad input, 403 not allowed, 404 not found, 409 conflict, 503 insufficient resources,
// 500 internal, 504 timed out) and a message a person can act on. Result<T> holds a value or a
// non-ok Status. Both are cheap to copy and thread-compatible (not internally synchronised).
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace spawn {

enum class Code : int {
  kOk = 200,
  kBadRequest = 400,
  kForbidden = 403,
  kNotFound = 404,
  kConflict = 409,
  kInternal = 500,
  kInsufficientStorage = 507,  // the disk budget (diskAlloc) cannot hold it
  kUnavailable = 503,  // insufficient resources, or a dependency (engine, broker) not reachable
  kTimeout = 504,
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status BadRequest(std::string m) { return {Code::kBadRequest, std::move(m)}; }
  static Status Forbidden(std::string m) { return {Code::kForbidden, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Timeout(std::string m) { return {Code::kTimeout, std::move(m)}; }
  static Status InsufficientStorage(std::string m) {
    return {Code::kInsufficientStorage, std::move(m)};
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  int http_code() const { return static_cast<int>(code_); }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "<context>: <message>", same code.
  Status WithContext(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + message_);
  }
  // "[ERROR 409] message" for non-ok, "OK" otherwise: the form used in daemon log lines.
  std::string ToString() const {
    return ok() ? "OK" : "[ERROR " + std::to_string(http_code()) + "] " + message_;
  }
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result needs a value or an error");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The error; Status::Ok() when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  T value_or(T fallback) const { return ok() ? std::get<T>(v_) : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace spawn

// Propagates a non-ok Status from an expression returning Status.
#define SPAWN_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::spawn::Status spawn_status_ = (expr);        \
    if (!spawn_status_.ok()) return spawn_status_; \
  } while (0)
