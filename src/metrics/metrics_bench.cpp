// Hot-path cost of the metrics layer (docs/performance.md#targets): what one request pays for its counters
// and histograms, and why child references are cached (docs/architecture.md#build-notes: Family::Add ~100-150
// ns). Results and the command line are in docs/benchmarks.md ("## Metrics").
#include <benchmark/benchmark.h>

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "metrics/metrics.hpp"

namespace taskman::metrics {
namespace {

// The caches hold a few dozen children in a running service; a lookup among one child would flatter
// any structure. These are the label tuples a busy `taskman serve` has.
const std::vector<std::vector<std::string>>& realistic_http_labels() {
  static const auto kLabels = [] {
    std::vector<std::vector<std::string>> out;
    for (const char* m : {"GET", "POST", "PATCH", "DELETE"}) {
      for (const char* r : {"/mcp", "/api/v1/tasks", "/api/v1/tasks/{id}", "/api/v1/tasks/{id}/comments",
                            "/api/v1/projects", "/metrics", "/health/ready"}) {
        for (const char* st : {"200", "201", "404"}) out.push_back({m, r, st});
      }
    }
    return out;
  }();
  return kLabels;
}

// One counter increment on a child reference held by the caller (the cached case).
void BM_CounterIncrementCached(benchmark::State& state) {
  static prometheus::Registry registry;
  static auto& family = prometheus::BuildCounter().Name("bench_counter_total").Help("h").Register(registry);
  static auto& counter = family.Add({{"method", "GET"}, {"route", "/api/v1/tasks/{id}"}, {"status", "200"}});
  for (auto _ : state) counter.Increment();
  benchmark::DoNotOptimize(counter.Value());
}
BENCHMARK(BM_CounterIncrementCached)->ThreadRange(1, 2);

// One histogram observation (the HTTP duration buckets); prometheus-cpp takes a mutex per child.
void BM_HistogramObserve(benchmark::State& state) {
  static prometheus::Registry registry;
  static auto& family = prometheus::BuildHistogram().Name("bench_seconds").Help("h").Register(registry);
  static auto& histogram =
      family.Add({{"method", "GET"}, {"route", "/api/v1/tasks/{id}"}}, http_duration_buckets());
  double v = 0.0001;
  for (auto _ : state) {
    histogram.Observe(v);
    v = v > 2 ? 0.0001 : v * 1.7;  // walk the buckets rather than hit one
  }
}
BENCHMARK(BM_HistogramObserve)->ThreadRange(1, 2);

// Family::Add for a child that exists: what every update would cost without a cache.
void BM_FamilyAddExisting(benchmark::State& state) {
  prometheus::Registry registry;
  auto& family = prometheus::BuildCounter().Name("bench_add_total").Help("h").Register(registry);
  for (const auto& l : realistic_http_labels())
    family.Add({{"method", l[0]}, {"route", l[1]}, {"status", l[2]}});
  for (auto _ : state) {
    family.Add({{"method", "GET"}, {"route", "/api/v1/tasks/{id}"}, {"status", "200"}}).Increment();
  }
}
BENCHMARK(BM_FamilyAddExisting);

// The same lookup through ChildCache, which Metrics uses for every labelled family.
void BM_ChildCacheGet(benchmark::State& state) {
  static prometheus::Registry registry;
  static auto& family = prometheus::BuildCounter().Name("bench_cache_total").Help("h").Register(registry);
  static ChildCache<prometheus::Counter> cache(family, {"method", "route", "status"});
  static const bool populated = [] {
    for (const auto& l : realistic_http_labels()) cache.get({l[0], l[1], l[2]});
    return true;
  }();
  benchmark::DoNotOptimize(populated);
  for (auto _ : state) cache.get({"GET", "/api/v1/tasks/{id}", "200"}).Increment();
}
BENCHMARK(BM_ChildCacheGet)->ThreadRange(1, 2);

// The whole per-request cost on the HTTP server: in-flight gauge, request counter, duration histogram.
void BM_HttpRequestFinished(benchmark::State& state) {
  static Metrics metrics("bench", "bench");
  static const std::string route = "/api/v1/tasks/{id}";
  static const bool populated = [] {
    for (const auto& l : realistic_http_labels()) {
      metrics.http_request_started();
      metrics.http_request_finished(l[0], l[1], std::stoi(l[2]), 0.001);
    }
    return true;
  }();
  benchmark::DoNotOptimize(populated);
  for (auto _ : state) {
    metrics.http_request_started();
    metrics.http_request_finished("GET", route, 200, 0.0004);
  }
}
BENCHMARK(BM_HttpRequestFinished)->ThreadRange(1, 2);

// What one MCP tools/call adds on the MCP side besides its HTTP request: the JSON-RPC request
// counter, the tool counter and histogram, and one backend attempt.
void BM_McpToolCallPath(benchmark::State& state) {
  static Metrics metrics("bench", "bench");
  static const std::string method = "tools/call", ok = "ok", tool = "get_task", success = "success";
  static const std::string get = "GET", endpoint = "/tasks/{id}", status = "200";
  static const bool populated = [] {
    for (const char* t : {"create_task", "get_task", "list_tasks", "update_task", "delete_task", "next_task",
                          "add_comment", "list_projects", "create_project"}) {
      metrics.mcp_tool_call(t, "success", 0.001);
      metrics.mcp_tool_call(t, "tool_error", 0.001);
    }
    for (const char* m : {"initialize", "tools/list", "tools/call", "ping"}) metrics.mcp_request(m, "ok");
    for (const char* e : {"/tasks", "/tasks/{id}", "/tasks/{id}/comments", "/projects", "/tasks/next"}) {
      for (const char* st : {"200", "201", "404", "connect_error"})
        metrics.backend_request("GET", e, st, 0.001);
    }
    return true;
  }();
  benchmark::DoNotOptimize(populated);
  for (auto _ : state) {
    metrics.mcp_request(method, ok);
    metrics.mcp_tool_call(tool, success, 0.0004);
    metrics.backend_request(get, endpoint, status, 0.0002);
  }
}
BENCHMARK(BM_McpToolCallPath)->ThreadRange(1, 2);

// One scrape of a registry populated like a busy `taskman serve` (text format + /proc reads).
void BM_Serialize(benchmark::State& state) {
  Metrics metrics("bench", "bench");
  for (const char* route : {"/mcp", "/api/v1/tasks", "/api/v1/tasks/{id}", "/metrics", "/health/ready"}) {
    for (int status : {200, 201, 404}) metrics.http_request_finished("GET", route, status, 0.001);
  }
  for (const char* tool : {"create_task", "get_task", "list_tasks", "update_task"}) {
    metrics.mcp_tool_call(tool, "success", 0.001);
    metrics.mcp_tool_call(tool, "tool_error", 0.001);
  }
  std::size_t bytes = 0;
  for (auto _ : state) bytes = metrics.serialize().size();
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Serialize)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace taskman::metrics

BENCHMARK_MAIN();
