// docs/observability.md#metrics through the real binaries: real traffic (successes, tool errors, backend
// failures, an open breaker, stale reads from the fallback cache) and then each service's GET /metrics must
// pass `promtool check metrics` without a word, carry every family of docs/observability.md#metrics with
// samples, and count what the test did exactly.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "metrics/exposition.hpp"
#include "support/mcp_session.hpp"
#include "support/process.hpp"

namespace taskman::testing {
namespace {

using nlohmann::json;

void expect_promtool_clean(const std::string& text, const std::string& where) {
  const auto r = promtool_check_metrics(text);
  EXPECT_EQ(r.exit_code, 0) << where << ": promtool said:\n" << r.output << "\nexposition:\n" << text;
  EXPECT_EQ(r.output, "") << where;
}

void expect_families(const Exposition& e, const std::vector<std::string>& families,
                     const std::string& where) {
  for (const auto& f : families) {
    EXPECT_FALSE(e.type_of(f).empty()) << where << ": no # TYPE line for " << f;
    EXPECT_FALSE(e.family_samples(f).empty()) << where << ": no samples of " << f;
  }
}

std::string text_of(const json& result) {
  std::string out;
  for (const auto& block : result.value("content", json::array())) out += block.value("text", "");
  return out;
}

// `taskman api` and `taskman mcp` as separate processes, so the API can be SIGKILLed under the MCP
// server. When the API dies the breaker's window already holds the five successful attempts made
// before; a 10 % error threshold opens it at the first failed attempt, so the one retry allowed is
// counted and then rejected by the open breaker, and every number below is exact.
TEST(MetricsExposition, SeparateServicesCountTrafficFailuresBreakerAndCache) {
  TempDir dir;
  Process::Options ao;
  ao.args = {"api", "--api-port", "0", "--database-url", "sqlite:" + dir.path() + "/t.db"};
  ao.cwd = dir.path();
  Process api(ao);
  const int api_port = api.wait_for_port("taskman-api");

  Process::Options mo;
  mo.args = {"mcp", "--port", "0", "--task-manager-api-endpoint",
             "http://127.0.0.1:" + std::to_string(api_port) + "/api/v1", "--circuit-breaker-volume-threshold",
             "2", "--circuit-breaker-error-threshold", "10",
             // Long enough that a slow machine cannot age the successes out or half-open the breaker
             // before the test has read its numbers.
             "--circuit-breaker-rolling-window-ms", "600000", "--circuit-breaker-reset-timeout-ms", "600000",
             "--backend-max-retries", "1", "--backend-timeout-ms", "300"};
  mo.cwd = dir.path();
  Process mcp(mo);
  const int mcp_port = mcp.wait_for_port("taskman-mcp");

  auto s = McpSession::open(mcp_port);
  // Successes.
  const auto a = s.call_tool("create_task", {{"title", "metrics a"}});
  ASSERT_FALSE(a.value("isError", false)) << a.dump();
  const std::string id_a = a["structuredContent"]["task"]["id"];
  const auto b = s.call_tool("create_task", {{"title", "metrics b"}});
  ASSERT_FALSE(b.value("isError", false)) << b.dump();
  const std::string id_b = b["structuredContent"]["task"]["id"];
  ASSERT_FALSE(s.call_tool("get_task", {{"id", id_a}}).value("isError", false));  // now cached
  ASSERT_FALSE(s.call_tool("list_tasks", json::object()).value("isError", false));
  // Tool errors: bad arguments, not found.
  EXPECT_TRUE(s.call_tool("get_task", json::object()).value("isError", false));
  EXPECT_TRUE(s.call_tool("create_task", {{"title", 5}}).value("isError", false));
  EXPECT_TRUE(s.call_tool("get_task", {{"id", "no-such-task"}}).value("isError", false));
  // A tool that does not exist is a protocol error, not a tool call.
  const auto unknown = s.request("tools/call", {{"name", "no_such_tool"}, {"arguments", json::object()}});
  ASSERT_TRUE(unknown.contains("error")) << unknown.dump();
  EXPECT_EQ(unknown["error"]["code"], -32602);
  // The API directly: a route template, an unmatched path, a wrong method.
  EXPECT_EQ(http(api_port, "GET", "/api/v1/tasks/" + id_a).status, 200);
  EXPECT_EQ(http(api_port, "GET", "/api/v1/no/such/thing").status, 404);
  EXPECT_EQ(http(api_port, "DELETE", "/health/live").status, 405);
  EXPECT_EQ(http(api_port, "GET", "/health/ready").status, 200);
  EXPECT_EQ(http(mcp_port, "GET", "/health/ready").status, 200);

  // The API's exposition, while it still runs.
  const std::string api_text = scrape_metrics(api_port);
  expect_promtool_clean(api_text, "taskman-api");
  const auto api_metrics = Exposition::parse(api_text);
  expect_families(api_metrics, spec_families_common(), "taskman-api");
  expect_families(api_metrics, {"db_query_duration_seconds"}, "taskman-api");
  // Two MCP get_task reads (one found, one 404) and the direct GET.
  EXPECT_EQ(api_metrics.value("http_server_requests_total",
                              {{"method", "GET"}, {"route", "/api/v1/tasks/{id}"}, {"status", "200"}}),
            2);
  EXPECT_EQ(api_metrics.value("http_server_requests_total",
                              {{"method", "GET"}, {"route", "/api/v1/tasks/{id}"}, {"status", "404"}}),
            1);
  EXPECT_EQ(api_metrics.value("http_server_requests_total",
                              {{"method", "POST"}, {"route", "/api/v1/tasks"}, {"status", "201"}}),
            2);
  EXPECT_EQ(api_metrics.value("http_server_requests_total",
                              {{"method", "GET"}, {"route", "unmatched"}, {"status", "404"}}),
            1);
  EXPECT_EQ(api_metrics.value("http_server_requests_total",
                              {{"method", "DELETE"}, {"route", "/health/live"}, {"status", "405"}}),
            1);
  EXPECT_EQ(api_metrics.value("health_check_status", {{"check", "database"}}), 1);
  EXPECT_GE(api_metrics.sum("db_query_duration_seconds_count"), 5);  // 2 creates, 3 reads, a list
  EXPECT_EQ(api_metrics.sum("taskman_build_info"), 1);

  // Backend dies: the next read fails, opens the breaker, its retry is refused, and it is answered stale.
  api.signal(SIGKILL);
  ASSERT_EQ(api.wait_exit(), 128 + SIGKILL);
  const auto stale = s.call_tool("get_task", {{"id", id_a}});
  ASSERT_FALSE(stale.value("isError", false)) << stale.dump() << "\n" << mcp.stderr_text();
  EXPECT_EQ(stale["_meta"]["taskman/stale"], true) << stale.dump();
  // Breaker open: reads are rejected before any attempt and still served from the cache...
  const auto stale_again = s.call_tool("get_task", {{"id", id_a}});
  EXPECT_EQ(stale_again["_meta"]["taskman/stale"], true) << stale_again.dump();
  // ...an uncached read and a write fail fast.
  const auto miss = s.call_tool("get_task", {{"id", id_b}});
  EXPECT_TRUE(miss.value("isError", false)) << miss.dump();
  const auto write = s.call_tool("create_task", {{"title", "while open"}});
  EXPECT_TRUE(write.value("isError", false)) << write.dump();
  EXPECT_NE(text_of(write).find("circuit"), std::string::npos) << write.dump();
  EXPECT_EQ(http(mcp_port, "GET", "/health/ready").status,
            200);  // degraded, still ready (docs/observability.md#health)

  const std::string mcp_text = scrape_metrics(mcp_port);
  expect_promtool_clean(mcp_text, "taskman-mcp");
  const auto m = Exposition::parse(mcp_text);
  expect_families(m, spec_families_common(), "taskman-mcp");
  expect_families(m, spec_families_mcp_only(), "taskman-mcp");

  using L = std::map<std::string, std::string>;
  EXPECT_EQ(m.value("mcp_tool_calls_total", L{{"tool", "create_task"}, {"outcome", "ok"}}), 2);
  EXPECT_EQ(m.value("mcp_tool_calls_total", L{{"tool", "create_task"}, {"outcome", "tool_error"}}), 2);
  EXPECT_EQ(m.value("mcp_tool_calls_total", L{{"tool", "get_task"}, {"outcome", "ok"}}), 3);
  EXPECT_EQ(m.value("mcp_tool_calls_total", L{{"tool", "get_task"}, {"outcome", "tool_error"}}), 3);
  EXPECT_EQ(m.value("mcp_tool_calls_total", L{{"tool", "list_tasks"}, {"outcome", "ok"}}), 1);
  EXPECT_EQ(m.sum("mcp_tool_calls_total"), 11);  // the unknown tool is not a tool call
  EXPECT_EQ(m.value("mcp_tool_call_duration_seconds_count", L{{"tool", "get_task"}}), 6);
  EXPECT_EQ(m.value("mcp_requests_total", L{{"method", "initialize"}, {"outcome", "ok"}}), 1);
  EXPECT_EQ(m.sum("mcp_requests_total", L{{"method", "tools/call"}}), 12);
  EXPECT_EQ(m.value("mcp_requests_total", L{{"method", "tools/call"}, {"outcome", "error"}}), 1);
  EXPECT_EQ(m.value("mcp_sessions_active"), 1);
  // Every POST /mcp answered 200 except the initialized notification (202).
  EXPECT_EQ(
      m.value("http_server_requests_total", L{{"method", "POST"}, {"route", "/mcp"}, {"status", "200"}}), 13);
  EXPECT_EQ(
      m.value("http_server_requests_total", L{{"method", "POST"}, {"route", "/mcp"}, {"status", "202"}}), 1);
  EXPECT_EQ(m.value("http_server_requests_in_flight"), 1);  // this scrape

  // Backend attempts before the kill: 2 creates (201), 1 read + 1 list (200), 1 read (404); the
  // create with bad arguments never reached the backend. After it: exactly one failed attempt.
  EXPECT_EQ(m.sum("backend_requests_total", L{{"method", "POST"}, {"endpoint", "/tasks"}, {"status", "201"}}),
            2);
  EXPECT_EQ(
      m.sum("backend_requests_total", L{{"method", "GET"}, {"endpoint", "/tasks/{id}"}, {"status", "200"}}),
      1);
  EXPECT_EQ(
      m.sum("backend_requests_total", L{{"method", "GET"}, {"endpoint", "/tasks/{id}"}, {"status", "404"}}),
      1);
  double failed_attempts = 0;
  for (const auto* sample : m.family_samples("backend_requests_total")) {
    const auto& st = sample->labels.at("status");
    if (!st.empty() && (st[0] < '0' || st[0] > '9')) failed_attempts += sample->value;
  }
  EXPECT_EQ(failed_attempts, 1) << mcp_text;
  EXPECT_EQ(m.sum("backend_request_duration_seconds_count"), 6);
  EXPECT_EQ(m.sum("backend_retries_total"), 1);

  EXPECT_EQ(m.value("circuit_breaker_state", L{{"state", "open"}}), 1);
  EXPECT_EQ(m.value("circuit_breaker_state", L{{"state", "closed"}}), 0);
  EXPECT_EQ(m.value("circuit_breaker_state", L{{"state", "half_open"}}), 0);
  EXPECT_EQ(m.value("circuit_breaker_transitions_total", L{{"from", "closed"}, {"to", "open"}}), 1);
  EXPECT_EQ(m.sum("circuit_breaker_transitions_total"), 1);
  // The retry of the failed read, the second read, the uncached read, the create.
  EXPECT_EQ(m.value("circuit_breaker_rejections_total", L{{"reason", "open"}}), 4);
  EXPECT_EQ(m.value("fallback_cache_lookups_total", L{{"result", "hit"}}), 2);
  EXPECT_EQ(m.value("fallback_cache_lookups_total", L{{"result", "miss"}}), 1);
  EXPECT_EQ(m.value("fallback_cache_entries"), 2);  // the read of task a and the list
  EXPECT_EQ(m.value("health_check_status", L{{"check", "database"}}), std::nullopt);  // the API's check
  // Checks run at every scrape too; with the breaker open the backend check is degraded: 0, so
  // TaskmanBackendDown can fire while /health/ready still answers 200.
  EXPECT_GE(m.value("health_check_duration_seconds_count", L{{"check", "backend"}}).value_or(0), 1);
  EXPECT_EQ(m.value("health_check_status", L{{"check", "backend"}}), 0);

  mcp.signal(SIGTERM);
  EXPECT_EQ(mcp.wait_exit(), 0) << mcp.stderr_text();
}

// `taskman serve`: both ports expose the process registry; both pass promtool.
TEST(MetricsExposition, ServeExposesBothServicesCleanly) {
  TempDir dir;
  Process::Options o = serve_options(dir);
  Process p(o);
  const int api_port = p.wait_for_port("taskman-api");
  const int mcp_port = p.wait_for_port("taskman-mcp");

  auto s = McpSession::open(mcp_port);
  const auto created = s.call_tool("create_task", {{"title", "serve metrics"}});
  ASSERT_FALSE(created.value("isError", false)) << created.dump();
  EXPECT_FALSE(
      s.call_tool("get_task", {{"id", created["structuredContent"]["task"]["id"]}}).value("isError", false));
  EXPECT_TRUE(s.call_tool("get_task", {{"id", "missing"}}).value("isError", false));
  EXPECT_EQ(http(api_port, "GET", "/health/ready").status, 200);
  EXPECT_EQ(http(mcp_port, "GET", "/health/ready").status, 200);

  for (int port : {api_port, mcp_port}) {
    const std::string where = "serve port " + std::to_string(port);
    const std::string text = scrape_metrics(port);
    expect_promtool_clean(text, where);
    const auto e = Exposition::parse(text);
    expect_families(e, spec_families_common(), where);
    expect_families(e,
                    {"db_query_duration_seconds", "mcp_requests_total", "mcp_tool_calls_total",
                     "mcp_tool_call_duration_seconds", "mcp_sessions_active", "backend_requests_total",
                     "backend_request_duration_seconds"},
                    where);
    EXPECT_EQ(e.value("mcp_tool_calls_total", {{"tool", "create_task"}, {"outcome", "ok"}}), 1) << where;
    EXPECT_EQ(e.value("mcp_tool_calls_total", {{"tool", "get_task"}, {"outcome", "tool_error"}}), 1) << where;
  }
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(), 0) << p.stderr_text();
}

// ENABLE_METRICS=false removes the route on both services (and the observers with it).
TEST(MetricsExposition, DisabledMetricsHaveNoRoute) {
  TempDir dir;
  Process::Options o = serve_options(dir);
  o.env = {{"ENABLE_METRICS", "false"}};
  Process p(o);
  const int api_port = p.wait_for_port("taskman-api");
  const int mcp_port = p.wait_for_port("taskman-mcp");
  EXPECT_EQ(http(api_port, "GET", "/metrics").status, 404);
  EXPECT_EQ(http(mcp_port, "GET", "/metrics").status, 404);
  EXPECT_EQ(http(mcp_port, "GET", "/health/live").status, 200);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(), 0) << p.stderr_text();
}

}  // namespace
}  // namespace taskman::testing
