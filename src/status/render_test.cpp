#include "status/render.hpp"

#include <gtest/gtest.h>

namespace taskman::status {
namespace {

using Json = nlohmann::json;

StatusSnapshot sample() {
  StatusSnapshot s;
  s.service = "taskman-mcp";
  s.version = "1.2.3";
  s.revision = "abc";
  s.build_type = "Release";
  s.now_ms = 100'000;
  s.uptime_s = 12.5;
  s.log_level = "info";
  s.routes = {{"POST /mcp", 30, 2, 0.5, 1.25, 4.5, 9.9}};
  s.tools = {{"create_task", 10, 3, 0.2, 2, 3, 4}};
  BreakerView b;
  b.state = "open";
  b.mode = "auto";
  b.error_percent = 75;
  b.calls_in_window = 8;
  b.failures_in_window = 6;
  b.window_ms = 10000;
  b.threshold_percent = 50;
  b.time_until_half_open_ms = 250;
  b.transitions = {{99'000, "closed", "open", "error_threshold"}};
  s.breaker = b;
  CacheView c;
  c.entries = 3;
  c.max_size = 1000;
  c.hits = 3;
  c.misses = 1;
  c.oldest_age_ms = 4200;
  c.evictions = {{"lru", 0}, {"purged", 2}};
  s.cache = c;
  s.bulkhead = BulkheadView{2, 100, 1};
  s.mcp = McpView{2, {{"2025-06-18", 1, 1}, {"2025-03-26", 1, 0}}};
  s.exporter = {true, 4, 10, 1, 0};
  CallRecord failed{98'000,        "mcp",        "tools/call",
                    "create_task", "tool_error", true,
                    12.5,          "req-<1>",    "4bf92f3577b34da6a3ce929d0e0e4736"};
  s.recent_requests = {failed};
  s.recent_errors = {failed};
  s.admin_actions = {{97'000, "breaker", "mode=open", "127.0.0.1", "loopback"}};
  return s;
}

TEST(StatusTraceLink, PlaceholderOrAppendedPath) {
  EXPECT_EQ(trace_link("http://localhost:16686/trace/{trace_id}", "ab"), "http://localhost:16686/trace/ab");
  EXPECT_EQ(trace_link("http://localhost:16686", "ab"), "http://localhost:16686/trace/ab");
  EXPECT_EQ(trace_link("http://localhost:16686/", "ab"), "http://localhost:16686/trace/ab");
  EXPECT_EQ(trace_link("https://ui.example/t?id={trace_id}", "ab"), "https://ui.example/t?id=ab");
  EXPECT_EQ(trace_link("", "ab"), "");
  EXPECT_EQ(trace_link("http://x", ""), "");
}

TEST(StatusJson, EverySectionWithAges) {
  auto s = sample();
  s.trace_ui_url = "http://localhost:16686";
  const Json j = Json::parse(render_json(s));
  EXPECT_EQ(j["service"], "taskman-mcp");
  EXPECT_EQ(j["uptime_s"], 12.5);
  EXPECT_EQ(j["routes"][0]["route"], "POST /mcp");
  EXPECT_EQ(j["routes"][0]["p90_ms"], 4.5);
  EXPECT_EQ(j["tools"][0]["tool"], "create_task");
  EXPECT_EQ(j["breaker"]["state"], "open");
  EXPECT_EQ(j["breaker"]["time_until_half_open_ms"], 250);
  EXPECT_EQ(j["breaker"]["transitions"][0]["age_ms"], 1000);
  EXPECT_EQ(j["breaker"]["transitions"][0]["reason"], "error_threshold");
  EXPECT_EQ(j["cache"]["hit_ratio"], 0.75);
  EXPECT_EQ(j["cache"]["oldest_age_ms"], 4200);
  EXPECT_EQ(j["cache"]["evictions"]["purged"], 2);
  EXPECT_EQ(j["bulkhead"]["capacity"], 100);
  EXPECT_EQ(j["mcp"]["revisions"][0]["revision"], "2025-06-18");
  EXPECT_EQ(j["mcp"]["revisions"][0]["open_streams"], 1);
  EXPECT_EQ(j["exporter"]["dropped"], 1);
  EXPECT_EQ(j["recent_errors"][0]["age_ms"], 2000);
  EXPECT_EQ(j["recent_errors"][0]["request_id"], "req-<1>");
  EXPECT_EQ(j["recent_errors"][0]["trace_url"],
            "http://localhost:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(j["admin_actions"][0]["who"], "loopback");
  EXPECT_EQ(j["trace_ui"], true);
}

TEST(StatusJson, AbsentSectionsAreNullAndNoLinkWithoutTraceUi) {
  StatusSnapshot s;
  s.service = "taskman-api";
  s.recent_requests = {{1, "http", "GET", "/api/v1/tasks", "200", false, 1, "r1", "t1"}};
  const Json j = to_json(s);
  EXPECT_TRUE(j["breaker"].is_null());
  EXPECT_TRUE(j["cache"].is_null());
  EXPECT_TRUE(j["mcp"].is_null());
  EXPECT_FALSE(j["recent_requests"][0].contains("trace_url"));
  EXPECT_TRUE(j["tools"].empty());
}

TEST(StatusHtml, ServerRenderedTablesEscapedAndLiveScript) {
  auto s = sample();
  s.trace_ui_url = "http://localhost:16686/trace/{trace_id}";
  const std::string html = render_html(s);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  // No external assets: nothing is loaded from another URL.
  for (const char* ext : {"src=\"http", "href=\"http://fonts", "<link", "@import"}) {
    EXPECT_EQ(html.find(ext), std::string::npos) << ext;
  }
  EXPECT_NE(html.find("data-v=\"breaker.state\" class=\"badge\" data-state=\"open\">open</span>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>req-&lt;1&gt;</td>"), std::string::npos);  // escaped, in a table cell
  EXPECT_EQ(html.find("req-<1>"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"http://localhost:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736\">"),
            std::string::npos);
  EXPECT_NE(html.find("<td>error_threshold</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>2025-06-18</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>1.25</td>"), std::string::npos);  // p50 of the route
  EXPECT_NE(html.find("fetch('status.json'"), std::string::npos);
  EXPECT_NE(html.find("<td>mode=open</td>"), std::string::npos);
  EXPECT_NE(html.find("data-list=\"recent_errors\""), std::string::npos);
}

TEST(StatusHtml, ApiServiceHasNoResilienceSections) {
  StatusSnapshot s;
  s.service = "taskman-api";
  s.database = "sqlite:data/x.db";
  const std::string html = render_html(s);
  EXPECT_EQ(html.find("Circuit breaker"), std::string::npos);
  EXPECT_EQ(html.find("MCP sessions"), std::string::npos);
  EXPECT_NE(html.find("sqlite:data/x.db"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"empty\" colspan=\"8\">none</td>"), std::string::npos);
  EXPECT_EQ(html_escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
}

}  // namespace
}  // namespace taskman::status
