#include "core/result.hpp"

namespace taskman {

namespace {

// Every error code once: its wire name (problem type, MCP error data) and its HTTP status.
struct CodeInfo {
  ErrorCode code;
  const char* name;
  int status;
};
constexpr CodeInfo kCodes[] = {
    {ErrorCode::kInvalidArgument, "invalid_argument", 400},
    {ErrorCode::kUnauthorized, "unauthorized", 401},
    {ErrorCode::kNotFound, "not_found", 404},
    {ErrorCode::kConflict, "conflict", 409},
    {ErrorCode::kPreconditionFailed, "precondition_failed", 412},
    {ErrorCode::kPayloadTooLarge, "payload_too_large", 413},
    {ErrorCode::kUnsupportedMediaType, "unsupported_media_type", 415},
    {ErrorCode::kUnprocessable, "unprocessable", 422},
    {ErrorCode::kUnavailable, "unavailable", 503},
    {ErrorCode::kInternal, "internal", 500},
};

const CodeInfo& info(ErrorCode code) {
  for (const auto& c : kCodes) {
    if (c.code == code) return c;
  }
  return kCodes[sizeof kCodes / sizeof kCodes[0] - 1];  // kInternal
}

}  // namespace

int http_status(ErrorCode code) { return info(code).status; }

const char* error_code_name(ErrorCode code) { return info(code).name; }

}  // namespace taskman
