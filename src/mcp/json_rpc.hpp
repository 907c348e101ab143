#pragma once
// JSON-RPC 2.0 message layer (https://www.jsonrpc.org/specification) as MCP uses it: ids are
// strings or integers, never null (MCP basic §Requests); params are objects; batches are not
// accepted (removed in MCP 2025-06-18). Pure functions, no I/O; thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

namespace taskman::mcp {

using Json = nlohmann::json;

namespace rpc {
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
// MCP-specific codes.
inline constexpr int kResourceNotFound = -32002;
inline constexpr int kRequestCancelled = -32800;
inline constexpr int kConnectionClosed = -32000;
}  // namespace rpc

struct RpcError {
  int code = rpc::kInternalError;
  std::string message;
  Json data;  // null: absent
};

enum class MessageKind { kRequest, kNotification, kResponse, kErrorResponse };

struct Message {
  MessageKind kind = MessageKind::kNotification;
  Json id;             // requests and responses: a string or an integer
  std::string method;  // requests and notifications
  Json params;         // object, or null when absent
  Json result;         // kResponse
  RpcError error;      // kErrorResponse
};

// Why a decoded JSON value is not an acceptable message, with the id when one could be
// recovered (the error response must carry it; JSON-RPC §5: null when it cannot be determined).
struct InvalidMessage {
  RpcError error;
  Json id;
};

// Decodes text into JSON; a parse error (-32700) on malformed input or invalid UTF-8.
std::variant<Json, RpcError> parse_json(std::string_view text);
// Classifies one JSON value. Arrays (batches) and anything that is not a well-formed request,
// notification or response are -32600.
std::variant<Message, InvalidMessage> to_message(const Json& value);

Json make_request(const Json& id, std::string_view method, Json params);
Json make_notification(std::string_view method, Json params);
Json make_result(const Json& id, Json result);
Json make_error(const Json& id, const RpcError& error);

// Compact serialization that never throws: invalid UTF-8 in strings becomes U+FFFD. The output
// has no raw newline, so it is safe as one stdio line or one SSE data field.
std::string serialize(const Json& value);

// A map key for an id (1 and "1" are different ids).
std::string id_key(const Json& id);
bool is_valid_id(const Json& id);

}  // namespace taskman::mcp
