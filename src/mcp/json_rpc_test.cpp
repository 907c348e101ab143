#include "mcp/json_rpc.hpp"

#include <gtest/gtest.h>

namespace taskman::mcp {
namespace {

Message must_parse(std::string_view text) {
  auto j = parse_json(text);
  EXPECT_TRUE(std::holds_alternative<Json>(j)) << text;
  auto m = to_message(std::get<Json>(j));
  EXPECT_TRUE(std::holds_alternative<Message>(m)) << text;
  return std::get<Message>(m);
}

InvalidMessage must_reject(std::string_view text) {
  auto j = parse_json(text);
  EXPECT_TRUE(std::holds_alternative<Json>(j)) << text;
  auto m = to_message(std::get<Json>(j));
  EXPECT_TRUE(std::holds_alternative<InvalidMessage>(m)) << text;
  return std::get<InvalidMessage>(m);
}

TEST(JsonRpc, ClassifiesRequestsNotificationsAndResponses) {
  auto r = must_parse(R"({"jsonrpc":"2.0","id":7,"method":"ping"})");
  EXPECT_EQ(r.kind, MessageKind::kRequest);
  EXPECT_EQ(r.id, 7);
  EXPECT_EQ(r.method, "ping");
  EXPECT_TRUE(r.params.is_null());

  auto s = must_parse(R"({"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"name":"x"}})");
  EXPECT_EQ(s.kind, MessageKind::kRequest);
  EXPECT_EQ(s.id, "abc");
  EXPECT_EQ(s.params["name"], "x");

  auto n = must_parse(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  EXPECT_EQ(n.kind, MessageKind::kNotification);

  auto ok = must_parse(R"({"jsonrpc":"2.0","id":1,"result":{"a":1}})");
  EXPECT_EQ(ok.kind, MessageKind::kResponse);
  EXPECT_EQ(ok.result["a"], 1);

  auto err = must_parse(R"({"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"no"}})");
  EXPECT_EQ(err.kind, MessageKind::kErrorResponse);
  EXPECT_EQ(err.error.code, -1);
  EXPECT_EQ(err.error.message, "no");
}

TEST(JsonRpc, MalformedTextIsParseError) {
  for (std::string_view text : {"{", "not json", "", "{\"a\":}", "\"\xff\""}) {
    auto j = parse_json(text);
    ASSERT_TRUE(std::holds_alternative<RpcError>(j)) << text;
    EXPECT_EQ(std::get<RpcError>(j).code, rpc::kParseError);
  }
}

// A body of a million '[' parsed fine but overflowed the I/O thread's stack when the params were
// copied, killing the server (found while fuzzing the JSON-RPC layer). Refused before parsing now.
TEST(JsonRpc, NestingDeeperThanTheLimitIsParseError) {
  const std::string deep = R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"a":)" +
                           std::string(500000, '[') + std::string(500000, ']') + "}}";
  auto j = parse_json(deep);
  ASSERT_TRUE(std::holds_alternative<RpcError>(j));
  EXPECT_EQ(std::get<RpcError>(j).code, rpc::kParseError);
  EXPECT_NE(std::get<RpcError>(j).message.find("nested deeper than 64"), std::string::npos);
  // 64 levels in all (the message object is the first) still parse; brackets inside strings do not count.
  const std::string ok = R"({"jsonrpc":"2.0","id":1,"method":"x","params":)" + std::string(63, '[') +
                         R"("[[[[{{{{")" + std::string(63, ']') + "}";
  EXPECT_TRUE(std::holds_alternative<Json>(parse_json(ok)));
}

TEST(JsonRpc, RejectsInvalidRequestsWithTheRecoverableId) {
  EXPECT_EQ(must_reject(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])").error.code, rpc::kInvalidRequest);
  EXPECT_EQ(must_reject("42").error.code, rpc::kInvalidRequest);
  auto no_version = must_reject(R"({"id":3,"method":"ping"})");
  EXPECT_EQ(no_version.error.code, rpc::kInvalidRequest);
  EXPECT_EQ(no_version.id, 3);
  EXPECT_EQ(must_reject(R"({"jsonrpc":"1.0","id":1,"method":"ping"})").error.code, rpc::kInvalidRequest);
  // MCP: request ids are strings or integers, never null (basic §Requests).
  auto null_id = must_reject(R"({"jsonrpc":"2.0","id":null,"method":"ping"})");
  EXPECT_EQ(null_id.error.code, rpc::kInvalidRequest);
  EXPECT_TRUE(null_id.id.is_null());
  EXPECT_EQ(must_reject(R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})").error.code, rpc::kInvalidRequest);
  EXPECT_EQ(must_reject(R"({"jsonrpc":"2.0","id":{},"method":"ping"})").error.code, rpc::kInvalidRequest);
  auto bad_method = must_reject(R"({"jsonrpc":"2.0","id":"x","method":5})");
  EXPECT_EQ(bad_method.id, "x");
  // Scalar params are the dispatcher's to refuse with -32602 (docs/mcp.md#errors), not an invalid request.
  EXPECT_EQ(must_parse(R"({"jsonrpc":"2.0","id":1,"method":"a","params":3})").params, 3);
  EXPECT_EQ(must_reject(R"({"jsonrpc":"2.0","id":1})").error.code, rpc::kInvalidRequest);
  EXPECT_EQ(must_reject(R"({"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1}})").error.code,
            rpc::kInvalidRequest);
}

TEST(JsonRpc, BuildsMessages) {
  EXPECT_EQ(serialize(make_result(1, Json::object())), R"({"id":1,"jsonrpc":"2.0","result":{}})");
  EXPECT_EQ(serialize(make_error(nullptr, RpcError{rpc::kParseError, "Parse error", {}})),
            R"({"error":{"code":-32700,"message":"Parse error"},"id":null,"jsonrpc":"2.0"})");
  EXPECT_EQ(serialize(make_notification("n", nullptr)), R"({"jsonrpc":"2.0","method":"n"})");
  EXPECT_EQ(serialize(make_request("r1", "m", Json{{"a", 1}})),
            R"({"id":"r1","jsonrpc":"2.0","method":"m","params":{"a":1}})");
}

TEST(JsonRpc, SerializeNeverThrowsAndHasNoNewline) {
  Json j = {{"text", std::string("bad \xff utf8\nline")}};
  std::string out;
  ASSERT_NO_THROW(out = serialize(j));
  EXPECT_EQ(out.find('\n'), std::string::npos);
  EXPECT_NE(out.find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD
}

TEST(JsonRpc, IdKeysDistinguishTypes) {
  EXPECT_NE(id_key(Json(1)), id_key(Json("1")));
  EXPECT_EQ(id_key(Json(1)), id_key(Json(1)));
}

}  // namespace
}  // namespace taskman::mcp
