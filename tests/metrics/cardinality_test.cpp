// Label cardinality under hostile traffic (docs/observability.md#label-values). Random paths,
// methods, query strings, tool and method names, session ids, protocol versions, origins, task ids
// and request ids go to both services; no random string may reach /metrics, and once every kind of
// request has been seen, hundreds more of them must not add series.
#include <gtest/gtest.h>
#include <signal.h>

#include <functional>
#include <iostream>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "metrics/exposition.hpp"
#include "support/mcp_session.hpp"
#include "support/process.hpp"

namespace taskman::testing {
namespace {

using nlohmann::json;

// Every random string starts with this marker, so one search of the exposition finds any of them.
constexpr std::string_view kMarker = "zqhx";

std::string series_key(const Sample& s) {
  std::string k = s.name + "{";
  for (const auto& [n, v] : s.labels) k += n + "=" + v + ",";
  return k + "}";
}

std::set<std::string> series_of(const std::string& text) {
  std::set<std::string> out;
  const auto exposition = Exposition::parse(text);  // outlives the loop (range-for keeps no temporaries)
  for (const auto& s : exposition.samples()) out.insert(series_key(s));
  return out;
}

class HostileClient {
 public:
  HostileClient(int api_port, int mcp_port, McpSession& session, std::uint64_t seed)
      : api_(api_port), mcp_(mcp_port), session_(session), rng_(seed) {}

  // A fresh random token: the marker and 12 characters from [a-z0-9].
  std::string token() {
    static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::uniform_int_distribution<int> pick(0, 35);
    std::string t(kMarker);
    for (int i = 0; i < 12; ++i) t += kChars[pick(rng_)];
    return t;
  }
  int pick_port() { return std::uniform_int_distribution<int>(0, 1)(rng_) ? api_ : mcp_; }

  std::map<std::string, std::string> headers() { return {{"X-Request-ID", token()}}; }
  std::map<std::string, std::string> mcp_headers(const std::string& session_id) {
    auto h = headers();
    h["Content-Type"] = "application/json";
    h["Accept"] = "application/json, text/event-stream";
    h["Mcp-Session-Id"] = session_id;
    h["MCP-Protocol-Version"] = "2025-11-25";
    return h;
  }
  std::string rpc(const std::string& method, const json& params) {
    return json{{"jsonrpc", "2.0"}, {"id", 7}, {"method", method}, {"params", params}}.dump();
  }

  // One request of each kind; every kind checks the answer it must get, so the traffic is what
  // the test says it is.
  std::vector<std::function<void()>> kinds() {
    return {
        [this] {  // random path, anywhere
          auto r = http(pick_port(), "GET", "/" + token() + "/" + token(), headers());
          EXPECT_EQ(r.status, 404);
        },
        [this] {  // random id under a route template
          auto r = http(api_, "GET", "/api/v1/tasks/" + token(), headers());
          EXPECT_EQ(r.status, 404);
        },
        [this] {  // random segments below a template
          auto r = http(api_, "GET", "/api/v1/tasks/" + token() + "/" + token() + "/" + token(), headers());
          EXPECT_EQ(r.status, 404);
        },
        [this] {  // random method on a known route
          auto r = http(pick_port(), token(), "/health/live", headers());
          EXPECT_EQ(r.status, 405);
        },
        [this] {  // random method on a random path
          auto r = http(pick_port(), token(), "/" + token(), headers());
          EXPECT_EQ(r.status, 404);
        },
        [this] {  // random query string on a known route
          auto r = http(pick_port(), "GET", "/health/live?" + token() + "=" + token(), headers());
          EXPECT_EQ(r.status, 200);
        },
        [this] {  // invalid filter value
          auto r = http(api_, "GET", "/api/v1/tasks?status=" + token(), headers());
          EXPECT_EQ(r.status, 400);
        },
        [this] {  // unknown tool: JSON-RPC -32602
          auto r = http(mcp_, "POST", "/mcp", mcp_headers(session_.id()),
                        rpc("tools/call", {{"name", token()}, {"arguments", json::object()}}));
          ASSERT_EQ(r.status, 200);
          EXPECT_EQ(find_rpc_response(r.headers["content-type"], r.body, 7)["error"]["code"], -32602)
              << r.body;
        },
        [this] {  // unknown JSON-RPC method
          auto r = http(mcp_, "POST", "/mcp", mcp_headers(session_.id()), rpc(token(), json::object()));
          ASSERT_EQ(r.status, 200);
          EXPECT_EQ(find_rpc_response(r.headers["content-type"], r.body, 7)["error"]["code"], -32601)
              << r.body;
        },
        [this] {  // bogus session id
          auto r = http(mcp_, "POST", "/mcp", mcp_headers(token()), rpc("tools/list", json::object()));
          EXPECT_EQ(r.status, 404);
        },
        [this] {  // bogus session id, DELETE
          auto r = http(mcp_, "DELETE", "/mcp", mcp_headers(token()));
          EXPECT_EQ(r.status, 404);
        },
        [this] {  // unsupported protocol version
          auto h = mcp_headers(session_.id());
          h["MCP-Protocol-Version"] = token();
          auto r = http(mcp_, "POST", "/mcp", h, rpc("tools/list", json::object()));
          EXPECT_EQ(r.status, 400);
        },
        [this] {  // foreign origin (DNS rebinding guard)
          auto h = mcp_headers(session_.id());
          h["Origin"] = "http://" + token() + ".example";
          auto r = http(mcp_, "POST", "/mcp", h, rpc("tools/list", json::object()));
          EXPECT_EQ(r.status, 403);
        },
        [this] {  // random task id: a backend 404 under the /tasks/{id} template
          auto r = session_.call_tool("get_task", {{"id", token()}});
          EXPECT_TRUE(r.value("isError", false)) << r.dump();
        },
        [this] {  // a task id with slashes: the backend path leaves the templates
          auto r = session_.call_tool("get_task", {{"id", token() + "/" + token() + "/comments/" + token()}});
          EXPECT_TRUE(r.value("isError", false)) << r.dump();
        },
        [this] {  // random filter values through the MCP server
          auto r = session_.call_tool("list_tasks", {{"label", token()}, {"assignee", token()}});
          EXPECT_FALSE(r.value("isError", false)) << r.dump();
        },
        [this] {  // random resource URI
          auto r = session_.request("resources/read", {{"uri", "taskman://tasks/" + token()}});
          EXPECT_TRUE(r.contains("error") || r["result"].value("isError", false)) << r.dump();
        },
        [this] {  // random prompt name
          auto r = session_.request("prompts/get", {{"name", token()}});
          EXPECT_TRUE(r.contains("error")) << r.dump();
        },
        [this] {  // not HTTP at all
          auto raw = http_raw(pick_port(), token() + " \x01\x02 " + token() + "\r\n\r\n");
          EXPECT_NE(raw.find(" 400 "), std::string::npos) << raw;
        },
    };
  }

 private:
  int api_;
  int mcp_;
  McpSession& session_;
  std::mt19937_64 rng_;
};

TEST(MetricsCardinality, HostileTrafficAddsNoSeries) {
  TempDir dir;
  Process::Options o = serve_options(dir);
  Process p(o);
  const int api_port = p.wait_for_port("taskman-api");
  const int mcp_port = p.wait_for_port("taskman-mcp");
  auto session = McpSession::open(mcp_port);

  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  HostileClient client(api_port, mcp_port, session, seed);
  auto kinds = client.kinds();

  // The scrapes themselves add series (GET /metrics on each port): scrape once before measuring.
  scrape_metrics(api_port);
  scrape_metrics(mcp_port);

  // Round 1: every kind once, so every bounded label value a kind can produce exists.
  for (auto& kind : kinds) kind();
  const std::string after_one = scrape_metrics(mcp_port);
  ASSERT_EQ(after_one.find(kMarker), std::string::npos) << after_one;
  const auto series_one = series_of(after_one);

  // Round 2: many more, in random order, with fresh random strings each time.
  constexpr int kRequests = 400;
  std::mt19937 order(static_cast<std::uint32_t>(seed));
  for (int i = 0; i < kRequests; ++i) {
    kinds[std::uniform_int_distribution<std::size_t>(0, kinds.size() - 1)(order)]();
  }

  for (int port : {api_port, mcp_port}) {
    const std::string text = scrape_metrics(port);
    EXPECT_EQ(text.find(kMarker), std::string::npos) << "a random string reached /metrics on " << port;
    const auto promtool = promtool_check_metrics(text);
    EXPECT_EQ(promtool.exit_code, 0) << promtool.output;
    const auto series_two = series_of(text);
    std::vector<std::string> added;
    for (const auto& s : series_two) {
      if (!series_one.contains(s)) added.push_back(s);
    }
    // Every kind ran in round 1, so round 2 can only repeat bounded label values: any growth means a
    // label is fed by request data. The allowance of 4 covers an answer a kind gives only sometimes
    // (none is known today: the measured growth is 0).
    std::string list;
    for (const auto& s : added) list += s + "\n";
    std::cout << "port " << port << ": " << series_one.size() << " series after round 1, "
              << series_two.size() << " after " << kRequests << " more hostile requests\n";
    EXPECT_LE(added.size(), 4u) << "series added by " << kRequests << " more hostile requests:\n" << list;
    // A ceiling on the whole exposition: a few hundred series today, whatever the traffic.
    EXPECT_LT(series_two.size(), 1500u);
  }
  EXPECT_EQ(http(mcp_port, "GET", "/health/live").status, 200);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait_exit(), 0) << p.stderr_text();
}

}  // namespace
}  // namespace taskman::testing
