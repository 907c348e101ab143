#include "support/mcp_session.hpp"

#include <stdexcept>

#include "support/process.hpp"

namespace taskman::testing {

using Json = nlohmann::json;

Json find_rpc_response(const std::string& content_type, const std::string& body, int id) {
  if (content_type.find("text/event-stream") == std::string::npos) return Json::parse(body);
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto eol = body.find('\n', pos);
    if (eol == std::string::npos) eol = body.size();
    const std::string line = body.substr(pos, eol - pos);
    if (line.rfind("data:", 0) == 0) {
      auto j = Json::parse(line.substr(5), nullptr, false);
      if (j.is_object() && j.contains("id") && j["id"] == id) return j;
    }
    pos = eol + 1;
  }
  throw std::runtime_error("no JSON-RPC response with id " + std::to_string(id) + " in: " + body);
}

namespace {

std::map<std::string, std::string> headers_for(const std::string& session, const std::string& token) {
  std::map<std::string, std::string> h = {{"Content-Type", "application/json"},
                                          {"Accept", "application/json, text/event-stream"}};
  if (!session.empty()) {
    h["Mcp-Session-Id"] = session;
    h["MCP-Protocol-Version"] = "2025-11-25";
  }
  if (!token.empty()) h["Authorization"] = "Bearer " + token;
  return h;
}

}  // namespace

McpSession McpSession::open(int port, const std::string& token) {
  McpSession s;
  s.port_ = port;
  s.token_ = token;
  Json init = {{"jsonrpc", "2.0"},
               {"id", 0},
               {"method", "initialize"},
               {"params",
                {{"protocolVersion", "2025-11-25"},
                 {"capabilities", Json::object()},
                 {"clientInfo", {{"name", "blackbox-test"}, {"version", "1"}}}}}};
  auto r = http(port, "POST", "/mcp", headers_for("", token), init.dump());
  if (r.status != 200)
    throw std::runtime_error("initialize: HTTP " + std::to_string(r.status) + " " + r.body);
  s.session_id_ = r.headers["mcp-session-id"];
  auto n = http(port, "POST", "/mcp", headers_for(s.session_id_, token),
                R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  if (n.status != 202)
    throw std::runtime_error("notifications/initialized: HTTP " + std::to_string(n.status));
  return s;
}

Json McpSession::request(const std::string& method, const Json& params) {
  return request(method, params, {});
}

Json McpSession::request(const std::string& method, const Json& params,
                         const std::map<std::string, std::string>& extra_headers) {
  const int id = next_id_++;
  Json req = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
  auto headers = headers_for(session_id_, token_);
  for (const auto& [k, v] : extra_headers) headers[k] = v;
  auto r = http(port_, "POST", "/mcp", headers, req.dump());
  if (r.status != 200) throw std::runtime_error(method + ": HTTP " + std::to_string(r.status) + " " + r.body);
  return find_rpc_response(r.headers["content-type"], r.body, id);
}

Json McpSession::call_tool(const std::string& name, const Json& arguments) {
  return call_tool(name, arguments, {});
}

Json McpSession::call_tool(const std::string& name, const Json& arguments,
                           const std::map<std::string, std::string>& extra_headers) {
  auto r = request("tools/call", {{"name", name}, {"arguments", arguments}}, extra_headers);
  if (!r.contains("result")) throw std::runtime_error("tools/call " + name + ": " + r.dump());
  return r["result"];
}

}  // namespace taskman::testing
