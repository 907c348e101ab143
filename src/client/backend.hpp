#pragma once
// What the MCP side needs from the backend: one REST call at a time, answered asynchronously.
// The real implementation is BackendClient (resilient HTTP); unit tests of the tools script it.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/context.hpp"
#include "core/result.hpp"

namespace taskman::client {

struct RestCall {
  std::string method = "GET";
  std::string path;  // below the API base, e.g. "/tasks/abc" (segments already percent-encoded)
  std::vector<std::pair<std::string, std::string>> query;
  std::optional<nlohmann::json> body;
  std::optional<std::int64_t> if_match;  // sent as If-Match: "<version>"
  bool idempotency_key = false;          // POST: send a fresh Idempotency-Key so retries are safe
};

struct RestResult {
  int status = 0;
  nlohmann::json body;  // parsed JSON; null when there was none (204)
  bool stale = false;   // answered from the fallback cache
  std::int64_t age_ms = 0;
  std::string retry_hint;  // human text when the answer is stale ("backend unavailable: ...")
};

class Backend {
 public:
  virtual ~Backend() = default;
  // An HTTP answer of any status is a RestResult. No answer at all (connection failure after the
  // retries, deadline, open circuit, bulkhead full, a body that is not JSON) is an Error, kUnavailable
  // with retry_after_ms when known. `done` may run on any thread.
  virtual void call(const RequestContext& ctx, RestCall call, std::function<void(Result<RestResult>)> done) = 0;
};

// Percent-encodes one path segment (RFC 3986 unreserved characters stay).
inline std::string encode_segment(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

}  // namespace taskman::client
