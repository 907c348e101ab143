// docs/observability.md#tracing, end to end through real processes: an agent's tools/call becomes one trace
// -- MCP HTTP server span -> `tools/call <tool>` MCP span -> backend client span per attempt -> API HTTP
// server span -> database span -- exported over OTLP/HTTP to a loopback receiver and decoded by a
// decoder taskman did not write. Incoming W3C context is continued from the HTTP `traceparent`
// header and from MCP `params._meta.traceparent`. Spans are flushed on SIGTERM, so every wait is on a
// port line, a process exit or the fault proxy's condition variable.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cctype>

#include "support/fault_proxy.hpp"
#include "support/mcp_session.hpp"
#include "support/process.hpp"
#include "tracing/tracing_support.hpp"

namespace taskman::testing::tracing {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr int kServer = 2;
constexpr int kClient = 3;
constexpr int kStatusError = 2;

// Graceful stop: SIGTERM flushes the spans (docs/observability.md#graceful-shutdown) and the process exits 0.
void stop(Process& p) {
  p.signal(SIGTERM);
  const auto code = p.wait_exit(30s);
  ASSERT_TRUE(code.has_value()) << "no exit within 30 s of SIGTERM";
  EXPECT_EQ(*code, 0);
}

// The spans one tools/call produced, found by the request id every span carries
// (docs/observability.md#spans).
struct Chain {
  const DecodedSpan* http = nullptr;        // taskman-mcp "POST /mcp"
  const DecodedSpan* mcp = nullptr;         // taskman-mcp "tools/call <tool>"
  std::vector<const DecodedSpan*> clients;  // taskman-mcp backend attempts, by start time
  const DecodedSpan* api = nullptr;         // taskman-api HTTP server span
  const DecodedSpan* db = nullptr;          // taskman-api database span
};

Chain chain_of(const std::vector<DecodedSpan>& spans, const std::string& request_id,
               const std::string& tool) {
  Chain c;
  std::string all;
  auto one = [&](const DecodedSpan*& slot, const DecodedSpan* s) {
    if (slot != nullptr)
      ADD_FAILURE() << "two spans for one slot: " << slot->describe() << " and " << s->describe();
    slot = s;
  };
  for (const DecodedSpan* s : with_request_id(spans, request_id)) {
    all += "\n  " + s->describe();
    if (s->service == "taskman-mcp" && s->kind == kServer && s->name == "POST /mcp") {
      one(c.http, s);
    } else if (s->service == "taskman-mcp" && s->kind == kServer && s->name == "tools/call " + tool) {
      one(c.mcp, s);
    } else if (s->service == "taskman-mcp" && s->kind == kClient) {
      c.clients.push_back(s);
    } else if (s->service == "taskman-api" && s->kind == kServer) {
      one(c.api, s);
    } else if (s->service == "taskman-api" && s->kind == kClient) {
      one(c.db, s);
    } else {
      ADD_FAILURE() << "unexpected span for request " << request_id << ": " << s->describe();
    }
  }
  std::sort(c.clients.begin(), c.clients.end(),
            [](const DecodedSpan* a, const DecodedSpan* b) { return a->start_ns < b->start_ns; });
  if (!c.http || !c.mcp || c.clients.empty() || !c.api || !c.db) {
    ADD_FAILURE() << "incomplete chain for request " << request_id << "; spans carrying it:" << all;
  }
  return c;
}

// `child` is a local or remote child of `parent`: same trace, parentSpanId, and it cannot start earlier.
void expect_child(const DecodedSpan& child, const DecodedSpan& parent) {
  EXPECT_EQ(child.trace_id, parent.trace_id) << child.describe() << " vs " << parent.describe();
  EXPECT_EQ(child.parent_span_id, parent.span_id)
      << child.describe() << " should be a child of " << parent.describe();
  EXPECT_GE(child.start_ns, parent.start_ns) << child.describe();
}

// Backend attempt -> API server span -> database span, and the attributes of each (semantic conventions).
// `client_port` is where the MCP server sends (the API, or the fault proxy in front of it).
void expect_backend_part(const Chain& c, const std::string& method, const std::string& route, int client_port,
                         int api_port, int api_status, const std::string& db_operation) {
  for (const DecodedSpan* client : c.clients) {
    expect_child(*client, *c.mcp);
    EXPECT_EQ(client->name, method);
    EXPECT_EQ(client->str("http.request.method"), method);
    EXPECT_EQ(client->str("server.address"), "127.0.0.1");
    EXPECT_EQ(client->str("url.full").rfind("http://127.0.0.1:", 0), 0u) << client->str("url.full");
    EXPECT_LE(client->end_ns, c.mcp->end_ns) << "a backend attempt outlived its MCP request";
  }
  const DecodedSpan& last = *c.clients.back();
  EXPECT_EQ(last.integer("server.port"), client_port);
  expect_child(*c.api, last);  // the API continued the traceparent the client injected
  EXPECT_EQ(c.api->name, method + " " + route);
  EXPECT_EQ(c.api->str("http.route"), route);
  EXPECT_EQ(c.api->str("http.request.method"), method);
  EXPECT_EQ(c.api->integer("http.response.status_code"), api_status);
  EXPECT_EQ(c.api->integer("server.port"), api_port);
  EXPECT_EQ(last.integer("http.response.status_code"), api_status);

  expect_child(*c.db, *c.api);
  EXPECT_EQ(c.db->str("db.system.name"), "sqlite");
  EXPECT_EQ(c.db->str("db.operation.name"), db_operation);
  EXPECT_EQ(c.db->str("db.collection.name"), "tasks");
  EXPECT_EQ(c.db->name, db_operation + " tasks");
  EXPECT_LE(c.db->end_ns, c.api->end_ns) << "the query outlived its HTTP request";
}

void expect_mcp_span(const Chain& c, const std::string& tool, const std::string& session_id,
                     const std::string& rpc_id, const std::string& request_id) {
  EXPECT_EQ(c.mcp->str("mcp.method.name"), "tools/call");
  EXPECT_EQ(c.mcp->str("gen_ai.tool.name"), tool);
  EXPECT_EQ(c.mcp->str("gen_ai.operation.name"), "execute_tool");
  EXPECT_EQ(c.mcp->str("mcp.session.id"), session_id);
  EXPECT_EQ(c.mcp->str("jsonrpc.request.id"), rpc_id);
  EXPECT_EQ(c.mcp->str("network.transport"), "tcp");
  EXPECT_EQ(c.mcp->str("taskman.request_id"), request_id);
  // No end-time check against the HTTP span: the MCP span ends after the response is handed to the
  // transport (mcp::CallContext::finish), which may write it on another I/O thread first.

  EXPECT_EQ(c.http->str("http.route"), "/mcp");
  EXPECT_EQ(c.http->str("http.request.method"), "POST");
  EXPECT_EQ(c.http->integer("http.response.status_code"), 200);
}

std::string ids(const std::vector<const DecodedSpan*>& spans) {
  std::string out;
  for (const auto* s : spans) out += "\n  " + s->describe();
  return out;
}

TEST(TracePropagation, OneTraceFromTheAgentToTheDatabaseContinuingIncomingContext) {
  OtlpCollector collector;
  TempDir dir;
  Process serve(traced(dir, serve_args(dir), collector.base_url()));
  const int api_port = serve.wait_for_port("taskman-api");
  const int mcp_port = serve.wait_for_port("taskman-mcp");
  auto session = McpSession::open(mcp_port);

  // A: the agent sends traceparent (and tracestate) as HTTP headers.
  const std::string trace_a = random_trace_id(), parent_a = random_span_id();
  auto a = session.call_tool("create_task", {{"title", "traced via header"}},
                             {{"traceparent", traceparent(trace_a, parent_a)},
                              {"tracestate", "congo=t61rcWkgMzE"},
                              {"X-Request-ID", "trace-test-a"}});
  ASSERT_FALSE(a.value("isError", false)) << a.dump();
  const std::string rpc_a = std::to_string(session.last_request_id());

  // B: context in params._meta wins for the MCP span; the HTTP span keeps the header's trace.
  const std::string trace_meta = random_trace_id(), parent_meta = random_span_id();
  const std::string trace_hdr = random_trace_id(), parent_hdr = random_span_id();
  auto b = session.request(
      "tools/call",
      {{"name", "create_task"},
       {"arguments", {{"title", "traced via _meta"}}},
       {"_meta", {{"traceparent", traceparent(trace_meta, parent_meta)}}}},
      {{"traceparent", traceparent(trace_hdr, parent_hdr)}, {"X-Request-ID", "trace-test-b"}});
  ASSERT_TRUE(b.contains("result") && !b["result"].value("isError", false)) << b.dump();
  const std::string rpc_b = std::to_string(session.last_request_id());

  // C: no context at all: a new trace rooted at the MCP HTTP server span.
  auto c =
      session.call_tool("create_task", {{"title", "untraced agent"}}, {{"X-Request-ID", "trace-test-c"}});
  ASSERT_FALSE(c.value("isError", false)) << c.dump();
  const std::string rpc_c = std::to_string(session.last_request_id());

  // D: a malformed traceparent (uppercase hex, W3C §3.2.2.3) is ignored: a new trace, not a continuation.
  std::string upper_trace = random_trace_id();
  for (auto& ch : upper_trace) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  upper_trace[0] = 'A';  // at least one letter, so the value really is not lowercase
  auto d = session.call_tool("create_task", {{"title", "bad traceparent"}},
                             {{"traceparent", "00-" + upper_trace + "-" + random_span_id() + "-01"},
                              {"X-Request-ID", "trace-test-d"}});
  ASSERT_FALSE(d.value("isError", false)) << d.dump();

  // E: a string JSON-RPC id is recorded as the id itself (semantic conventions: "request-7", not
  // "\"request-7\"").
  const Json e_req = {{"jsonrpc", "2.0"},
                      {"id", "request-7"},
                      {"method", "tools/call"},
                      {"params", {{"name", "create_task"}, {"arguments", {{"title", "string id"}}}}}};
  auto e = http(mcp_port, "POST", "/mcp",
                {{"Content-Type", "application/json"},
                 {"Accept", "application/json, text/event-stream"},
                 {"Mcp-Session-Id", session.id()},
                 {"MCP-Protocol-Version", "2025-11-25"},
                 {"X-Request-ID", "trace-test-e"}},
                e_req.dump());
  ASSERT_EQ(e.status, 200) << e.body;

  stop(serve);
  ASSERT_FALSE(HasFatalFailure());
  const auto spans = decode_bodies(collector.bodies());
  ASSERT_FALSE(spans.empty()) << "nothing was exported";

  {
    SCOPED_TRACE("A: traceparent header");
    const Chain ch = chain_of(spans, "trace-test-a", "create_task");
    ASSERT_TRUE(ch.http && ch.mcp && ch.api && ch.db && !ch.clients.empty());
    EXPECT_EQ(ch.http->trace_id, trace_a);
    EXPECT_EQ(ch.http->parent_span_id, parent_a) << "the HTTP server span must continue the agent's span";
    // W3C trace-context §3.3: a received tracestate goes out with the outgoing calls, so every span of
    // the trace, in both services, carries it.
    for (const DecodedSpan* span : in_trace(spans, trace_a)) {
      EXPECT_EQ(span->trace_state, "congo=t61rcWkgMzE") << span->describe();
    }
    expect_child(*ch.mcp, *ch.http);
    EXPECT_EQ(ch.clients.size(), 1u) << "no retry was provoked:" << ids(ch.clients);
    EXPECT_FALSE(ch.clients[0]->has("http.request.resend_count")) << "a first attempt is not a resend";
    expect_mcp_span(ch, "create_task", session.id(), rpc_a, "trace-test-a");
    expect_backend_part(ch, "POST", "/api/v1/tasks", api_port, api_port, 201, "INSERT");
    // One trace holds exactly this request: nothing of another request leaked into it.
    EXPECT_EQ(in_trace(spans, trace_a).size(), 5u) << ids(in_trace(spans, trace_a));
  }
  {
    SCOPED_TRACE("B: params._meta.traceparent");
    const Chain ch = chain_of(spans, "trace-test-b", "create_task");
    ASSERT_TRUE(ch.http && ch.mcp && ch.api && ch.db && !ch.clients.empty());
    EXPECT_EQ(ch.http->trace_id, trace_hdr);
    EXPECT_EQ(ch.http->parent_span_id, parent_hdr);
    EXPECT_EQ(ch.mcp->trace_id, trace_meta) << "the MCP span must continue params._meta.traceparent";
    EXPECT_EQ(ch.mcp->parent_span_id, parent_meta);
    expect_mcp_span(ch, "create_task", session.id(), rpc_b, "trace-test-b");
    expect_backend_part(ch, "POST", "/api/v1/tasks", api_port, api_port, 201, "INSERT");
    EXPECT_EQ(in_trace(spans, trace_meta).size(), 4u) << ids(in_trace(spans, trace_meta));
    EXPECT_EQ(in_trace(spans, trace_hdr).size(), 1u) << ids(in_trace(spans, trace_hdr));
  }
  {
    SCOPED_TRACE("C: no incoming context");
    const Chain ch = chain_of(spans, "trace-test-c", "create_task");
    ASSERT_TRUE(ch.http && ch.mcp && ch.api && ch.db && !ch.clients.empty());
    EXPECT_TRUE(is_id_hex(ch.http->trace_id, 32)) << ch.http->trace_id;
    EXPECT_TRUE(is_id_hex(ch.http->span_id, 16)) << ch.http->span_id;
    EXPECT_EQ(ch.http->parent_span_id, "") << "a request without context starts a trace";
    expect_child(*ch.mcp, *ch.http);
    expect_mcp_span(ch, "create_task", session.id(), rpc_c, "trace-test-c");
    expect_backend_part(ch, "POST", "/api/v1/tasks", api_port, api_port, 201, "INSERT");
    EXPECT_EQ(in_trace(spans, ch.http->trace_id).size(), 5u) << ids(in_trace(spans, ch.http->trace_id));
  }
  {
    SCOPED_TRACE("D: malformed traceparent");
    const Chain ch = chain_of(spans, "trace-test-d", "create_task");
    ASSERT_TRUE(ch.http && ch.mcp);
    std::string lowered = upper_trace;
    for (auto& ch2 : lowered) ch2 = static_cast<char>(std::tolower(static_cast<unsigned char>(ch2)));
    EXPECT_NE(ch.http->trace_id, lowered) << "an uppercase traceparent must not be continued";
    EXPECT_EQ(ch.http->parent_span_id, "");
    EXPECT_TRUE(is_id_hex(ch.http->trace_id, 32)) << ch.http->trace_id;
    expect_child(*ch.mcp, *ch.http);
  }
  {
    SCOPED_TRACE("E: string JSON-RPC id");
    const Chain ch = chain_of(spans, "trace-test-e", "create_task");
    ASSERT_TRUE(ch.mcp);
    EXPECT_EQ(ch.mcp->str("jsonrpc.request.id"), "request-7");
  }
}

// docs/observability.md#spans: one CLIENT span per backend attempt, the retry marked with
// http.request.resend_count. `taskman api` and `taskman mcp` run apart with the fault proxy between them
// failing the first GET /api/v1/tasks/{id} with 503; the proxy itself is not traced, so the API span's parent
// is the attempt that reached it.
TEST(TracePropagation, EachBackendAttemptIsAClientSpanAndTheRetryCarriesResendCount) {
  OtlpCollector collector;
  TempDir dir;
  Process api(traced(dir, {"api", "--api-port", "0", "--database-url", "sqlite:" + dir.path() + "/t.db"},
                     collector.base_url()));
  const int api_port = api.wait_for_port("taskman-api");
  auto proxy = std::make_unique<FaultProxy>(static_cast<std::uint16_t>(api_port));
  Process mcp(traced(dir, {"mcp", "--port", "0", "--task-manager-api-endpoint", proxy->endpoint()},
                     collector.base_url()));
  const int mcp_port = mcp.wait_for_port("taskman-mcp");
  auto session = McpSession::open(mcp_port);

  auto created =
      session.call_tool("create_task", {{"title", "read me twice"}}, {{"X-Request-ID", "retry-create"}});
  ASSERT_FALSE(created.value("isError", false)) << created.dump();
  const std::string id = created["structuredContent"]["task"]["id"];

  proxy->add_rule("GET", "/api/v1/tasks/{id}", {Fault::fail(503)});
  const std::string trace = random_trace_id(), parent = random_span_id();
  auto got = session.call_tool("get_task", {{"id", id}},
                               {{"traceparent", traceparent(trace, parent)}, {"X-Request-ID", "retry-get"}});
  ASSERT_FALSE(got.value("isError", false)) << got.dump();
  EXPECT_FALSE(got.contains("_meta") && got["_meta"].value("taskman/stale", false))
      << "answered fresh, not from cache";
  EXPECT_EQ(got["structuredContent"]["task"]["id"], id);
  const std::string rpc_get = std::to_string(session.last_request_id());

  // The proxy saw exactly the failed attempt and the retry, and the retry reached the API.
  const auto seen = proxy->seen();
  std::vector<SeenRequest> gets;
  for (const auto& s : seen) {
    if (s.method == "GET" && s.path == "/api/v1/tasks/" + id) gets.push_back(s);
  }
  ASSERT_EQ(gets.size(), 2u);
  EXPECT_EQ(gets[0].applied, Fault::Kind::kFail);
  EXPECT_EQ(gets[1].applied, Fault::Kind::kForward);
  EXPECT_EQ(gets[0].request_id, "retry-get");
  EXPECT_EQ(gets[1].request_id, "retry-get");

  const int proxy_port = proxy->port();
  stop(mcp);
  proxy.reset();
  stop(api);
  ASSERT_FALSE(HasFatalFailure());
  const auto spans = decode_bodies(collector.bodies());

  const Chain ch = chain_of(spans, "retry-get", "get_task");
  ASSERT_TRUE(ch.http && ch.mcp && ch.api && ch.db);
  EXPECT_EQ(ch.http->trace_id, trace);
  EXPECT_EQ(ch.http->parent_span_id, parent);
  expect_child(*ch.mcp, *ch.http);
  expect_mcp_span(ch, "get_task", session.id(), rpc_get, "retry-get");
  ASSERT_EQ(ch.clients.size(), 2u) << "one client span per attempt:" << ids(ch.clients);
  const DecodedSpan& first = *ch.clients[0];
  const DecodedSpan& retry = *ch.clients[1];
  EXPECT_FALSE(first.has("http.request.resend_count")) << first.describe();
  EXPECT_EQ(first.integer("http.response.status_code"), 503);
  EXPECT_EQ(first.status_code, kStatusError) << "a 5xx answer makes a client span an error";
  EXPECT_EQ(retry.integer("http.request.resend_count"), 1) << retry.describe();
  EXPECT_NE(retry.status_code, kStatusError);
  EXPECT_GE(retry.start_ns, first.end_ns) << "the retry starts after the failed attempt ended";
  EXPECT_NE(first.span_id, retry.span_id);
  EXPECT_EQ(first.integer("server.port"), proxy_port);
  expect_backend_part(ch, "GET", "/api/v1/tasks/{id}", proxy_port, api_port, 200, "SELECT");
  EXPECT_EQ(in_trace(spans, trace).size(), 6u) << ids(in_trace(spans, trace));
}

}  // namespace
}  // namespace taskman::testing::tracing
