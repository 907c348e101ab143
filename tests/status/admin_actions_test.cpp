// The admin actions through the binary: `taskman mcp` in front of a real `taskman api` (through the
// fault proxy, which counts what reaches the backend), driven over real sockets.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>

#include "status/status_support.hpp"

namespace taskman::testing::status {
namespace {

using fault::is_error;
using fault::text_of;
constexpr auto npos = std::string::npos;

bool has(const std::string& text, const std::string& what) { return text.find(what) != npos; }

TEST(AdminActions, ForcedOpenFailsTheNextWriteFastAndAutoBringsItBack) {
  Stack st(true);
  st.create("before the override");
  const std::size_t creates_before = st.proxy->count("POST", "/api/v1/tasks");
  ASSERT_EQ(creates_before, 1u);

  auto r = st.admin("breaker", R"({"mode":"open"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(r.body)["state"], "open");
  EXPECT_EQ(Json::parse(r.body)["mode"], "forced_open");
  auto line = st.mcp->wait_for_line([](const std::string& l) {
    return has(l, "\"msg\":\"admin action\"") && has(l, "\"action\":\"breaker\"");
  });
  ASSERT_TRUE(line);
  const Json logged = Json::parse(*line);
  EXPECT_EQ(logged["level"], "warn");
  EXPECT_EQ(logged["who"], "loopback");
  EXPECT_EQ(logged["remote"], "127.0.0.1");
  EXPECT_EQ(logged["detail"], "mode=open");

  const auto t0 = std::chrono::steady_clock::now();
  auto write = st.session->call_tool("create_task", {{"title", "while forced open"}});
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(is_error(write)) << write.dump();
  EXPECT_TRUE(has(text_of(write), "forced open by an operator")) << text_of(write);
  EXPECT_FALSE(request_id_in(text_of(write)).empty()) << text_of(write);
  // Fail fast: the backend was never asked, and no retry budget was spent.
  EXPECT_EQ(st.proxy->count("POST", "/api/v1/tasks"), creates_before);
  EXPECT_LT(ms, fault::kAttemptTimeoutMs) << "took " << ms << " ms";
  std::fprintf(stderr, "[measured] create while forced open: %lld ms\n", static_cast<long long>(ms));

  const std::string m = st.metrics();
  EXPECT_TRUE(has(m, "circuit_breaker_state{state=\"open\"} 1")) << m;
  EXPECT_TRUE(has(m, "admin_actions_total{action=\"breaker\"} 1")) << m;
  EXPECT_TRUE(has(m, "circuit_breaker_rejections_total{reason=\"forced_open\"} 1")) << m;
  Json s = st.status_json();
  EXPECT_EQ(s["breaker"]["state"], "open");
  EXPECT_EQ(s["breaker"]["mode"], "forced_open");
  EXPECT_EQ(s["breaker"]["transitions"][0]["reason"], "forced_open");
  EXPECT_EQ(s["admin_actions"][0]["action"], "breaker");
  EXPECT_EQ(s["admin_actions"][0]["who"], "loopback");

  r = st.admin("breaker", R"({"mode":"auto"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(r.body)["state"], "closed");
  st.create("after auto");
  EXPECT_EQ(st.proxy->count("POST", "/api/v1/tasks"), creates_before + 1);
  const std::string m2 = st.metrics();
  EXPECT_TRUE(has(m2, "circuit_breaker_state{state=\"closed\"} 1")) << m2;
  EXPECT_TRUE(has(m2, "admin_actions_total{action=\"breaker\"} 2")) << m2;
  s = st.status_json();
  EXPECT_EQ(s["breaker"]["mode"], "auto");
  EXPECT_EQ(s["breaker"]["transitions"][0]["reason"], "operator_auto");
  EXPECT_EQ(s["breaker"]["transitions"][0]["to"], "closed");

  // Forced closed: a failing backend cannot open it (volume threshold 4 in these tests).
  ASSERT_EQ(st.admin("breaker", R"({"mode":"closed"})").status, 200);
  st.proxy->set_default(Fault::fail(500));
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(is_error(st.session->call_tool("create_task", {{"title", "x"}})));
  s = st.status_json();
  EXPECT_EQ(s["breaker"]["state"], "closed");
  EXPECT_EQ(s["breaker"]["mode"], "forced_closed");
  EXPECT_GE(s["breaker"]["failures_in_window"].get<int>(), 6);
}

TEST(AdminActions, GetOnAnActionIs405AndBadBodiesAre400NamingTheField) {
  Stack st;
  for (const char* path : {"breaker", "cache/purge", "log-level", "drain"}) {
    auto r = http(st.mcp_port, "GET", std::string("/admin/") + path);
    EXPECT_EQ(r.status, 405) << path << ": " << r.body;
    EXPECT_EQ(r.headers["allow"], "POST") << path;
  }
  struct Case {
    const char* path;
    const char* body;
    const char* field;
  };
  for (const Case& c :
       {Case{"breaker", R"({"mode":"ajar"})", "mode"}, Case{"breaker", "", "mode"},
        Case{"breaker", "not json", "body"}, Case{"cache/purge", R"({"pattern":7})", "pattern"},
        Case{"log-level", R"({"level":"loud"})", "level"}, Case{"drain", R"({"now":1})", "now"}}) {
    auto r = st.admin(c.path, c.body);
    ASSERT_EQ(r.status, 400) << c.path << " " << c.body << ": " << r.body;
    const Json p = Json::parse(r.body);
    EXPECT_EQ(p["errors"][0]["field"], c.field) << r.body;
    EXPECT_TRUE(has(p["detail"].get<std::string>(), c.field)) << r.body;
  }
  // Nothing was done by the refused bodies.
  EXPECT_TRUE(st.status_json()["admin_actions"].empty());
  EXPECT_EQ(st.status_json()["breaker"]["mode"], "auto");
}

TEST(AdminActions, PurgeByPatternLogLevelAndDrain) {
  Stack st;
  const std::string a = st.create("a");
  const std::string b = st.create("b");
  for (const auto& id : {a, b}) ASSERT_FALSE(is_error(st.session->call_tool("get_task", {{"id", id}})));
  ASSERT_FALSE(is_error(st.session->call_tool("list_tasks", Json::object())));
  const auto entries = st.status_json()["cache"]["entries"].get<int>();
  ASSERT_GE(entries, 3);

  auto r = st.admin("cache/purge", R"({"pattern":"/tasks/*"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(r.body)["purged"], 2);  // the two tasks; the list (/tasks?...) stays
  Json s = st.status_json();
  EXPECT_EQ(s["cache"]["entries"].get<int>(), entries - 2);
  EXPECT_EQ(s["cache"]["evictions"]["purged"], 2);
  r = st.admin("cache/purge", "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(st.status_json()["cache"]["entries"], 0);
  EXPECT_TRUE(
      has(st.metrics(), "fallback_cache_evictions_total{reason=\"purged\"} " + std::to_string(entries)));

  r = st.admin("log-level", R"({"level":"debug"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(st.status_json()["log_level"], "debug");
  r = st.admin("log-level", R"({"level":"error"})");
  ASSERT_EQ(r.status, 200) << r.body;
  // The change's own warn line is written before the level rises above warn.
  ASSERT_TRUE(st.mcp->wait_for_line(
      [](const std::string& l) { return has(l, "\"detail\":\"level=error (was debug)\""); }));
  s = st.status_json();
  EXPECT_EQ(s["log_level"], "error");
  ASSERT_GE(s["admin_actions"].size(), 4u);
  EXPECT_EQ(s["admin_actions"][0]["action"], "log_level");
  EXPECT_EQ(s["admin_actions"][2]["action"], "cache_purge");
  const std::string m = st.metrics();
  EXPECT_TRUE(has(m, "admin_actions_total{action=\"log_level\"} 2")) << m;
  EXPECT_TRUE(has(m, "admin_actions_total{action=\"cache_purge\"} 2")) << m;

  st.session.reset();
  ASSERT_EQ(st.admin("log-level", R"({"level":"info"})").status, 200);  // to see the shutdown lines
  r = st.admin("drain", "");
  EXPECT_EQ(r.status, 202) << r.body;
  // Same path as SIGTERM: drains and exits 0 by itself.
  EXPECT_EQ(st.mcp->wait_exit(std::chrono::seconds(15)), 0) << st.mcp->stderr_text();
  const std::string log = st.mcp->stderr_text();
  EXPECT_TRUE(has(log, "\"msg\":\"shutting down: draining\",\"signal\":\"SIGTERM\"")) << log;
  EXPECT_TRUE(has(log, "\"msg\":\"stopped\"")) << log;
}

// The service bound on a non-loopback address of this machine, called on that address (so the
// server sees a non-loopback peer): no token is refused, the right token is accepted.
TEST(AdminActions, NonLoopbackCallerNeedsAToken) {
  const auto ip = non_loopback_ipv4();
  if (!ip) GTEST_SKIP() << "this machine has no non-loopback IPv4 address to bind";
  const std::string token = "status-admin-token-0123456789";
  TempDir dir;
  auto opts = fault::mcp_options(dir, "http://127.0.0.1:9/api/v1", {"--host", *ip});
  opts.env["MCP_AUTH_TOKENS"] = token;
  Process mcp(opts);
  const int port = mcp.wait_for_port("taskman-mcp");
  std::fprintf(stderr, "[setup] taskman mcp bound on %s:%d\n", ip->c_str(), port);

  auto r = http_to(*ip, port, "POST", "/admin/breaker", {}, R"({"mode":"open"})");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_TRUE(has(r.headers["www-authenticate"], "Bearer")) << r.raw;
  EXPECT_TRUE(has(r.body, "MCP_AUTH_TOKENS")) << r.body;
  r = http_to(*ip, port, "POST", "/admin/breaker", {{"Authorization", "Bearer wrong-token-0123456789"}},
              R"({"mode":"open"})");
  EXPECT_EQ(r.status, 401) << r.body;
  r = http_to(*ip, port, "GET", "/status.json");
  EXPECT_EQ(r.status, 401) << r.body;
  auto refused =
      mcp.wait_for_line([](const std::string& l) { return has(l, "\"msg\":\"admin request refused\""); });
  ASSERT_TRUE(refused);
  EXPECT_EQ(Json::parse(*refused)["remote"], *ip);
  EXPECT_FALSE(has(mcp.stderr_text(), "wrong-token")) << "a presented token reached the log";

  r = http_to(*ip, port, "POST", "/admin/breaker", {{"Authorization", "Bearer " + token}},
              R"({"mode":"open"})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = http_to(*ip, port, "GET", "/status.json", {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(r.status, 200) << r.body;
  const Json s = Json::parse(r.body);
  EXPECT_EQ(s["breaker"]["mode"], "forced_open");
  EXPECT_EQ(s["admin_actions"][0]["who"], "MCP_AUTH_TOKENS[0]");
  EXPECT_EQ(s["admin_actions"][0]["remote"], *ip);
  EXPECT_FALSE(has(r.body, token)) << "the token reached the status page";
  EXPECT_FALSE(has(mcp.stderr_text(), token)) << "the token reached the log";

  // Without any token configured, a non-loopback caller cannot be admitted at all: 403.
  TempDir dir2;
  auto open_opts = fault::mcp_options(dir2, "http://127.0.0.1:9/api/v1",
                                      {"--host", *ip, "--insecure-allow-unauthenticated"});
  Process open_mcp(open_opts);
  const int open_port = open_mcp.wait_for_port("taskman-mcp");
  r = http_to(*ip, open_port, "POST", "/admin/drain", {}, "{}");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_TRUE(has(r.body, "loopback")) << r.body;
  EXPECT_EQ(http_to(*ip, open_port, "GET", "/status").status, 403);
  EXPECT_FALSE(open_mcp.wait_exit(std::chrono::milliseconds(200)));  // no drain happened
}

}  // namespace
}  // namespace taskman::testing::status
