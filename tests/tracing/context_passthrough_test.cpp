// Context passes through even when nothing is recorded (issue 18): with tracing off, or on with a
// ratio sampler that leaves the request out, an agent platform's traceparent/tracestate (HTTP header
// or MCP params._meta) still reaches the backend with the same trace id, and the access-log lines of
// both services carry it. Real `taskman mcp` and `taskman api` processes with the fault proxy between
// them (forwarding only) to see what the backend is sent; every wait is on a log line, a process exit
// or the proxy's condition variable.
#include <gtest/gtest.h>
#include <signal.h>

#include "support/fault_proxy.hpp"
#include "support/mcp_session.hpp"
#include "support/process.hpp"
#include "tracing/tracing_support.hpp"

namespace taskman::testing::tracing {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

struct Stack {
  // `env` for both processes (empty: tracing off, the default).
  explicit Stack(const std::map<std::string, std::string>& env) {
    Process::Options a;
    a.args = {"api", "--api-port", "0", "--database-url", "sqlite:" + dir.path() + "/t.db"};
    a.cwd = dir.path();
    a.env = env;
    api = std::make_unique<Process>(a);
    proxy = std::make_unique<FaultProxy>(static_cast<std::uint16_t>(api->wait_for_port("taskman-api")));
    Process::Options m;
    m.args = {"mcp", "--port", "0", "--task-manager-api-endpoint", proxy->endpoint()};
    m.cwd = dir.path();
    m.env = env;
    mcp = std::make_unique<Process>(m);
    session = std::make_unique<McpSession>(McpSession::open(mcp->wait_for_port("taskman-mcp")));
  }
  ~Stack() {
    session.reset();
    mcp.reset();
    proxy.reset();
  }

  // What the backend was sent for the request with this X-Request-ID.
  SeenRequest sent_to_backend(const std::string& request_id) {
    EXPECT_TRUE(proxy->wait_until([&](const std::vector<SeenRequest>& seen) {
      for (const auto& s : seen) {
        if (s.request_id == request_id) return true;
      }
      return false;
    }));
    for (const auto& s : proxy->seen()) {
      if (s.request_id == request_id) return s;
    }
    return {};
  }

  TempDir dir;
  std::unique_ptr<Process> api;
  std::unique_ptr<FaultProxy> proxy;
  std::unique_ptr<Process> mcp;
  std::unique_ptr<McpSession> session;
};

// Waits for `p`'s access-log line ("msg":"http request") of `request_id`; its JSON, or null.
Json access_line(Process& p, const std::string& request_id) {
  auto line = p.wait_for_line(
      [&](const std::string& l) {
        auto j = Json::parse(l, nullptr, false);
        return j.is_object() && j.value("msg", "") == "http request" &&
               j.value("request_id", "") == request_id;
      },
      10s);
  return line ? Json::parse(*line) : Json();
}

std::string traceparent_of(const std::string& trace, const std::string& parent, const std::string& flags) {
  return "00-" + trace + "-" + parent + "-" + flags;
}

// The parts of a traceparent: version, trace id, parent id, flags.
std::vector<std::string> parts(const std::string& tp) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    auto dash = tp.find('-', pos);
    out.push_back(tp.substr(pos, dash == std::string::npos ? std::string::npos : dash - pos));
    if (dash == std::string::npos) break;
    pos = dash + 1;
  }
  return out;
}

Json list_call_with_meta(const std::string& tp) {
  return {{"name", "list_tasks"}, {"arguments", Json::object()}, {"_meta", {{"traceparent", tp}}}};
}

TEST(ContextPassthrough, TracingOffPassesTheCallersContextOnAndLogsItsTraceId) {
  Stack st({});  // no ENABLE_TRACING, no OTEL_DEBUG: tracing is off

  // (1) traceparent + tracestate as HTTP headers on POST /mcp.
  const std::string t1 = random_trace_id(), p1 = random_span_id(), rid1 = "passthrough-header-" + p1;
  auto r1 = st.session->call_tool("list_tasks", Json::object(),
                                  {{"traceparent", traceparent_of(t1, p1, "01")},
                                   {"tracestate", "platform=agent7,x=1"},
                                   {"X-Request-ID", rid1}});
  ASSERT_FALSE(r1.value("isError", false)) << r1.dump();
  const auto seen1 = st.sent_to_backend(rid1);
  // Nothing records here, so the caller's span stays the current one (the OTel API without an SDK):
  // the backend is sent the caller's context unchanged.
  EXPECT_EQ(seen1.traceparent, traceparent_of(t1, p1, "01"));
  EXPECT_EQ(seen1.tracestate, "platform=agent7,x=1");
  const Json mcp_line = access_line(*st.mcp, rid1);
  const Json api_line = access_line(*st.api, rid1);
  EXPECT_EQ(mcp_line.value("trace_id", ""), t1) << st.mcp->stderr_text();
  EXPECT_EQ(mcp_line.value("span_id", ""), p1);
  EXPECT_EQ(api_line.value("trace_id", ""), t1) << st.api->stderr_text();

  // (2) traceparent in params._meta (unsampled by the caller this time).
  const std::string t2 = random_trace_id(), p2 = random_span_id(), rid2 = "passthrough-meta-" + p2;
  auto r2 = st.session->request("tools/call", list_call_with_meta(traceparent_of(t2, p2, "00")),
                                {{"X-Request-ID", rid2}});
  ASSERT_TRUE(r2.contains("result")) << r2.dump();
  const auto seen2 = st.sent_to_backend(rid2);
  EXPECT_EQ(seen2.traceparent, traceparent_of(t2, p2, "00"));
  EXPECT_EQ(access_line(*st.api, rid2).value("trace_id", ""), t2) << st.api->stderr_text();

  // (3) no context from the caller: the backend still gets one trace id shared with both logs.
  const std::string rid3 = "passthrough-none-" + random_span_id();
  ASSERT_FALSE(
      st.session->call_tool("list_tasks", Json::object(), {{"X-Request-ID", rid3}}).value("isError", false));
  const auto p3 = parts(st.sent_to_backend(rid3).traceparent);
  ASSERT_EQ(p3.size(), 4u);
  EXPECT_TRUE(is_id_hex(p3[1], 32));
  EXPECT_EQ(p3[3], "00");  // nobody sampled it
  EXPECT_EQ(access_line(*st.api, rid3).value("trace_id", ""), p3[1]);
  EXPECT_EQ(access_line(*st.mcp, rid3).value("trace_id", ""), p3[1]);
}

TEST(ContextPassthrough, ARequestTheRatioSamplerLeavesOutStillPassesItsTraceOn) {
  OtlpCollector collector;
  const std::map<std::string, std::string> env = {{"ENABLE_TRACING", "true"},
                                                  {"OTEL_EXPORTER_OTLP_ENDPOINT", collector.base_url()},
                                                  {"OTEL_BSP_SCHEDULE_DELAY", "100"},
                                                  {"OTEL_TRACES_SAMPLER", "traceidratio"},
                                                  {"OTEL_TRACES_SAMPLER_ARG", "0"}};
  Stack st(env);

  // Header, from a caller that sampled its span: we leave the request out and record nothing, so the
  // caller's context goes on untouched — its span id as parent and its sampled flag as sent.
  const std::string t1 = random_trace_id(), p1 = random_span_id(), rid1 = "ratio-header-" + p1;
  auto r1 = st.session->call_tool("list_tasks", Json::object(),
                                  {{"traceparent", traceparent_of(t1, p1, "01")},
                                   {"tracestate", "platform=agent7"},
                                   {"X-Request-ID", rid1}});
  ASSERT_FALSE(r1.value("isError", false)) << r1.dump();
  EXPECT_EQ(st.sent_to_backend(rid1).traceparent, traceparent_of(t1, p1, "01"));
  EXPECT_EQ(st.sent_to_backend(rid1).tracestate, "platform=agent7");
  EXPECT_EQ(access_line(*st.mcp, rid1).value("trace_id", ""), t1) << st.mcp->stderr_text();
  EXPECT_EQ(access_line(*st.api, rid1).value("trace_id", ""), t1) << st.api->stderr_text();

  // _meta, same rules.
  const std::string t2 = random_trace_id(), p2 = random_span_id(), rid2 = "ratio-meta-" + p2;
  auto r2 = st.session->request("tools/call", list_call_with_meta(traceparent_of(t2, p2, "00")),
                                {{"X-Request-ID", rid2}});
  ASSERT_TRUE(r2.contains("result")) << r2.dump();
  EXPECT_EQ(st.sent_to_backend(rid2).traceparent, traceparent_of(t2, p2, "00"));  // unsampled, as sent
  EXPECT_EQ(access_line(*st.api, rid2).value("trace_id", ""), t2) << st.api->stderr_text();

  // Nothing of these traces was exported (flushed on SIGTERM).
  st.session.reset();
  for (Process* p : {st.mcp.get(), st.api.get()}) {
    p->signal(SIGTERM);
    ASSERT_TRUE(p->wait_exit(30s));
  }
  const auto spans = decode_bodies(collector.bodies());
  EXPECT_TRUE(in_trace(spans, t1).empty());
  EXPECT_TRUE(in_trace(spans, t2).empty());
}

}  // namespace
}  // namespace taskman::testing::tracing
