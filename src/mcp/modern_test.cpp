// The per-request era (2026-07-28) in the server and over stdio, beside the session era.
#include "mcp/modern.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "mcp/input_required.hpp"
#include "mcp/server.hpp"
#include "mcp/stdio_transport.hpp"

namespace taskman::mcp {
namespace {

Tool named_tool(std::string name) {
  Tool t;
  t.name = std::move(name);
  return t;
}

struct Recorder : Exchange {
  void send_related(const Json& m) override { related.push_back(m); }
  void finish(std::optional<Json> r) override { response = std::move(r); }
  std::vector<Json> related;
  std::optional<Json> response;
};

Json meta(Json caps = Json::object(), std::string version = "2026-07-28") {
  return Json{{"io.modelcontextprotocol/protocolVersion", version},
              {"io.modelcontextprotocol/clientCapabilities", std::move(caps)}};
}

Message request(Json id, const std::string& method, Json params) {
  return std::get<Message>(to_message(make_request(id, method, std::move(params))));
}

class ModernServerTest : public ::testing::Test {
 protected:
  ModernServerTest() : server_(options()) {
    server_.add_tool(named_tool("echo"), [](CallPtr ctx, Json args, Reply<Json> reply) {
      ctx->log(LogLevel::kInfo, "echoing");
      ctx->progress(1, 1);
      reply(tool_result(Json::array({text_content(args.dump())})));
    });
    server_.add_tool(named_tool("ask"), [](CallPtr ctx, Json, Reply<Json> reply) {
      if (!ctx->client_declared("elicitation"))
        return ctx->reply_error(modern::missing_capability("elicitation"));
      if (const Json* answer = input_response(*ctx, "q")) {
        return reply(tool_result(Json::array(
            {text_content("state=" + ctx->request_state().dump() + " answer=" + answer->dump())})));
      }
      reply(input_required_result(Json{{"q", input_request("elicitation/create", {{"message", "?"}})}},
                                  ctx->seal_state(Json{{"n", 1}})));
    });
    Resource r;
    r.uri = "test://r";
    r.name = "r";
    server_.add_resource(r, [](CallPtr, std::string uri, Reply<Json> reply) {
      reply(Json::array({{{"uri", uri}, {"text", "x"}}}));
    });
  }
  static ServerOptions options() {
    ServerOptions o;
    o.info = {"srv", "1.2.3", ""};
    return o;
  }
  std::shared_ptr<Recorder> call(const Message& m) {
    auto ex = std::make_shared<Recorder>();
    server_.handle_modern(m, ex);
    return ex;
  }
  Json answer(Json id, const std::string& method, Json params) {
    return call(request(std::move(id), method, std::move(params)))->response.value_or(Json());
  }
  Server server_;
};

TEST(ModernClassification, TheBodysMetaKeyDecides) {
  EXPECT_TRUE(modern::claims_modern(request(1, "tools/list", {{"_meta", meta()}})));
  EXPECT_TRUE(
      modern::claims_modern(request(1, "tools/list", {{"_meta", meta(Json::object(), "1999-01-01")}})));
  EXPECT_FALSE(modern::claims_modern(request(1, "initialize", {{"protocolVersion", "2025-11-25"}})));
  EXPECT_FALSE(modern::claims_modern(request(1, "tools/list", {{"_meta", {{"progressToken", 1}}}})));
}

TEST_F(ModernServerTest, MetaMustNameASupportedVersionAndCapabilities) {
  EXPECT_EQ(answer(1, "tools/list", Json::object())["error"]["code"], rpc::kInvalidParams);
  Json no_caps = {{"_meta", {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"}}}};
  EXPECT_EQ(answer(2, "tools/list", no_caps)["error"]["code"], rpc::kInvalidParams);
  const Json r = answer(3, "tools/list", {{"_meta", meta(Json::object(), "2025-11-25")}});
  EXPECT_EQ(r["id"], 3);
  EXPECT_EQ(r["error"]["code"], modern::kUnsupportedProtocolVersion);
  EXPECT_EQ(r["error"]["data"]["supported"], Json::array({"2026-07-28"}));
  EXPECT_EQ(r["error"]["data"]["requested"], "2025-11-25");
  EXPECT_EQ(server_.session_count(), 0u);
}

TEST_F(ModernServerTest, DiscoverDescribesTheServerWithCacheHints) {
  const Json r = answer(1, "server/discover", {{"_meta", meta()}})["result"];
  EXPECT_EQ(r["resultType"], "complete");
  EXPECT_EQ(r["supportedVersions"], Json::array({"2026-07-28"}));
  EXPECT_TRUE(r["capabilities"].contains("tools"));
  EXPECT_FALSE(r["capabilities"].contains("logging"));  // no logging/setLevel in this era
  EXPECT_EQ(r["ttlMs"], 0);
  EXPECT_EQ(r["cacheScope"], "public");
  EXPECT_EQ(r["_meta"]["io.modelcontextprotocol/serverInfo"], Json({{"name", "srv"}, {"version", "1.2.3"}}));
}

TEST_F(ModernServerTest, EveryResultHasResultTypeAndOnlyCacheableOnesHaveHints) {
  const Json list = answer(1, "tools/list", {{"_meta", meta()}})["result"];
  EXPECT_EQ(list["resultType"], "complete");
  EXPECT_EQ(list["cacheScope"], "public");
  const Json read = answer(2, "resources/read", {{"_meta", meta()}, {"uri", "test://r"}})["result"];
  EXPECT_EQ(read["cacheScope"], "private");
  EXPECT_EQ(read["ttlMs"], 0);
  const Json tool = answer(3, "tools/call", {{"_meta", meta()}, {"name", "echo"}})["result"];
  EXPECT_EQ(tool["resultType"], "complete");
  EXPECT_FALSE(tool.contains("ttlMs"));
  EXPECT_EQ(tool["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "srv");
  // SEP-2164: an unknown resource is -32602 with the uri.
  const Json missing = answer(4, "resources/read", {{"_meta", meta()}, {"uri", "test://none"}});
  EXPECT_EQ(missing["error"]["code"], rpc::kInvalidParams);
  EXPECT_EQ(missing["error"]["data"]["uri"], "test://none");
}

TEST_F(ModernServerTest, RemovedMethodsDoNotExist) {
  for (const char* m : {"initialize", "ping", "logging/setLevel", "resources/subscribe", "nope"})
    EXPECT_EQ(answer(1, m, {{"_meta", meta()}})["error"]["code"], rpc::kMethodNotFound) << m;
}

TEST_F(ModernServerTest, LogMessagesOnlyWhenTheRequestAskedProgressAlways) {
  Json params = {{"_meta", meta()}, {"name", "echo"}};
  params["_meta"]["progressToken"] = "p";
  auto quiet = call(request(1, "tools/call", params));
  ASSERT_EQ(quiet->related.size(), 1u);
  EXPECT_EQ(quiet->related[0]["method"], "notifications/progress");
  params["_meta"]["io.modelcontextprotocol/logLevel"] = "info";
  auto chatty = call(request(2, "tools/call", params));
  ASSERT_EQ(chatty->related.size(), 2u);
  EXPECT_EQ(chatty->related[0]["method"], "notifications/message");
  params["_meta"]["io.modelcontextprotocol/logLevel"] = "loud";
  EXPECT_EQ(call(request(3, "tools/call", params))->response.value()["error"]["code"], rpc::kInvalidParams);
}

TEST_F(ModernServerTest, InputRequiredRoundTripWithASealedState) {
  Json params = {
      {"_meta", meta({{"elicitation", Json::object()}})}, {"name", "ask"}, {"arguments", {{"a", 1}}}};
  const Json first = answer(1, "tools/call", params)["result"];
  ASSERT_EQ(first["resultType"], "input_required") << first;
  EXPECT_EQ(first["inputRequests"]["q"]["method"], "elicitation/create");
  const std::string state = first["requestState"];
  params["inputResponses"] = {{"q", {{"action", "accept"}}}};
  params["requestState"] = state;
  const Json second = answer(2, "tools/call", params)["result"];
  EXPECT_EQ(second["resultType"], "complete");
  EXPECT_EQ(second["content"][0]["text"], R"(state={"n":1} answer={"action":"accept"})");
  // Altered, issued for other arguments, or not an object answer: refused before the tool runs.
  params["requestState"] = state + "x";
  EXPECT_EQ(answer(3, "tools/call", params)["error"]["code"], rpc::kInvalidParams);
  params["requestState"] = state;
  params["arguments"]["a"] = 2;
  EXPECT_EQ(answer(4, "tools/call", params)["error"]["code"], rpc::kInvalidParams);
  params["arguments"]["a"] = 1;
  params["inputResponses"]["q"] = 5;
  EXPECT_EQ(answer(5, "tools/call", params)["error"]["code"], rpc::kInvalidParams);
  // Without the capability the tool needs: -32021 naming it.
  const Json gated = answer(6, "tools/call", {{"_meta", meta()}, {"name", "ask"}});
  EXPECT_EQ(gated["error"]["code"], modern::kMissingRequiredClientCapability);
  EXPECT_TRUE(gated["error"]["data"]["requiredCapabilities"]["elicitation"].is_object());
}

TEST(RequestState, ExpiresAndIsBoundToItsRequest) {
  const std::string binding = request_binding("tools/call", {{"name", "t"}, {"arguments", {{"x", 1}}}});
  const std::string token =
      seal_request_state(Json{{"k", "v"}}, binding, std::chrono::milliseconds(1000), 5000);
  EXPECT_EQ(std::get<Json>(open_request_state(token, binding, 5999)), Json({{"k", "v"}}));
  EXPECT_TRUE(std::holds_alternative<RpcError>(open_request_state(token, binding, 6001)));
  const std::string other = request_binding("tools/call", {{"name", "u"}, {"arguments", {{"x", 1}}}});
  EXPECT_TRUE(std::holds_alternative<RpcError>(open_request_state(token, other, 5500)));
  EXPECT_TRUE(std::holds_alternative<RpcError>(open_request_state("garbage", binding, 5500)));
}

TEST_F(ModernServerTest, ListenAcknowledgesAtOnceAndDeliversResourceUpdates) {
  auto ex = call(
      request("L", "subscriptions/listen",
              {{"_meta", meta()},
               {"notifications", {{"toolsListChanged", true}, {"resourceSubscriptions", {"test://r"}}}}}));
  ASSERT_EQ(ex->related.size(), 1u);
  EXPECT_EQ(ex->related[0]["method"], "notifications/subscriptions/acknowledged");
  EXPECT_EQ(ex->related[0]["params"]["notifications"], Json({{"resourceSubscriptions", {"test://r"}}}));
  EXPECT_EQ(ex->related[0]["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "L");
  EXPECT_FALSE(ex->response.has_value());
  server_.notify_resource_updated("test://other");
  server_.notify_resource_updated("test://r");
  ASSERT_EQ(ex->related.size(), 2u);
  EXPECT_EQ(ex->related[1]["params"]["uri"], "test://r");
  EXPECT_EQ(ex->related[1]["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], "L");
  server_.close_listeners();
  ASSERT_TRUE(ex->response.has_value());
  EXPECT_EQ((*ex->response)["result"]["resultType"], "complete");
  EXPECT_EQ(server_.listener_count(), 0u);
}

TEST_F(ModernServerTest, ASessionEraClientKeepsItsSession) {
  auto s = server_.open_session("s");
  auto ex = std::make_shared<Recorder>();
  server_.handle(s, request(1, "initialize", {{"protocolVersion", "2025-11-25"}}), ex);
  EXPECT_EQ((*ex->response)["result"]["protocolVersion"], "2025-11-25");
  EXPECT_TRUE((*ex->response)["result"]["capabilities"].contains("logging"));
  answer(2, "tools/list", {{"_meta", meta()}});
  auto list = std::make_shared<Recorder>();
  server_.handle(s, request(3, "tools/list", Json::object()), list);
  EXPECT_FALSE((*list->response)["result"].contains("resultType"));  // 2025 results are unchanged
  EXPECT_EQ(s->revision()->id, "2025-11-25");
}

TEST(ModernStdio, ServesBothErasAndRefusesInitializeAfterAModernExchange) {
  Server server(ServerOptions{});
  server.add_tool(named_tool("t"),
                  [](CallPtr, Json, Reply<Json> reply) { reply(tool_result(Json::array())); });
  const std::string m = R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
                        R"("io.modelcontextprotocol/clientCapabilities":{}})";
  std::istringstream in(
      R"({"jsonrpc":"2.0","id":1,"method":"server/discover","params":{)" + m + "}}\n" +
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"t",)" + m + "}}\n" +
      R"({"jsonrpc":"2.0","id":3,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})"
      "\n");
  std::ostringstream out;
  StdioTransport t(server, in, out);
  t.run();
  std::vector<Json> msgs;
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) msgs.push_back(Json::parse(line));
  ASSERT_EQ(msgs.size(), 3u) << out.str();
  EXPECT_EQ(msgs[0]["result"]["supportedVersions"], Json::array({"2026-07-28"}));
  EXPECT_EQ(msgs[1]["result"]["resultType"], "complete");
  EXPECT_EQ(msgs[2]["error"]["code"], modern::kUnsupportedProtocolVersion);
}

TEST(ModernStdio, ADiscoverProbeLeavesInitializeOpen) {
  Server server(ServerOptions{});
  std::istringstream in(
      R"({"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{)"
      R"("io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})"
      "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})"
      "\n");
  std::ostringstream out;
  StdioTransport t(server, in, out);
  t.run();
  EXPECT_NE(out.str().find(R"("protocolVersion":"2025-11-25")"), std::string::npos) << out.str();
  EXPECT_TRUE(t.session()->revision() != nullptr);
}

}  // namespace
}  // namespace taskman::mcp

namespace taskman::mcp {
namespace {

TEST(ModernStdio, CancellationByRequestIdReachesTheCall) {
  Server server(ServerOptions{});
  bool cancelled = false;
  server.add_tool(named_tool("wait"), [&](CallPtr ctx, Json, Reply<Json>) {
    ctx->on_cancel([&] { cancelled = true; });  // never replies: only the cancellation ends it
  });
  const std::string m = R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
                        R"("io.modelcontextprotocol/clientCapabilities":{}})";
  std::istringstream in(
      R"({"jsonrpc":"2.0","id":"w","method":"tools/call","params":{"name":"wait",)" + m + "}}\n" +
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"w",)" + m + "}}\n");
  std::ostringstream out;
  // At EOF a call still running would hold run() for the whole drain time; the cancelled one does not.
  StdioOptions options;
  options.drain_timeout = std::chrono::seconds(30);
  StdioTransport t(server, in, out, options);
  const auto start = std::chrono::steady_clock::now();
  t.run();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(out.str(), "");  // a cancelled call is not answered
}

}  // namespace
}  // namespace taskman::mcp
