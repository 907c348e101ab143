// Hot paths of a tool call, one at a time (docs/performance.md#how-it-is-measured): traceparent parse, span
// start/end, fallback cache get/put, breaker admit/record, and JSON-RPC parse + dispatch + serialize of a
// tools/call. Run: build/bench/hot_paths_bench  (metric updates: build/src/metrics/metrics_bench)
#include <benchmark/benchmark.h>

#include "mcp/json_rpc.hpp"
#include "mcp/server.hpp"
#include "mcp/types.hpp"
#include "resilience/circuit_breaker.hpp"
#include "resilience/clock.hpp"
#include "resilience/fallback_cache.hpp"
#include "tracing/trace_context.hpp"
#include "tracing/tracer.hpp"

namespace {

using namespace taskman;

void BM_TraceparentParse(benchmark::State& state) {
  const std::string header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  for (auto _ : state) benchmark::DoNotOptimize(tracing::parse_traceparent(header));
}
BENCHMARK(BM_TraceparentParse);

class CountingProcessor final : public tracing::SpanProcessor {
 public:
  void on_end(tracing::SpanData&& span) override {
    benchmark::DoNotOptimize(span);
    ++n;
  }
  std::size_t n = 0;
};

void BM_SpanStartEnd(benchmark::State& state) {
  CountingProcessor processor;
  tracing::Tracer tracer({}, &processor);
  auto parent = tracing::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").value();
  for (auto _ : state) {
    auto span = tracer.start_span("tools/call get_task", tracing::SpanKind::kServer, parent,
                                  {{"mcp.method.name", "tools/call"}, {"gen_ai.tool.name", "get_task"}});
    span.end();
  }
  state.counters["exported"] = static_cast<double>(processor.n);
}
BENCHMARK(BM_SpanStartEnd);

void BM_CacheGetHit(benchmark::State& state) {
  resilience::FallbackCache cache({true, 1000, 300000}, resilience::SteadyClock::instance());
  for (int i = 0; i < 1000; ++i) {
    cache.put("/tasks/" + std::to_string(i), {200, std::string(600, 'x'), "application/json", ""});
  }
  int i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(cache.get("/tasks/" + std::to_string(i++ % 1000)));
}
BENCHMARK(BM_CacheGetHit);

void BM_CachePut(benchmark::State& state) {
  resilience::FallbackCache cache({true, 1000, 300000}, resilience::SteadyClock::instance());
  const std::string body(600, 'x');
  int i = 0;
  for (auto _ : state) cache.put("/tasks/" + std::to_string(i++ % 2000), {200, body, "application/json", ""});
}
BENCHMARK(BM_CachePut);

void BM_BreakerAdmitRecord(benchmark::State& state) {
  resilience::CircuitBreaker breaker({}, resilience::SteadyClock::instance());
  for (auto _ : state) {
    auto a = breaker.admit();
    breaker.record_success(a.token);
  }
}
BENCHMARK(BM_BreakerAdmitRecord);

class SerializingExchange final : public mcp::Exchange {
 public:
  void send_related(const mcp::Json&) override {}
  void finish(std::optional<mcp::Json> r) override {
    if (r) out = mcp::serialize(*r);
  }
  std::string out;
};

// What the MCP server does with one tools/call body before and after the backend call.
void BM_JsonRpcToolsCall(benchmark::State& state) {
  mcp::Server server(mcp::ServerOptions{});
  const mcp::Json task = {{"id", "01a21b0c673b00004992c1178c8f"},
                          {"title", "Write the spec"},
                          {"status", "todo"},
                          {"priority", "high"},
                          {"version", 3},
                          {"labels", {"docs"}}};
  server.add_tool(
      mcp::Tool{"get_task", "Get task", "One task", {{"type", "object"}}, nullptr, nullptr, nullptr},
      [&task](mcp::CallPtr, mcp::Json, mcp::Reply<mcp::Json> reply) {
        reply(mcp::structured_result({{"task", task}}));
      });
  auto session = server.open_session("bench");
  session->assume_initialized("2025-11-25");
  const std::string body =
      R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_task","arguments":{"id":"01a21b0c673b00004992c1178c8f"}}})";
  for (auto _ : state) {
    auto parsed = mcp::parse_json(body);
    auto msg = mcp::to_message(std::get<mcp::Json>(parsed));
    auto ex = std::make_shared<SerializingExchange>();
    server.handle(session, std::get<mcp::Message>(msg), ex);
    benchmark::DoNotOptimize(ex->out);
  }
}
BENCHMARK(BM_JsonRpcToolsCall);

}  // namespace

BENCHMARK_MAIN();
