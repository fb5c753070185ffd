#include "portcullis/common/status.h"

#include <cstdio>
#include <ostream>

namespace portcullis {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid_argument";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kAlreadyExists:
      return "already_exists";
    case StatusCode::kPermissionDenied:
      return "permission_denied";
    case StatusCode::kUnauthenticated:
      return "unauthenticated";
    case StatusCode::kResourceExhausted:
      return "resource_exhausted";
    case StatusCode::kFailedPrecondition:
      return "failed_precondition";
    case StatusCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kInternal:
      return "internal";
  }
  Fatal("unknown StatusCode");
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(StatusCodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  Status s(code_, std::move(m));
  s.retry_after_s_ = retry_after_s_;
  return s;
}

Status Status::WithRetryAfter(int seconds) const {
  Status s = *this;
  s.retry_after_s_ = seconds;
  return s;
}

std::ostream& operator<<(std::ostream& os, const Status& status) {
  return os << status.ToString();
}

bool operator==(const Status& a, const Status& b) {
  return a.code() == b.code() && a.message() == b.message();
}

void Fatal(std::string_view message) {
  std::fprintf(stderr, "portcullis: fatal: %.*s\n", static_cast<int>(message.size()),
               message.data());
  std::abort();
}

}  // namespace portcullis
