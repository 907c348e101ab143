// docs/observability.md#request-ids and #logs under concurrency: 8 agents call tools through one `taskman
// serve` at once, each request with its own X-Request-ID and its own traceparent. Every stderr log line that
// carries one of those request ids must carry that request's trace id (and the reverse), on the MCP
// side and on the backend the id was forwarded to, and every exported span must agree. Context that
// leaked between requests (a shared or thread-local "current request", a pool reusing a context)
// shows up here as a line or span pairing one request's id with another's trace.
#include <gtest/gtest.h>
#include <signal.h>

#include <future>
#include <set>

#include "support/mcp_session.hpp"
#include "support/process.hpp"
#include "tracing/tracing_support.hpp"

namespace taskman::testing::tracing {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr int kThreads = 8;
constexpr int kCallsPerThread = 25;

struct Sent {
  std::string request_id;
  std::string trace_id;
  std::string parent_id;
  std::string tool;
  std::string error;  // empty when the call succeeded
};

// One agent: its own session; create_task / get_task / list_tasks in turn, each call with fresh ids.
std::vector<Sent> agent(int mcp_port, int index, std::shared_future<void> go) {
  std::vector<Sent> sent;
  McpSession session = McpSession::open(mcp_port);
  go.wait();  // all agents start together, so their requests interleave in the server
  std::string last_task;
  for (int i = 0; i < kCallsPerThread; ++i) {
    Sent s;
    s.request_id = "corr-" + std::to_string(index) + "-" + std::to_string(i) + "-" + random_span_id();
    s.trace_id = random_trace_id();
    s.parent_id = random_span_id();
    const std::map<std::string, std::string> headers = {{"traceparent", traceparent(s.trace_id, s.parent_id)},
                                                        {"X-Request-ID", s.request_id}};
    Json args;
    if (i % 3 == 0 || last_task.empty()) {
      s.tool = "create_task";
      args = {{"title", "agent " + std::to_string(index) + " task " + std::to_string(i)}};
    } else if (i % 3 == 1) {
      s.tool = "get_task";
      args = {{"id", last_task}};
    } else {
      s.tool = "list_tasks";
      args = {{"limit", 5}};
    }
    try {
      Json r = session.call_tool(s.tool, args, headers);
      if (r.value("isError", false)) {
        s.error = r.dump();
      } else if (s.tool == "create_task") {
        last_task = r["structuredContent"]["task"]["id"];
      }
    } catch (const std::exception& e) {
      s.error = e.what();
    }
    sent.push_back(std::move(s));
  }
  return sent;
}

TEST(LogCorrelation, EveryLineAndSpanOfARequestCarriesItsOwnTraceUnderConcurrentLoad) {
  OtlpCollector collector;
  TempDir dir;
  Process serve(traced(dir, serve_args(dir), collector.base_url(),
                       {{"LOG_LEVEL", "debug"}, {"OTEL_BSP_SCHEDULE_DELAY", "200"}}));
  serve.wait_for_port("taskman-api");
  const int mcp_port = serve.wait_for_port("taskman-mcp");

  std::promise<void> start;
  std::shared_future<void> go = start.get_future().share();
  std::vector<std::future<std::vector<Sent>>> agents;
  for (int t = 0; t < kThreads; ++t) agents.push_back(std::async(std::launch::async, agent, mcp_port, t, go));
  start.set_value();

  std::map<std::string, Sent> by_request;       // request id -> what was sent
  std::map<std::string, std::string> by_trace;  // trace id -> request id
  for (auto& f : agents) {
    ASSERT_EQ(f.wait_for(120s), std::future_status::ready) << "an agent did not finish within 120 s";
    for (auto& s : f.get()) {
      EXPECT_TRUE(s.error.empty()) << s.tool << " " << s.request_id << ": " << s.error;
      by_trace[s.trace_id] = s.request_id;
      by_request[s.request_id] = s;
    }
  }
  ASSERT_EQ(by_request.size(), static_cast<std::size_t>(kThreads * kCallsPerThread));

  // SIGTERM flushes the spans and ends stderr, so every line and span is in hand afterwards.
  serve.signal(SIGTERM);
  const auto code = serve.wait_exit(30s);
  ASSERT_TRUE(code.has_value()) << "no exit within 30 s of SIGTERM";
  EXPECT_EQ(*code, 0);

  // --- Logs ---
  std::map<std::string, int> mcp_access, api_access;
  // request id -> span_id on the access-log line of each service
  std::map<std::string, std::string> mcp_access_span, api_access_span;
  std::size_t json_lines = 0;
  for (const auto& line : serve.stderr_lines()) {
    const Json j = Json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    ++json_lines;
    const std::string rid = j.value("request_id", "");
    const std::string tid = j.value("trace_id", "");
    if (auto it = by_request.find(rid); it != by_request.end()) {
      EXPECT_EQ(tid, it->second.trace_id)
          << "cross-talk: request " << rid << " logged with another trace: " << line;
      EXPECT_TRUE(is_id_hex(j.value("span_id", ""), 16)) << line;
      if (j.value("msg", "") == "http request") {
        if (j.value("service", "") == "taskman-mcp") {
          ++mcp_access[rid];
          mcp_access_span[rid] = j.value("span_id", "");
          EXPECT_EQ(j.value("route", ""), "/mcp") << line;
        } else if (j.value("service", "") == "taskman-api") {
          ++api_access[rid];
          api_access_span[rid] = j.value("span_id", "");
          EXPECT_EQ(j.value("route", "").rfind("/api/v1/tasks", 0), 0u) << line;
        }
      }
    }
    // The reverse direction: a line in one of our traces belongs to the request that started it.
    if (auto it = by_trace.find(tid); it != by_trace.end()) {
      EXPECT_EQ(rid, it->second) << "cross-talk: trace " << tid << " logged with request id '" << rid
                                 << "': " << line;
    }
  }
  ASSERT_GT(json_lines, 0u);
  for (const auto& [rid, s] : by_request) {
    // docs/observability.md#logs: one access-log line per HTTP request, and the id forwarded to the backend.
    EXPECT_EQ(mcp_access[rid], 1) << "MCP access-log lines for " << rid << " (" << s.tool << ")";
    EXPECT_EQ(api_access[rid], 1) << "backend access-log lines for " << rid << " (" << s.tool
                                  << ", no retry expected)";
  }

  // --- Spans: the same pairing holds for everything exported. ---
  const auto spans = decode_bodies(collector.bodies());
  std::map<std::string, int> spans_per_request, tool_spans;
  std::map<std::string, std::set<std::string>> services_per_request;
  for (const auto& span : spans) {
    const std::string rid = span.str("taskman.request_id");
    if (auto it = by_request.find(rid); it != by_request.end()) {
      ++spans_per_request[rid];
      services_per_request[rid].insert(span.service);
      EXPECT_EQ(span.trace_id, it->second.trace_id) << "cross-talk: " << rid << " on " << span.describe();
      if (span.name == "POST /mcp" && span.kind == 2) {
        EXPECT_EQ(span.parent_span_id, it->second.parent_id) << span.describe();
        // The access-log line names the span the request was served under.
        EXPECT_EQ(span.span_id, mcp_access_span[rid]) << rid;
      }
      if (span.service == "taskman-api" && span.kind == 2) {
        EXPECT_EQ(span.span_id, api_access_span[rid]) << rid << ": backend access line vs its server span";
      }
      if (span.name == "tools/call " + it->second.tool && span.str("gen_ai.tool.name") == it->second.tool) {
        ++tool_spans[rid];
      }
    }
    if (auto it = by_trace.find(span.trace_id); it != by_trace.end()) {
      EXPECT_EQ(rid, it->second) << "span of trace " << span.trace_id << " carries request id '" << rid
                                 << "': " << span.describe();
    }
  }
  for (const auto& [rid, s] : by_request) {
    // HTTP server, MCP, backend client, API server, database.
    EXPECT_EQ(spans_per_request[rid], 5) << rid << " (" << s.tool << ")";
    EXPECT_EQ(tool_spans[rid], 1) << rid << ": its MCP span must name the tool it called (" << s.tool << ")";
    EXPECT_EQ(services_per_request[rid], (std::set<std::string>{"taskman-api", "taskman-mcp"})) << rid;
  }
}

}  // namespace
}  // namespace taskman::testing::tracing
