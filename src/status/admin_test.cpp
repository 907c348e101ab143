#include "status/admin.hpp"

#include <gtest/gtest.h>

namespace taskman::status {
namespace {

const std::vector<std::string> kTokens = {"first-token-0123456789", "second-token-0123456789"};

TEST(AdminCallers, LoopbackAddresses) {
  for (const char* a : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"})
    EXPECT_TRUE(is_loopback(a)) << a;
  for (const char* a : {"", "192.0.2.2", "10.0.0.1", "::ffff:10.0.0.1", "fd00::2", "127.0.0.1.evil",
                        "1127.0.0.1", "127.0.0.x"}) {
    EXPECT_FALSE(is_loopback(a)) << a;
  }
}

TEST(AdminCallers, LoopbackNeedsNoTokenButAWrongOneIsRefused) {
  auto c = authorize_admin("127.0.0.1", std::nullopt, kTokens, "API_KEYS");
  EXPECT_TRUE(c.allowed);
  EXPECT_EQ(c.who, "loopback");
  c = authorize_admin("127.0.0.1", "Bearer wrong-token-0123456789", kTokens, "API_KEYS");
  EXPECT_FALSE(c.allowed);
  EXPECT_EQ(c.status, 401);
}

TEST(AdminCallers, OthersNeedAValidTokenAndAreNamedByItsPlaceNeverItsValue) {
  auto c = authorize_admin("192.0.2.7", std::nullopt, kTokens, "MCP_AUTH_TOKENS");
  EXPECT_FALSE(c.allowed);
  EXPECT_EQ(c.status, 401);
  EXPECT_NE(c.reason.find("MCP_AUTH_TOKENS"), std::string::npos);
  c = authorize_admin("192.0.2.7", "Bearer first-token-012345678", kTokens, "MCP_AUTH_TOKENS");  // a prefix
  EXPECT_FALSE(c.allowed);
  c = authorize_admin("192.0.2.7", "Basic Zm9vOmJhcg==", kTokens, "MCP_AUTH_TOKENS");
  EXPECT_FALSE(c.allowed);
  c = authorize_admin("192.0.2.7", "bearer second-token-0123456789", kTokens, "MCP_AUTH_TOKENS");
  EXPECT_TRUE(c.allowed);
  EXPECT_EQ(c.who, "MCP_AUTH_TOKENS[1]");
  EXPECT_EQ(c.who.find("second"), std::string::npos);
}

TEST(AdminCallers, WithoutTokensConfiguredOthersAreForbidden) {
  auto c = authorize_admin("fd00::2", std::nullopt, {}, "API_KEYS");
  EXPECT_FALSE(c.allowed);
  EXPECT_EQ(c.status, 403);
  EXPECT_NE(c.reason.find("loopback"), std::string::npos);
}

TEST(AdminBodies, BreakerMode) {
  EXPECT_EQ(parse_breaker_body(R"({"mode":"open"})").value(), BreakerCommand::kOpen);
  EXPECT_EQ(parse_breaker_body(R"({"mode":"CLOSED"})").value(), BreakerCommand::kClosed);
  EXPECT_EQ(parse_breaker_body(R"( {"mode":"auto"} )").value(), BreakerCommand::kAuto);
  auto missing = parse_breaker_body("");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().fields.at(0).field, "mode");
  auto bad = parse_breaker_body(R"({"mode":"ajar"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().fields.at(0).field, "mode");
  EXPECT_NE(bad.error().message.find("ajar"), std::string::npos);
  EXPECT_EQ(parse_breaker_body(R"({"mode":1})").error().fields.at(0).field, "mode");
  EXPECT_EQ(parse_breaker_body("[1]").error().fields.at(0).field, "body");
  EXPECT_EQ(parse_breaker_body("{nope").error().fields.at(0).field, "body");
  EXPECT_EQ(parse_breaker_body(R"({"mode":"open","force":true})").error().fields.at(0).field, "force");
}

TEST(AdminBodies, PurgeLogLevelAndEmpty) {
  EXPECT_EQ(parse_purge_body("").value(), "*");
  EXPECT_EQ(parse_purge_body("{}").value(), "*");
  EXPECT_EQ(parse_purge_body(R"({"all":true})").value(), "*");
  EXPECT_EQ(parse_purge_body(R"({"pattern":"/tasks/*"})").value(), "/tasks/*");
  EXPECT_EQ(parse_purge_body(R"({"pattern":""})").error().fields.at(0).field, "pattern");
  EXPECT_EQ(parse_purge_body(R"({"pattern":5})").error().fields.at(0).field, "pattern");
  EXPECT_EQ(parse_purge_body(R"({"all":false})").error().fields.at(0).field, "all");
  EXPECT_EQ(parse_purge_body(std::string(R"({"pattern":")") + std::string(600, 'a') + "\"}")
                .error()
                .fields.at(0)
                .field,
            "pattern");
  EXPECT_EQ(parse_log_level_body(R"({"level":"DEBUG"})").value(), "debug");
  EXPECT_EQ(parse_log_level_body(R"({"level":"loud"})").error().fields.at(0).field, "level");
  EXPECT_EQ(parse_log_level_body("{}").error().fields.at(0).field, "level");
  EXPECT_TRUE(parse_empty_body(""));
  EXPECT_TRUE(parse_empty_body("{}"));
  EXPECT_EQ(parse_empty_body(R"({"now":true})").error().fields.at(0).field, "now");
}

}  // namespace
}  // namespace taskman::status
