#include "mcp/http_transport.hpp"

#include <gtest/gtest.h>

#include "http/client.hpp"
#include "http/server.hpp"
#include "log/log.hpp"

namespace taskman::mcp {
namespace {

TEST(HttpTransportOrigin, LoopbackHostsAndOriginsAreAllowedByDefault) {
  Server server(ServerOptions{});
  HttpTransport t(server, HttpTransportOptions{});
  for (auto h : {"localhost", "localhost:3000", "127.0.0.1:1", "[::1]:8080", "LOCALHOST"})
    EXPECT_TRUE(t.host_allowed(h)) << h;
  for (auto h : {"evil.example.com", "evil.example.com:3000", "127.0.0.1.evil.com", "", "[::2]"})
    EXPECT_FALSE(t.host_allowed(h)) << h;
  for (auto o : {"http://localhost:3000", "https://127.0.0.1", "http://[::1]:99"})
    EXPECT_TRUE(t.origin_allowed(o)) << o;
  for (auto o : {"http://evil.example.com", "null", "file://localhost", "http://localhost@evil.com",
                 "http://localhost.evil.com"})
    EXPECT_FALSE(t.origin_allowed(o)) << o;
}

TEST(HttpTransportOrigin, ConfiguredOriginsAndHosts) {
  Server server(ServerOptions{});
  HttpTransportOptions o;
  o.allowed_origins = {"https://app.example.com"};
  o.allowed_hosts = {"mcp.internal"};
  HttpTransport t(server, o);
  EXPECT_TRUE(t.origin_allowed("https://app.example.com"));
  EXPECT_FALSE(t.origin_allowed("https://app.example.com.evil.com"));
  EXPECT_TRUE(t.host_allowed("mcp.internal:3000"));
  EXPECT_FALSE(t.host_allowed("other.internal"));
}

// A real server on a loopback port, driven by the project's HTTP client; time is injected.
class HttpTransportTest : public ::testing::Test {
 protected:
  void start(HttpTransportOptions options = {}) {
    server_.add_tool(Tool{"chatty", "", "logs once", {{"type", "object"}}, nullptr, nullptr, nullptr},
                     [](CallPtr ctx, Json, Reply<Json> reply) {
                       ctx->log(LogLevel::kInfo, "working");
                       reply(tool_result(Json::array({text_content("done")})));
                     });
    server_.add_tool(Tool{"quiet", "", "answers at once", {{"type", "object"}}, nullptr, nullptr, nullptr},
                     [](CallPtr, Json, Reply<Json> reply) { reply(tool_result(Json::array())); });
    options.clock = [this] { return now_; };
    transport_ = std::make_unique<HttpTransport>(server_, options);
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

  http::ClientResponse post(const Json& body, const std::string& session = "") {
    http::ClientRequest req;
    req.method = "POST";
    req.target = "/mcp";
    req.headers.set("Host", "127.0.0.1");
    req.headers.set("Content-Type", "application/json");
    req.headers.set("Accept", "application/json, text/event-stream");
    if (!session.empty()) req.headers.set("Mcp-Session-Id", session);
    req.body = serialize(body);
    auto r = client_->send_sync(std::move(req), std::chrono::seconds(10));
    EXPECT_TRUE(r.ok()) << r.error_message;
    return r.response;
  }
  std::string initialize() {
    auto r = post(
        make_request(1, "initialize", {{"protocolVersion", "2025-11-25"}, {"capabilities", Json::object()}}));
    EXPECT_EQ(r.status, 200) << r.body;
    return std::string(r.headers.get("Mcp-Session-Id").value_or(""));
  }

  Server server_{ServerOptions{}};
  std::chrono::steady_clock::time_point now_ = std::chrono::steady_clock::now();
  log::Sink sink_{stderr, log::Level::kWarn, log::Format::kJson};
  log::Logger logger_{"test", sink_};
  http::IoPool pool_{1};
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<http::Server> http_;
  std::unique_ptr<http::HttpClient> client_;
};

TEST_F(HttpTransportTest, SessionExpiresAfterTheTtl) {
  HttpTransportOptions o;
  o.session_ttl = std::chrono::minutes(10);
  start(o);
  const std::string sid = initialize();
  ASSERT_EQ(sid.size(), 32u);
  now_ += std::chrono::minutes(9);
  EXPECT_EQ(post(make_request(2, "ping", nullptr), sid).status, 200);  // use renews the TTL
  now_ += std::chrono::minutes(9);
  EXPECT_EQ(post(make_request(3, "ping", nullptr), sid).status, 200);
  now_ += std::chrono::minutes(11);
  EXPECT_EQ(post(make_request(4, "ping", nullptr), sid).status, 404);
  EXPECT_EQ(transport_->session_count(), 0u);
  EXPECT_EQ(server_.session_count(), 0u);
}

TEST_F(HttpTransportTest, SessionCountIsCappedAndIdleSessionsMakeRoom) {
  HttpTransportOptions o;
  o.max_sessions = 2;
  o.session_ttl = std::chrono::minutes(1);
  start(o);
  const std::string a = initialize();
  initialize();
  auto full = post(make_request(1, "initialize", {{"protocolVersion", "2025-11-25"}}));
  EXPECT_EQ(full.status, 503);
  EXPECT_TRUE(full.headers.get("Retry-After").has_value());
  now_ += std::chrono::minutes(2);  // both idle past the TTL: a new session evicts them
  EXPECT_FALSE(initialize().empty());
  EXPECT_EQ(transport_->session_count(), 1u);
  EXPECT_EQ(post(make_request(2, "ping", nullptr), a).status, 404);
}

TEST_F(HttpTransportTest, SessionIdsAreRandomAndDistinct) {
  start();
  const std::string a = initialize(), b = initialize();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST_F(HttpTransportTest, PlainAnswersAreJsonAndNotificationsSwitchToSse) {
  start();
  const std::string sid = initialize();
  auto quiet = post(make_request(2, "tools/call", {{"name", "quiet"}}), sid);
  EXPECT_EQ(quiet.status, 200);
  EXPECT_EQ(quiet.headers.get("Content-Type").value_or(""), "application/json");
  EXPECT_EQ(Json::parse(quiet.body)["id"], 2);

  auto chatty = post(make_request(3, "tools/call", {{"name", "chatty"}}), sid);
  EXPECT_EQ(chatty.status, 200);
  EXPECT_EQ(chatty.headers.get("Content-Type").value_or(""), "text/event-stream");
  // Priming event (an id, empty data: 2025-11-25 §Resumability), then the log line, then the answer.
  const std::string& b = chatty.body;
  const auto priming = b.find("data: \n\n");
  const auto note = b.find("\"notifications/message\"");
  const auto answer = b.find("\"id\":3");
  ASSERT_NE(priming, std::string::npos) << b;
  ASSERT_NE(note, std::string::npos) << b;
  ASSERT_NE(answer, std::string::npos) << b;
  EXPECT_LT(priming, note);
  EXPECT_LT(note, answer);
  EXPECT_EQ(b.rfind("id: ", 0), 0u) << b;
}

TEST_F(HttpTransportTest, ResponsesFromTheClientAreAccepted) {
  start();
  const std::string sid = initialize();
  auto r = post(make_result(77, Json::object()), sid);  // unknown id: ignored, still accepted
  EXPECT_EQ(r.status, 202);
  EXPECT_TRUE(r.body.empty());
}

TEST_F(HttpTransportTest, FailedInitializeLeavesNoSession) {
  start();
  auto r = post(make_request(1, "initialize", {{"protocolVersion", 42}}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], rpc::kInvalidParams);
  EXPECT_EQ(transport_->session_count(), 0u);
}

TEST_F(HttpTransportTest, StatelessModeNeedsNoSession) {
  HttpTransportOptions o;
  o.stateless = true;
  start(o);
  auto init = post(make_request(1, "initialize", {{"protocolVersion", "2025-06-18"}}));
  EXPECT_EQ(init.status, 200);
  EXPECT_FALSE(init.headers.get("Mcp-Session-Id").has_value());
  auto call = post(make_request(2, "tools/call", {{"name", "quiet"}}));
  EXPECT_EQ(call.status, 200);
  EXPECT_TRUE(Json::parse(call.body)["result"].contains("content"));
  EXPECT_EQ(server_.session_count(), 0u);  // throwaway sessions are closed after each request
}

}  // namespace
}  // namespace taskman::mcp
