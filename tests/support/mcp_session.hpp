#pragma once
// A minimal MCP client over Streamable HTTP for black-box tests written in C++: initialize,
// then JSON-RPC requests whose answers may come as JSON or as an SSE stream.
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace taskman::testing {

class McpSession {
 public:
  // initialize + notifications/initialized; throws std::runtime_error on any failure.
  static McpSession open(int port, const std::string& token = {});
  // The JSON-RPC response object ({result} or {error}).
  nlohmann::json request(const std::string& method, const nlohmann::json& params);
  // The same, with extra HTTP headers on the POST (e.g. traceparent, X-Request-ID); they are added
  // after the session's own headers, so one of the same name replaces it.
  nlohmann::json request(const std::string& method, const nlohmann::json& params,
                         const std::map<std::string, std::string>& extra_headers);
  // The CallToolResult of tools/call (throws if the answer is a JSON-RPC error).
  nlohmann::json call_tool(const std::string& name, const nlohmann::json& arguments);
  nlohmann::json call_tool(const std::string& name, const nlohmann::json& arguments,
                           const std::map<std::string, std::string>& extra_headers);
  const std::string& id() const { return session_id_; }
  // The JSON-RPC id of the latest request (what a server-side span records as jsonrpc.request.id).
  int last_request_id() const { return next_id_ - 1; }

 private:
  int port_ = 0;
  std::string token_;
  std::string session_id_;
  int next_id_ = 1;
};

// The JSON-RPC message with `id` in a JSON or SSE (text/event-stream) body.
nlohmann::json find_rpc_response(const std::string& content_type, const std::string& body, int id);

}  // namespace taskman::testing
