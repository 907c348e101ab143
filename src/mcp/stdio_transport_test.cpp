#include "mcp/stdio_transport.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace taskman::mcp {
namespace {

std::vector<Json> lines_of(const std::string& out) {
  std::vector<Json> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) v.push_back(Json::parse(line));
  return v;
}

TEST(StdioTransport, ServesLinesUntilEofAndWritesOnlyMessages) {
  Server server(ServerOptions{});
  server.add_tool(Tool{"t", "", "d", {{"type", "object"}}, nullptr, nullptr, nullptr},
                  [](CallPtr ctx, Json, Reply<Json> reply) {
                    ctx->log(LogLevel::kInfo, "hello");
                    reply(tool_result(Json::array({text_content("ok")})));
                  });
  std::istringstream in(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}})"
      "\n"
      R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
      "\r\n\n"
      "this is not json\n"
      R"([{"jsonrpc":"2.0","id":2,"method":"ping"}])"
      "\n"
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t"}})"
      "\n");
  std::ostringstream out;
  StdioTransport t(server, in, out);
  t.run();
  auto msgs = lines_of(out.str());
  ASSERT_EQ(msgs.size(), 5u) << out.str();
  EXPECT_EQ(msgs[0]["result"]["protocolVersion"], "2025-11-25");
  EXPECT_EQ(msgs[1]["error"]["code"], rpc::kParseError);
  EXPECT_TRUE(msgs[1]["id"].is_null());
  EXPECT_EQ(msgs[2]["error"]["code"], rpc::kInvalidRequest);
  EXPECT_EQ(msgs[3]["method"], "notifications/message");
  EXPECT_EQ(msgs[4]["id"], 3);
  EXPECT_EQ(msgs[4]["result"]["content"][0]["text"], "ok");
  EXPECT_TRUE(t.session()->closed());
}

TEST(StdioTransport, EofCancelsCallsThatOutlastTheDrainTime) {
  Server server(ServerOptions{});
  CallPtr parked;
  server.add_tool(Tool{"wait", "", "d", {{"type", "object"}}, nullptr, nullptr, nullptr},
                  [&](CallPtr ctx, Json, Reply<Json>) { parked = ctx; });
  std::istringstream in(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})"
      "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait"}})"
      "\n");
  std::ostringstream out;
  // A call that never finishes is cancelled once the drain time is up.
  StdioTransport t(server, in, out, StdioOptions{std::chrono::milliseconds(1), "stdio"});
  t.run();
  ASSERT_TRUE(parked);
  EXPECT_TRUE(parked->cancelled());
  EXPECT_EQ(t.session()->in_flight(), 0u);
  EXPECT_EQ(lines_of(out.str()).size(), 1u);
}

}  // namespace
}  // namespace taskman::mcp

namespace taskman::mcp {
namespace {

TEST(StdioTransport, EofLetsRunningCallsFinishAndFailsServerRequests) {
  Server server(ServerOptions{});
  Reply<Json> parked;
  server.add_tool(Tool{"later", "", "d", {{"type", "object"}}, nullptr, nullptr, nullptr},
                  [&](CallPtr, Json, Reply<Json> reply) { parked = std::move(reply); });
  server.add_tool(Tool{"ask", "", "d", {{"type", "object"}}, nullptr, nullptr, nullptr},
                  [&](CallPtr ctx, Json, Reply<Json> reply) {
                    ctx->request("sampling/createMessage", Json::object(), [&, reply](Result<Json> r) {
                      // Runs at EOF (the client can no longer answer); the parked call finishes
                      // then too, after the input ended, and its answer must still be written.
                      reply(r.ok() ? tool_result(Json::array()) : Result<Json>(r.error()));
                      parked(tool_result(Json::array({text_content("finished")})));
                    });
                  });
  std::istringstream in(
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{}}}})"
      "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ask"}})"
      "\n"
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"later"}})"
      "\n");
  std::ostringstream out;
  StdioTransport t(server, in, out, StdioOptions{std::chrono::milliseconds(60'000), "stdio"});
  t.run();
  auto msgs = lines_of(out.str());
  ASSERT_EQ(msgs.size(), 4u) << out.str();
  EXPECT_EQ(msgs[1]["method"], "sampling/createMessage");
  EXPECT_EQ(msgs[2]["id"], 2);  // the sampling request can never be answered: the call failed
  EXPECT_TRUE(msgs[2]["result"]["isError"].get<bool>());
  EXPECT_EQ(msgs[3]["id"], 3);
  EXPECT_EQ(msgs[3]["result"]["content"][0]["text"], "finished");
}

}  // namespace
}  // namespace taskman::mcp
