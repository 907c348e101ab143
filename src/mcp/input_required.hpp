#pragma once
// Multi-round-trip requests (SEP-2322, MCP 2026-07-28): instead of sending the client a request,
// a handler of tools/call, prompts/get or resources/read answers `input_required` with the
// requests it needs answered and an opaque requestState; the client retries the same request with
// inputResponses and that state. The state comes back from the client, so it is sealed here:
// HMAC-SHA256 under a key drawn once per process, bound to the request it was issued for (method,
// tool/prompt name or uri, a hash of the arguments) and to an expiry. A state that fails either
// check is refused (-32602) before any handler sees it. Thread-safe.
#include <chrono>
#include <string>
#include <string_view>
#include <variant>

#include "mcp/json_rpc.hpp"

namespace taskman::mcp {

class CallContext;

// The methods that may answer input_required (mrtr §Supported requests).
bool may_require_input(std::string_view method);

// What a sealed state is bound to: "<method>\n<name or uri>\n<sha256 of the arguments, hex>".
std::string request_binding(std::string_view method, const Json& params);

// Seals `state` for the request `binding`, valid for `ttl` from `now_ms` (Unix ms).
std::string seal_request_state(const Json& state, std::string_view binding, std::chrono::milliseconds ttl,
                               long long now_ms);
// The state sealed in `token`, or -32602 naming why it is refused (malformed, tampered with,
// issued for another request, expired).
std::variant<Json, RpcError> open_request_state(std::string_view token, std::string_view binding,
                                                long long now_ms);

// {resultType: "input_required", inputRequests, requestState?}. `input_requests` maps keys to
// {method, params}; an empty state is left out.
Json input_required_result(Json input_requests, const std::string& request_state = {});
// An input request for the map above.
Json input_request(std::string_view method, Json params);

// The client's answer under `key` in the retried request's inputResponses, or null.
const Json* input_response(const CallContext& ctx, std::string_view key);

// Checks params.inputResponses (an object of objects when present) and opens params.requestState
// for the request; the opened state (null when none was sent) or the error to answer with.
std::variant<Json, RpcError> check_retry(std::string_view method, const Json& params, long long now_ms);

long long unix_ms_now();

}  // namespace taskman::mcp
