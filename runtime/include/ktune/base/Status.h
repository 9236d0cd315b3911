// Status and Result<T>: errors as values, shaped like std::expected.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace kt {

/// Canonical error codes (a subset of absl/gRPC codes).
enum class StatusCode {
  Ok = 0,
  InvalidArgument,
  NotFound,
  AlreadyExists,
  FailedPrecondition,
  Unavailable,
  Internal,
  Unimplemented,
  DataLoss,
  Cancelled,
  DeadlineExceeded,
};

/// Returns a stable lowercase name such as "invalid-argument".
const char *statusCodeName(StatusCode code);

/// An error code and a message that says what failed, with which input, and
/// what to do. Cheap to copy when ok. Thread-compatible.
class [[nodiscard]] Status {
public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool isOk() const { return code_ == StatusCode::Ok; }
  explicit operator bool() const { return isOk(); }
  StatusCode code() const { return code_; }
  const std::string &message() const { return message_; }
  /// "invalid-argument: message".
  std::string toString() const;
  /// Prefixes the message with context ("while X: ").
  Status withContext(const std::string &context) const;

private:
  StatusCode code_ = StatusCode::Ok;
  std::string message_;
};

Status invalidArgument(std::string message);
Status notFound(std::string message);
Status failedPrecondition(std::string message);
Status unavailable(std::string message);
Status internalError(std::string message);
Status unimplemented(std::string message);
Status dataLoss(std::string message);

/// A value or an error Status. Accessing the value of an error is a bug.
template <typename T> class [[nodiscard]] Result {
public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status status) : v_(std::move(status)) {
    assert(!std::get<Status>(v_).isOk() && "Result from an ok Status");
  }

  bool isOk() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return isOk(); }
  const Status &status() const {
    static const Status okStatus;
    return isOk() ? okStatus : std::get<Status>(v_);
  }
  T &value() & {
    assert(isOk());
    return std::get<T>(v_);
  }
  const T &value() const & {
    assert(isOk());
    return std::get<T>(v_);
  }
  T &&value() && {
    assert(isOk());
    return std::get<T>(std::move(v_));
  }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }
  T &operator*() & { return value(); }
  const T &operator*() const & { return value(); }

private:
  std::variant<T, Status> v_;
};

} // namespace kt

#define KT_CONCAT_INNER(a, b) a##b
#define KT_CONCAT(a, b) KT_CONCAT_INNER(a, b)

/// Returns the Status from the enclosing function if `expr` is an error.
#define KT_RETURN_IF_ERROR(expr)                                               \
  do {                                                                         \
    ::kt::Status ktStatusTmp = (expr);                                         \
    if (!ktStatusTmp.isOk()) {                                                 \
      return ktStatusTmp;                                                      \
    }                                                                          \
  } while (false)

#define KT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)                               \
  auto tmp = (expr);                                                           \
  if (!tmp.isOk()) {                                                           \
    return tmp.status();                                                       \
  }                                                                            \
  lhs = std::move(tmp).value()

/// `KT_ASSIGN_OR_RETURN(auto x, f());` binds the value or returns the error.
#define KT_ASSIGN_OR_RETURN(lhs, expr)                                         \
  KT_ASSIGN_OR_RETURN_IMPL(KT_CONCAT(ktResultTmp, __LINE__), lhs, expr)

/// Aborts with a message: for programmer bugs only, never for user input.
#define KT_CHECK(cond, msg)                                                    \
  do {                                                                         \
    if (!(cond)) {                                                             \
      ::kt::checkFailed(#cond, msg, __FILE__, __LINE__);                       \
    }                                                                          \
  } while (false)

namespace kt {
[[noreturn]] void checkFailed(const char *cond, const char *msg,
                              const char *file, int line);
} // namespace kt
