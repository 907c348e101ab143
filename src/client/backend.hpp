#pragma once
// What the MCP side needs from the backend: one REST call at a time, answered asynchronously.
// The real implementation is BackendClient (resilient HTTP); unit tests of the tools script it.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
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
  std::string retry_hint;            // human text when the answer is stale ("backend unavailable: ...")
  int attempts = 1;                  // how many times the request was sent
  std::int64_t retry_after_ms = -1;  // the answer's Retry-After (429/503), -1 when it had none
};

// 429 and 502/503/504: what load balancers and gateways answer for an upstream that is down or
// overloaded, with any body (HTML, text, nothing). The status is the answer: retried, a breaker failure.
inline bool is_gateway_status(int status) { return status == 429 || (status >= 502 && status <= 504); }

// The standard reason phrase (RFC 9110 §15) of the statuses an agent may be told about; "" otherwise.
inline std::string_view reason_phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

// "HTTP 502 Bad Gateway" (or "HTTP 599" for a status without a phrase here).
inline std::string describe_status(int status) {
  const auto phrase = reason_phrase(status);
  return "HTTP " + std::to_string(status) + (phrase.empty() ? "" : " " + std::string(phrase));
}

// The MCP side's port to the task backend: one REST call in, one classified answer out. BackendClient is
// the real one (resilient HTTP); tests script their own.
class TaskBackend {
 public:
  virtual ~TaskBackend() = default;
  // An HTTP answer of any status is a RestResult, classified by its status before its body: a 429/5xx
  // body that is not JSON is dropped (body null), a 4xx body that is not JSON too unless it claims to
  // be JSON. No answer at all (connection failure after the retries, deadline, open circuit, bulkhead
  // full, a 2xx body -- or a 4xx body sent as JSON -- that is not JSON) is an Error, kUnavailable with
  // retry_after_ms when known. `done` may run on any thread.
  virtual void call(const RequestContext& ctx, RestCall call,
                    std::function<void(Result<RestResult>)> done) = 0;
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
