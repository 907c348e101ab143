#include "mcp/json_rpc.hpp"

#include "core/text.hpp"

namespace taskman::mcp {

std::variant<Json, RpcError> parse_json(std::string_view text) {
  if (json_nesting_exceeds(text)) {
    return RpcError{rpc::kParseError,
                    "Parse error: JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels",
                    {}};
  }
  Json value = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return RpcError{rpc::kParseError, "Parse error: the body is not valid JSON", {}};
  return value;
}

bool is_valid_id(const Json& id) { return id.is_string() || id.is_number_integer(); }

std::string id_key(const Json& id) {
  return id.is_string() ? "s:" + id.get<std::string>() : "n:" + id.dump();
}

std::variant<Message, InvalidMessage> to_message(const Json& value) {
  auto invalid = [](std::string why, Json id = nullptr) {
    return InvalidMessage{RpcError{rpc::kInvalidRequest, "Invalid Request: " + std::move(why), {}},
                          std::move(id)};
  };
  if (value.is_array()) return invalid("batches are not supported");
  if (!value.is_object()) return invalid("a message must be a JSON object");
  Json id = nullptr;
  const auto id_it = value.find("id");
  const bool has_id = id_it != value.end();
  if (has_id && is_valid_id(*id_it)) id = *id_it;
  const auto version = value.find("jsonrpc");
  if (version == value.end() || *version != "2.0") return invalid("\"jsonrpc\" must be \"2.0\"", id);

  Message msg;
  const auto method = value.find("method");
  if (method != value.end()) {
    if (!method->is_string()) return invalid("\"method\" must be a string", id);
    msg.method = method->get<std::string>();
    const auto params = value.find("params");
    // Any params value is carried to the dispatcher, which answers params that are not an object
    // with -32602 naming them (docs/mcp.md#errors), rather than calling the whole request invalid.
    if (params != value.end()) msg.params = *params;
    if (!has_id) {
      msg.kind = MessageKind::kNotification;
      return msg;
    }
    if (id.is_null()) return invalid("\"id\" must be a string or an integer", nullptr);
    msg.kind = MessageKind::kRequest;
    msg.id = std::move(id);
    return msg;
  }

  const auto result = value.find("result");
  const auto error = value.find("error");
  if ((result == value.end()) == (error == value.end())) {
    return invalid("a response carries exactly one of \"result\" and \"error\"", id);
  }
  if (id.is_null()) return invalid("a response \"id\" must be a string or an integer");
  msg.id = std::move(id);
  if (result != value.end()) {
    msg.kind = MessageKind::kResponse;
    msg.result = *result;
    return msg;
  }
  if (!error->is_object() || !error->contains("code") || !(*error)["code"].is_number_integer()) {
    return invalid("\"error\" must be an object with an integer \"code\"", msg.id);
  }
  msg.kind = MessageKind::kErrorResponse;
  msg.error.code = (*error)["code"].get<int>();
  msg.error.message = error->value("message", Json("")).is_string() ? error->value("message", "") : "";
  msg.error.data = error->value("data", Json());
  return msg;
}

Json make_request(const Json& id, std::string_view method, Json params) {
  Json j = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) j["params"] = std::move(params);
  return j;
}

Json make_notification(std::string_view method, Json params) {
  Json j = {{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) j["params"] = std::move(params);
  return j;
}

Json make_result(const Json& id, Json result) {
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

Json make_error(const Json& id, const RpcError& error) {
  Json err = {{"code", error.code}, {"message", error.message}};
  if (!error.data.is_null()) err["data"] = error.data;
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(err)}};
}

std::string serialize(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace taskman::mcp
