#pragma once
// The per-request era (MCP 2026-07-28) as data rules, shared by the server and the transports:
// how a request is classified into an era, what its params._meta must carry, the era's error
// codes, and the fields every result of the era carries (resultType, cache hints, serverInfo).
// Pure functions; thread-safe.
#include <optional>
#include <string>
#include <string_view>

#include "mcp/json_rpc.hpp"
#include "mcp/revision.hpp"
#include "mcp/types.hpp"

namespace taskman::mcp::modern {

inline constexpr std::string_view kProtocolVersionKey = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view kClientCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view kClientInfoKey = "io.modelcontextprotocol/clientInfo";
inline constexpr std::string_view kLogLevelKey = "io.modelcontextprotocol/logLevel";
inline constexpr std::string_view kServerInfoKey = "io.modelcontextprotocol/serverInfo";
inline constexpr std::string_view kSubscriptionIdKey = "io.modelcontextprotocol/subscriptionId";

// Error codes of the era (all HTTP 400 on Streamable HTTP).
inline constexpr int kHeaderMismatch = -32020;
inline constexpr int kMissingRequiredClientCapability = -32021;
inline constexpr int kUnsupportedProtocolVersion = -32022;

// Whether a message claims the per-request era: a request or notification whose params._meta
// has the protocolVersion key (whatever its value; an unsupported one is answered -32022).
bool claims_modern(const Message& message);

// What a valid modern request's _meta says.
struct RequestMeta {
  const Revision* revision = nullptr;
  Json client_capabilities = Json::object();
  Json client_info;                   // null when absent (optional: never required)
  std::optional<LogLevel> log_level;  // set only when the request asked for log messages
};

// Checks params._meta of a modern request: missing _meta, protocolVersion or clientCapabilities is
// -32602; a version this server does not speak in that era is -32022 with data {supported, requested}.
std::variant<RequestMeta, RpcError> parse_request_meta(const Json& params);

// -32022 for `requested`, listing the per-request-era versions this server speaks.
RpcError unsupported_version(std::string_view requested);
// -32021 naming the capability the request needs (data.requiredCapabilities = {name: {}}).
RpcError missing_capability(std::string_view capability);

// Adds what every result of the era carries when the handler did not set it: resultType
// "complete", _meta serverInfo, and ttlMs/cacheScope on the cacheable methods.
void decorate_result(std::string_view method, Json& result, const Json& server_info);

// Whether `method`'s results carry cache hints (the list methods, resources/read, discover).
bool is_cacheable(std::string_view method);

}  // namespace taskman::mcp::modern
