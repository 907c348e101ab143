#pragma once
// OpenTelemetry semantic conventions used by taskman's spans (OpenTelemetry "Semantic
// conventions"): span names built from bounded templates, never raw paths, and the status rules that
// differ between server and client spans. Helpers only; callers own their spans.
#include <string>
#include <string_view>

#include "tracing/tracer.hpp"

namespace taskman::tracing::semconv {

inline constexpr std::string_view kHttpRequestMethod = "http.request.method";
inline constexpr std::string_view kHttpRoute = "http.route";
inline constexpr std::string_view kHttpResponseStatusCode = "http.response.status_code";
inline constexpr std::string_view kHttpRequestResendCount = "http.request.resend_count";
inline constexpr std::string_view kUrlPath = "url.path";
inline constexpr std::string_view kUrlScheme = "url.scheme";
inline constexpr std::string_view kUrlFull = "url.full";
inline constexpr std::string_view kServerAddress = "server.address";
inline constexpr std::string_view kServerPort = "server.port";
inline constexpr std::string_view kErrorType = "error.type";
inline constexpr std::string_view kMcpMethodName = "mcp.method.name";
inline constexpr std::string_view kMcpSessionId = "mcp.session.id";
inline constexpr std::string_view kMcpProtocolVersion = "mcp.protocol.version";
inline constexpr std::string_view kMcpResourceUri = "mcp.resource.uri";
inline constexpr std::string_view kGenAiToolName = "gen_ai.tool.name";
inline constexpr std::string_view kGenAiOperationName = "gen_ai.operation.name";
inline constexpr std::string_view kJsonRpcRequestId = "jsonrpc.request.id";
inline constexpr std::string_view kNetworkTransport = "network.transport";
inline constexpr std::string_view kDbSystemName = "db.system.name";
inline constexpr std::string_view kDbOperationName = "db.operation.name";
inline constexpr std::string_view kDbCollectionName = "db.collection.name";
inline constexpr std::string_view kDbNamespace = "db.namespace";
inline constexpr std::string_view kRequestId =
    "taskman.request_id";  // docs/observability.md#spans: request id on every span

// "{method} {route}" ("GET /api/v1/tasks/{id}"), or "{method}" when no route matched (never the path).
std::string http_server_span_name(std::string_view method, std::string_view route);
// "{method}" or "{method} {url_template}".
std::string http_client_span_name(std::string_view method, std::string_view url_template = {});
// "{mcp.method.name} {target}" ("tools/call create_task"), or the method alone.
std::string mcp_span_name(std::string_view method, std::string_view target = {});
// "{db.operation.name} {target}" ("SELECT tasks").
std::string db_span_name(std::string_view operation, std::string_view target = {});

// Sets http.response.status_code; a server span is an error only on 5xx (error.type = the status).
void end_http_server_status(Span& span, int status);
// A client span is an error on 4xx and 5xx.
void end_http_client_status(Span& span, int status);
// A client attempt that got no response: error.type names the failure ("timeout", "connect", ...).
void set_transport_error(Span& span, std::string_view error_type, std::string_view message = {});

}  // namespace taskman::tracing::semconv
