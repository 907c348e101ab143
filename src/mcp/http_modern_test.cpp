// Streamable HTTP for the per-request era (2026-07-28) on the same endpoint as the session era: a
// real server on a loopback port, driven by the project's HTTP client.
#include <gtest/gtest.h>

#include "http/client.hpp"
#include "http/server.hpp"
#include "log/log.hpp"
#include "mcp/http_transport.hpp"
#include "mcp/modern.hpp"

namespace taskman::mcp {
namespace {

Tool named_tool(std::string name) {
  Tool t;
  t.name = std::move(name);
  return t;
}

Json meta(Json caps = Json::object()) {
  return Json{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
              {"io.modelcontextprotocol/clientCapabilities", std::move(caps)}};
}

class HttpModernTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.add_tool(named_tool("needs_sampling"), [](CallPtr ctx, Json, Reply<Json> reply) {
      if (!ctx->client_declared("sampling")) return ctx->reply_error(modern::missing_capability("sampling"));
      reply(tool_result(Json::array({text_content("sampled")})));
    });
    server_.add_tool(named_tool("fails"), [](CallPtr, Json, Reply<Json> reply) {
      reply(Error::make(ErrorCode::kInternal, "no"));
    });
    transport_ = std::make_unique<HttpTransport>(server_, HttpTransportOptions{});
    http::Router router;
    transport_->register_routes(router);
    http_ = std::make_unique<http::Server>(pool_, http::ServerOptions{}, std::move(router), logger_);
    http_->start();
    pool_.start();
    client_ = std::make_unique<http::HttpClient>(pool_, "127.0.0.1", http_->port());
  }
  void TearDown() override {
    client_.reset();
    transport_.reset();
    pool_.stop();
  }
  // POSTs with the standard headers of the era unless `headers` overrides them ("" removes one).
  http::ClientResponse post(const Json& body, std::map<std::string, std::string> headers = {}) {
    http::ClientRequest req;
    req.method = "POST";
    req.target = "/mcp";
    std::map<std::string, std::string> h = {{"Host", "127.0.0.1"},
                                            {"Content-Type", "application/json"},
                                            {"Accept", "application/json, text/event-stream"},
                                            {"MCP-Protocol-Version", "2026-07-28"},
                                            {"Mcp-Method", body.value("method", "")}};
    if (body.contains("params") && body["params"].contains("name")) h["Mcp-Name"] = body["params"]["name"];
    for (auto& [k, v] : headers) h[k] = v;
    for (auto& [k, v] : h)
      if (!v.empty()) req.headers.set(k, v);
    req.body = serialize(body);
    auto r = client_->send_sync(std::move(req), std::chrono::seconds(10));
    EXPECT_TRUE(r.ok()) << r.error_message;
    return r.response;
  }
  static Json body_of(const http::ClientResponse& r) { return Json::parse(r.body); }

  Server server_{ServerOptions{}};
  log::Sink sink_{stderr, log::Level::kWarn, log::Format::kJson};
  log::Logger logger_{"test", sink_};
  http::IoPool pool_{1};
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<http::HttpClient> client_;
};

TEST_F(HttpModernTest, ARequestStandsAloneWithoutASession) {
  auto r = post(make_request(1, "tools/call", {{"_meta", meta()}, {"name", "fails"}}));
  EXPECT_EQ(r.status, 200) << r.body;  // a failed tool is a result, not an HTTP error
  EXPECT_FALSE(r.headers.get("Mcp-Session-Id").has_value());
  EXPECT_EQ(body_of(r)["result"]["isError"], true);
  EXPECT_EQ(body_of(r)["result"]["resultType"], "complete");
  EXPECT_EQ(transport_->session_count(), 0u);
}

TEST_F(HttpModernTest, TheErasErrorsHaveTheirStatuses) {
  auto missing_meta = post(make_request(1, "tools/list", Json::object()));
  EXPECT_EQ(missing_meta.status, 400);
  EXPECT_EQ(body_of(missing_meta)["error"]["code"], rpc::kInvalidParams);
  EXPECT_EQ(body_of(missing_meta)["id"], 1);
  Json v999 = {{"_meta", meta()}};
  v999["_meta"]["io.modelcontextprotocol/protocolVersion"] = "v999";
  auto unsupported = post(make_request(2, "server/discover", v999), {{"MCP-Protocol-Version", "v999"}});
  EXPECT_EQ(unsupported.status, 400);
  EXPECT_EQ(body_of(unsupported)["error"]["code"], modern::kUnsupportedProtocolVersion);
  auto version_mismatch = post(make_request(3, "server/discover", v999));
  EXPECT_EQ(version_mismatch.status, 400);
  EXPECT_EQ(body_of(version_mismatch)["error"]["code"], modern::kHeaderMismatch);
  auto gated = post(make_request(4, "tools/call", {{"_meta", meta()}, {"name", "needs_sampling"}}));
  EXPECT_EQ(gated.status, 400);
  EXPECT_EQ(body_of(gated)["error"]["code"], modern::kMissingRequiredClientCapability);
  auto unknown = post(make_request(5, "ping", {{"_meta", meta()}}));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(body_of(unknown)["error"]["code"], rpc::kMethodNotFound);
}

TEST_F(HttpModernTest, MethodAndNameHeadersMustMatchTheBody) {
  const Json call = make_request(
      1, "tools/call", {{"_meta", meta({{"sampling", Json::object()}})}, {"name", "needs_sampling"}});
  EXPECT_EQ(post(call).status, 200);
  EXPECT_EQ(post(call, {{"Mcp-Name", "  needs_sampling  "}}).status,
            200);  // surrounding whitespace is not the value
  for (auto [header, value] :
       std::vector<std::pair<std::string, std::string>>{{"Mcp-Method", "tools/list"},
                                                        {"Mcp-Method", ""},
                                                        {"Mcp-Name", "other"},
                                                        {"Mcp-Name", ""},
                                                        {"Mcp-Method", "TOOLS/CALL"}}) {
    auto r = post(call, {{header, value}});
    EXPECT_EQ(r.status, 400) << header << "=" << value;
    EXPECT_EQ(body_of(r)["error"]["code"], modern::kHeaderMismatch) << header << "=" << value;
  }
}

TEST_F(HttpModernTest, ASessionEraClientOnTheSameEndpointKeepsItsSession) {
  auto init = post(
      make_request(1, "initialize", {{"protocolVersion", "2025-11-25"}, {"capabilities", Json::object()}}),
      {{"MCP-Protocol-Version", ""}, {"Mcp-Method", ""}});
  ASSERT_EQ(init.status, 200) << init.body;
  const std::string sid(init.headers.get("Mcp-Session-Id").value_or(""));
  ASSERT_FALSE(sid.empty());
  post(make_request(2, "server/discover", {{"_meta", meta()}}));  // a modern client meanwhile
  auto list = post(make_request(3, "tools/list", Json::object()),
                   {{"MCP-Protocol-Version", "2025-11-25"}, {"Mcp-Session-Id", sid}, {"Mcp-Method", ""}});
  EXPECT_EQ(list.status, 200) << list.body;
  EXPECT_FALSE(body_of(list)["result"].contains("resultType"));
  EXPECT_EQ(transport_->session_count(), 1u);
}

}  // namespace
}  // namespace taskman::mcp
