// Status helpers.
#include "ktune/base/Status.h"

#include <cstdio>
#include <cstdlib>

namespace kt {

const char *statusCodeName(StatusCode code) {
  switch (code) {
  case StatusCode::Ok:
    return "ok";
  case StatusCode::InvalidArgument:
    return "invalid-argument";
  case StatusCode::NotFound:
    return "not-found";
  case StatusCode::AlreadyExists:
    return "already-exists";
  case StatusCode::FailedPrecondition:
    return "failed-precondition";
  case StatusCode::Unavailable:
    return "unavailable";
  case StatusCode::Internal:
    return "internal";
  case StatusCode::Unimplemented:
    return "unimplemented";
  case StatusCode::DataLoss:
    return "data-loss";
  case StatusCode::Cancelled:
    return "cancelled";
  case StatusCode::DeadlineExceeded:
    return "deadline-exceeded";
  }
  return "unknown";
}

std::string Status::toString() const {
  if (isOk()) {
    return "ok";
  }
  return std::string(statusCodeName(code_)) + ": " + message_;
}

Status Status::withContext(const std::string &context) const {
  if (isOk()) {
    return *this;
  }
  return Status(code_, context + ": " + message_);
}

Status invalidArgument(std::string m) {
  return {StatusCode::InvalidArgument, std::move(m)};
}
Status notFound(std::string m) { return {StatusCode::NotFound, std::move(m)}; }
Status failedPrecondition(std::string m) {
  return {StatusCode::FailedPrecondition, std::move(m)};
}
Status unavailable(std::string m) {
  return {StatusCode::Unavailable, std::move(m)};
}
Status internalError(std::string m) {
  return {StatusCode::Internal, std::move(m)};
}
Status unimplemented(std::string m) {
  return {StatusCode::Unimplemented, std::move(m)};
}
Status dataLoss(std::string m) { return {StatusCode::DataLoss, std::move(m)}; }

void checkFailed(const char *cond, const char *msg, const char *file,
                 int line) {
  std::fprintf(stderr, "ktune internal error: %s (%s) at %s:%d\n", msg, cond,
               file, line);
  std::abort();
}

} // namespace kt
