// Status and StatusOr: how every library boundary of Portcullis reports failure.
//
// No exceptions cross a library boundary (the agent is built without them);
// third-party exceptions are caught in the adapter that calls the library and
// turned into a Status with a canonical code.
//
//   StatusOr<Config> cfg = LoadConfig(path);
//   if (!cfg.ok()) return cfg.status();
//   Use(*cfg);
#pragma once

#include <cstdlib>
#include <iosfwd>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace portcullis {

// Canonical codes (the gRPC/Abseil set we need). Each maps to one HTTP status
// in libs/http, so a domain function decides the code and handlers stay thin.
enum class StatusCode {
  kOk,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kUnauthenticated,
  kResourceExhausted,
  kFailedPrecondition,
  kDeadlineExceeded,
  kUnavailable,
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: PORTCULLIS_HTTP_LISTEN: missing port"
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>".
  Status WithContext(std::string_view context) const;

  // For kResourceExhausted and kUnavailable: when the caller may try again
  // (HTTP Retry-After). 0 means unknown.
  Status WithRetryAfter(int seconds) const;
  int retry_after_seconds() const { return retry_after_s_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  int retry_after_s_ = 0;
};

std::ostream& operator<<(std::ostream& os, const Status& status);
bool operator==(const Status& a, const Status& b);

inline Status OkStatus() {
  return Status();
}
inline Status InvalidArgumentError(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFoundError(std::string m) {
  return {StatusCode::kNotFound, std::move(m)};
}
inline Status AlreadyExistsError(std::string m) {
  return {StatusCode::kAlreadyExists, std::move(m)};
}
inline Status PermissionDeniedError(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status UnauthenticatedError(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status ResourceExhaustedError(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status FailedPreconditionError(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status DeadlineExceededError(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status UnavailableError(std::string m) {
  return {StatusCode::kUnavailable, std::move(m)};
}
inline Status InternalError(std::string m) {
  return {StatusCode::kInternal, std::move(m)};
}

// Terminates the process with a message: for states the program can't be in.
[[noreturn]] void Fatal(std::string_view message);

// A value or the Status that explains why there is none. Constructing it from
// an OK status is a programming error and terminates.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : data_(status) { CheckNotOk(); }  // NOLINT: implicit by design
  StatusOr(Status&& status) : data_(std::move(status)) { CheckNotOk(); }  // NOLINT
  template <typename U = T,
            typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                        !std::is_same_v<std::decay_t<U>, Status> &&
                                        !std::is_same_v<std::decay_t<U>, StatusOr<T>>>>
  StatusOr(U&& value) : data_(std::in_place_index<1>, std::forward<U>(value)) {}  // NOLINT

  bool ok() const { return data_.index() == 1; }
  Status status() const { return ok() ? OkStatus() : std::get<0>(data_); }

  const T& value() const& {
    CheckOk();
    return std::get<1>(data_);
  }
  T& value() & {
    CheckOk();
    return std::get<1>(data_);
  }
  T&& value() && {
    CheckOk();
    return std::get<1>(std::move(data_));
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  void CheckNotOk() const {
    if (std::get<0>(data_).ok()) Fatal("StatusOr constructed from an OK status");
  }
  void CheckOk() const {
    if (!ok()) Fatal("StatusOr::value() on an error: " + std::get<0>(data_).ToString());
  }

  std::variant<Status, T> data_;
};

}  // namespace portcullis

// Returns the status of `expr` from the enclosing function when it is not OK.
#define PORTCULLIS_RETURN_IF_ERROR(expr)                     \
  do {                                                       \
    ::portcullis::Status portcullis_status_ = (expr);        \
    if (!portcullis_status_.ok()) return portcullis_status_; \
  } while (false)

// Evaluates `expr` (a StatusOr): on error returns its status from the
// enclosing function, else assigns its value to `lhs`.
//   PORTCULLIS_ASSIGN_OR_RETURN(config.port, ParsePort(text));
#define PORTCULLIS_ASSIGN_OR_RETURN(lhs, expr) \
  PORTCULLIS_ASSIGN_OR_RETURN_IMPL_(PORTCULLIS_CONCAT_(portcullis_or_, __LINE__), lhs, expr)
#define PORTCULLIS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                      \
  if (!tmp.ok()) return std::move(tmp).status();          \
  lhs = std::move(tmp).value()
#define PORTCULLIS_CONCAT_(a, b) PORTCULLIS_CONCAT_INNER_(a, b)
#define PORTCULLIS_CONCAT_INNER_(a, b) a##b
