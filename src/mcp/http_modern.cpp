// Streamable HTTP for the per-request era (MCP 2026-07-28, basic/transports/streamable-http):
// no session; the MCP-Protocol-Version, Mcp-Method and Mcp-Name headers must agree with the body;
// the era's request errors are HTTP 400, an unknown method 404, handler errors 200.
#include <utility>

#include "core/text.hpp"
#include "mcp/http_session.hpp"
#include "mcp/modern.hpp"

namespace taskman::mcp {
namespace {

constexpr std::string_view kMethodHeader = "Mcp-Method";
constexpr std::string_view kNameHeader = "Mcp-Name";

http::Response error_response(int status, const Json& id, RpcError error) {
  return http::Response::json(status, serialize(make_error(id, error)));
}

RpcError header_mismatch(std::string message) {
  return RpcError{modern::kHeaderMismatch, "Header mismatch: " + std::move(message), {}};
}

// The body value a request's Mcp-Name header must carry, or nullopt when the method has none.
std::optional<std::string> name_in_body(const Message& msg) {
  const char* key = nullptr;
  if (msg.method == "tools/call" || msg.method == "prompts/get") key = "name";
  if (msg.method == "resources/read") key = "uri";
  if (!key || !msg.params.is_object()) return std::nullopt;
  auto it = msg.params.find(key);
  if (it == msg.params.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// -32020 when a standard header disagrees with the body (or is missing where the body has the value).
std::optional<RpcError> check_headers(const http::Request& req, const Message& msg) {
  const Json& version = msg.params["_meta"][std::string(modern::kProtocolVersionKey)];
  const auto version_header = req.headers.get(kVersionHeader);
  const std::string body_version = version.is_string() ? version.get<std::string>() : std::string();
  if (!version_header || trim(*version_header) != body_version) {
    return header_mismatch("MCP-Protocol-Version header (" + std::string(version_header.value_or("absent")) +
                           ") must equal _meta " + std::string(modern::kProtocolVersionKey) + " (" +
                           body_version + ")");
  }
  if (msg.kind != MessageKind::kRequest) return std::nullopt;
  const auto method_header = req.headers.get(kMethodHeader);
  if (!method_header || trim(*method_header) != msg.method) {
    return header_mismatch("Mcp-Method header (" + std::string(method_header.value_or("absent")) +
                           ") must equal the method (" + msg.method + ")");
  }
  if (const auto name = name_in_body(msg)) {
    const auto name_header = req.headers.get(kNameHeader);
    if (!name_header || trim(*name_header) != *name) {
      return header_mismatch("Mcp-Name header (" + std::string(name_header.value_or("absent")) +
                             ") must equal the request's " +
                             (msg.method == "resources/read" ? "uri" : "name") + " (" + *name + ")");
    }
  }
  return std::nullopt;
}

}  // namespace

int modern_http_status(const Json& response) {
  if (!response.is_object() || !response.contains("error")) return 200;
  const Json& code = response["error"]["code"];
  if (!code.is_number_integer()) return 200;
  switch (code.get<int>()) {
    case rpc::kMethodNotFound:
      return 404;
    case modern::kHeaderMismatch:
    case modern::kMissingRequiredClientCapability:
    case modern::kUnsupportedProtocolVersion:
      return 400;
    default:
      return 200;
  }
}

bool HttpTransport::routes_to_modern(const http::Request& req, const Message& msg) {
  if (modern::claims_modern(msg)) return true;
  // A client that names a per-request-era revision in the header but not in the body sent a broken
  // request of that era, not a session-era one.
  if (msg.kind != MessageKind::kRequest || msg.method == "initialize" || req.headers.get(kSessionHeader))
    return false;
  const auto header = req.headers.get(kVersionHeader);
  return header && find_modern_revision(trim(*header)) != nullptr;
}

void HttpTransport::handle_modern_post(http::Request& req, Message msg, http::Responder responder) {
  if (!modern::claims_modern(msg)) {
    return responder.send(error_response(
        400, msg.id,
        RpcError{
            rpc::kInvalidParams,
            "Invalid params: params._meta[\"" + std::string(modern::kProtocolVersionKey) + "\"] is required",
            {}}));
  }
  if (auto mismatch = check_headers(req, msg)) return responder.send(error_response(400, msg.id, *mismatch));
  if (msg.kind != MessageKind::kRequest) {
    // Notifications of the era are accepted (cancellation here is closing the request's stream).
    server_.handle_modern(msg, nullptr, req.ctx);
    return responder.send(http::Response::empty(202));
  }
  auto meta = modern::parse_request_meta(msg.params);
  if (auto* error = std::get_if<RpcError>(&meta)) return responder.send(error_response(400, msg.id, *error));
  const Revision* revision = std::get<modern::RequestMeta>(meta).revision;
  // Nothing outlives the call: the exchange's HttpSession is only its stream's bookkeeping.
  auto hs = std::make_shared<HttpSession>();
  hs->resumable = false;
  auto exchange = std::make_shared<HttpExchange>(std::move(responder), hs, *revision,
                                                 std::chrono::milliseconds(0), nullptr);
  exchange->set_per_request_era(msg.method == "subscriptions/listen");
  server_.handle_modern(msg, std::move(std::get<modern::RequestMeta>(meta)), exchange, req.ctx);
}

}  // namespace taskman::mcp
