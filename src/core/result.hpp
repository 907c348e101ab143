#pragma once
// Expected failures are values: Result<T> holds either a T or an Error fit to show a user.
// One error taxonomy serves both surfaces (REST status codes, MCP isError results).
#include <cassert>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace taskman {

enum class ErrorCode {
  kInvalidArgument,       // 400: malformed or invalid input; names the field
  kUnsupportedMediaType,  // 415
  kPayloadTooLarge,       // 413
  kUnauthorized,          // 401
  kNotFound,              // 404
  kConflict,              // 409: state conflict, in-flight duplicate
  kPreconditionFailed,    // 412: version mismatch
  kUnprocessable,         // 422: semantically invalid (cycle, dangling reference, key reuse)
  kUnavailable,           // 503: upstream or dependency down; carries a retry hint
  kInternal,              // 500: a broken invariant
};

struct FieldError {
  std::string field;
  std::string message;
  bool operator==(const FieldError&) const = default;
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  std::vector<FieldError> fields;
  long retry_after_ms = -1;  // >= 0 when the caller should retry after this long

  static Error invalid(std::string field, std::string message) {
    std::string summary = field + ": " + message;
    return Error{ErrorCode::kInvalidArgument, std::move(summary), {{std::move(field), std::move(message)}}};
  }
  static Error make(ErrorCode code, std::string message) { return Error{code, std::move(message), {}}; }
};

// Collects every field problem of one input, then becomes one Error naming them all
// ("title: too long; priority: must be one of ...").
class FieldErrors {
 public:
  explicit FieldErrors(ErrorCode code = ErrorCode::kInvalidArgument) : code_(code) {}
  void add(std::string field, std::string message) {
    list_.push_back({std::move(field), std::move(message)});
  }
  bool empty() const { return list_.empty(); }
  Error to_error() && {
    std::string summary;
    for (const auto& f : list_) summary += (summary.empty() ? "" : "; ") + f.field + ": " + f.message;
    return Error{code_, std::move(summary), std::move(list_)};
  }

 private:
  ErrorCode code_;
  std::vector<FieldError> list_;
};

// HTTP status for an error code (RFC 9110 semantics).
int http_status(ErrorCode code);
// Stable machine-readable name ("invalid_argument", "not_found", ...).
const char* error_code_name(ErrorCode code);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  Error&& take_error() {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }
  Error&& take_error() {
    assert(!ok_);
    return std::move(error_);
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace taskman
