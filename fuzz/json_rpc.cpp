// The JSON-RPC message layer: every line a client sends on stdio or POSTs to /mcp goes through
// parse_json and to_message first. Invariants: neither throws; a classified message has a valid id
// when it needs one; serialize() never throws and its output is one line that parses back.
#include <cstdint>
#include <string_view>
#include <variant>

#include "fuzz_check.hpp"
#include "mcp/json_rpc.hpp"

using namespace taskman::mcp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_json(text);
  if (auto* err = std::get_if<RpcError>(&parsed)) {
    FUZZ_CHECK(err->code == rpc::kParseError);
    FUZZ_CHECK(!err->message.empty());
    // The error response for it must serialize (the message may quote the input).
    const auto line = serialize(make_error(nullptr, *err));
    FUZZ_CHECK(line.find('\n') == std::string::npos);
    return 0;
  }
  const Json& value = std::get<Json>(parsed);
  const auto line = serialize(value);
  FUZZ_CHECK(line.find('\n') == std::string::npos);
  FUZZ_CHECK(std::holds_alternative<Json>(parse_json(line)));

  auto classified = to_message(value);
  if (auto* bad = std::get_if<InvalidMessage>(&classified)) {
    FUZZ_CHECK(bad->error.code == rpc::kInvalidRequest || bad->error.code == rpc::kInvalidParams);
    FUZZ_CHECK(bad->id.is_null() || is_valid_id(bad->id));
    const auto reply = serialize(make_error(bad->id, bad->error));
    FUZZ_CHECK(reply.find('\n') == std::string::npos);
    return 0;
  }
  const Message& msg = std::get<Message>(classified);
  switch (msg.kind) {
    case MessageKind::kRequest:
      FUZZ_CHECK(is_valid_id(msg.id));
      (void)id_key(msg.id);
      (void)serialize(make_result(msg.id, msg.params));
      break;
    case MessageKind::kNotification:
      FUZZ_CHECK(msg.id.is_null());
      (void)serialize(make_notification(msg.method, msg.params));
      break;
    case MessageKind::kResponse:
    case MessageKind::kErrorResponse:
      (void)id_key(msg.id);
      break;
  }
  return 0;
}
