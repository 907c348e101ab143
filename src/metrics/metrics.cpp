#include "metrics/metrics.hpp"

#include <prometheus/text_serializer.h>

#include <charconv>

#include "metrics/process_collector.hpp"

namespace taskman::metrics {

std::string bounded(std::string_view value, std::initializer_list<std::string_view> allowed) {
  for (auto a : allowed) {
    if (a == value) return std::string(value);
  }
  return "other";
}

const prometheus::Histogram::BucketBoundaries& http_duration_buckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                                                   0.5,   0.75, 1,     2.5,  5,     7.5, 10};
  return kBuckets;
}

namespace {

template <class B>
auto& family(B builder, const char* name, const char* help, prometheus::Registry& r) {
  return builder.Name(name).Help(help).Register(r);
}

const prometheus::Histogram::BucketBoundaries& mcp_buckets() {
  // mcp.server.operation.duration (OTel MCP semantic conventions), trimmed at the low end for a local
  // backend.
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  return kBuckets;
}

const prometheus::Histogram::BucketBoundaries& fast_buckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return kBuckets;
}

}  // namespace

Metrics::Metrics(std::string_view version, std::string_view revision)
    : registry_(std::make_shared<prometheus::Registry>()),
      process_(std::make_shared<ProcessCollector>()),
      http_requests_(prometheus::BuildCounter()
                         .Name("http_server_requests_total")
                         .Help("HTTP requests answered, by method, route template and status code.")
                         .Register(*registry_)),
      http_duration_(prometheus::BuildHistogram()
                         .Name("http_server_request_duration_seconds")
                         .Help("Time from the start of a request to the end of its response.")
                         .Register(*registry_)),
      http_in_flight_(prometheus::BuildGauge()
                          .Name("http_server_requests_in_flight")
                          .Help("HTTP requests being handled now.")
                          .Register(*registry_)
                          .Add({})),
      health_status_(prometheus::BuildGauge()
                         .Name("health_check_status")
                         .Help("1 when the named health check passed at its last run, else 0.")
                         .Register(*registry_)),
      health_duration_(prometheus::BuildHistogram()
                           .Name("health_check_duration_seconds")
                           .Help("Time a health check took.")
                           .Register(*registry_)),
      mcp_sessions_(
          family(prometheus::BuildGauge(), "mcp_sessions_active", "MCP sessions open now.", *registry_)
              .Add({})),
      cache_entries_(family(prometheus::BuildGauge(), "fallback_cache_entries",
                            "Entries in the fallback cache.", *registry_)
                         .Add({})),
      spans_exported_(family(prometheus::BuildCounter(), "tracer_spans_exported_total",
                             "Spans the OTLP exporter delivered.", *registry_)
                          .Add({})),
      spans_dropped_(family(prometheus::BuildCounter(), "tracer_spans_dropped_total",
                            "Spans dropped (queue full or export failed).", *registry_)
                         .Add({})),
      mcp_requests_(family(prometheus::BuildCounter(), "mcp_requests_total",
                           "MCP requests handled, by JSON-RPC method and outcome.", *registry_),
                    {"method", "outcome"}),
      mcp_tool_calls_(family(prometheus::BuildCounter(), "mcp_tool_calls_total",
                             "MCP tool calls by tool and outcome.", *registry_),
                      {"tool", "outcome"}),
      mcp_tool_duration_(family(prometheus::BuildHistogram(), "mcp_tool_call_duration_seconds",
                                "Time to answer an MCP tool call.", *registry_),
                         {"tool"}),
      backend_requests_(
          family(prometheus::BuildCounter(), "backend_requests_total",
                 "Backend HTTP attempts by method, endpoint template and status (or failure).", *registry_),
          {"method", "endpoint", "status"}),
      backend_duration_(family(prometheus::BuildHistogram(), "backend_request_duration_seconds",
                               "Time of one backend HTTP attempt.", *registry_),
                        {"method", "endpoint"}),
      backend_retries_(family(prometheus::BuildCounter(), "backend_retries_total",
                              "Backend retries by reason.", *registry_),
                       {"reason"}),
      breaker_state_(family(prometheus::BuildGauge(), "circuit_breaker_state",
                            "1 for the circuit breaker's current state, 0 for the others.", *registry_),
                     {"state"}),
      breaker_transitions_(family(prometheus::BuildCounter(), "circuit_breaker_transitions_total",
                                  "Circuit breaker state changes.", *registry_),
                           {"from", "to"}),
      breaker_rejections_(family(prometheus::BuildCounter(), "circuit_breaker_rejections_total",
                                 "Backend calls refused without trying, by reason.", *registry_),
                          {"reason"}),
      cache_lookups_(
          family(prometheus::BuildCounter(), "fallback_cache_lookups_total",
                 "Fallback cache lookups after a failed read: hit (served stale), miss, stale (too old).",
                 *registry_),
          {"result"}),
      cache_evictions_(family(prometheus::BuildCounter(), "fallback_cache_evictions_total",
                              "Entries dropped from the fallback cache, by reason.", *registry_),
                       {"reason"}),
      db_duration_(family(prometheus::BuildHistogram(), "db_query_duration_seconds",
                          "Database work per operation (one store call).", *registry_),
                   {"operation"}),
      http_requests_cache_(http_requests_, {"method", "route", "status"}),
      http_duration_cache_(http_duration_, {"method", "route"}),
      health_status_cache_(health_status_, {"check"}),
      health_duration_cache_(health_duration_, {"check"}) {
  prometheus::BuildGauge()
      .Name("taskman_build_info")
      .Help("Build information; the value is always 1.")
      .Register(*registry_)
      .Add({{"version", std::string(version)}, {"revision", std::string(revision)}})
      .Set(1);
  // Bounded label sets are created up front so every family has samples from the first scrape.
  for (const char* st : {"closed", "open", "half_open"})
    breaker_state_.get({st}).Set(st == std::string("closed"));
  for (const char* r : {"open", "half_open_busy", "bulkhead"}) breaker_rejections_.get({r});
  for (const char* r : {"hit", "miss", "stale"}) cache_lookups_.get({r});
  for (const char* r : {"lru", "ttl", "invalidated"}) cache_evictions_.get({r});
}

Metrics::~Metrics() = default;

std::string Metrics::serialize() const {
  for (const auto& hook : scrape_hooks_) hook(const_cast<Metrics&>(*this));
  auto families = registry_->Collect();
  auto process = process_->Collect();
  families.insert(families.end(), process.begin(), process.end());
  return prometheus::TextSerializer().Serialize(families);
}

void Metrics::http_request_started() { http_in_flight_.Increment(); }

void Metrics::http_request_finished(std::string_view method, const std::string& route, int status,
                                    double seconds) {
  http_in_flight_.Decrement();
  // Views only: this runs once per HTTP request on both services, and a hit should not allocate.
  std::string_view m = "other";
  for (std::string_view known : {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}) {
    if (method == known) m = known;
  }
  const std::string_view r = route.empty() ? std::string_view("unmatched") : std::string_view(route);
  char code[12];
  const auto end = std::to_chars(code, code + sizeof code, status).ptr;
  http_requests_cache_.get({m, r, std::string_view(code, static_cast<std::size_t>(end - code))}).Increment();
  http_duration_cache_.get({m, r}, http_duration_buckets()).Observe(seconds);
}

void Metrics::health_check(const std::string& check, bool ok, double seconds) {
  health_status_cache_.get({check}).Set(ok ? 1 : 0);
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1};
  health_duration_cache_.get({check}, kBuckets).Observe(seconds);
}

}  // namespace taskman::metrics

namespace taskman::metrics {

void Metrics::mcp_request(const std::string& method, const std::string& outcome) {
  mcp_requests_.get({method, outcome}).Increment();
}

void Metrics::mcp_tool_call(const std::string& tool, const std::string& outcome, double seconds) {
  mcp_tool_calls_.get({tool, outcome}).Increment();
  mcp_tool_duration_.get({tool}, mcp_buckets()).Observe(seconds);
}

void Metrics::backend_request(const std::string& method, const std::string& endpoint,
                              const std::string& status, double seconds) {
  backend_requests_.get({method, endpoint, status}).Increment();
  backend_duration_.get({method, endpoint}, fast_buckets()).Observe(seconds);
}

void Metrics::backend_retry(const std::string& reason) { backend_retries_.get({reason}).Increment(); }

void Metrics::breaker_state(const std::string& state) {
  for (const char* st : {"closed", "open", "half_open"}) breaker_state_.get({st}).Set(state == st ? 1 : 0);
}

void Metrics::breaker_transition(const std::string& from, const std::string& to) {
  breaker_transitions_.get({from, to}).Increment();
}

void Metrics::breaker_rejection(const std::string& reason) { breaker_rejections_.get({reason}).Increment(); }
void Metrics::cache_lookup(const std::string& result) { cache_lookups_.get({result}).Increment(); }
void Metrics::cache_eviction(const std::string& reason, std::size_t n) {
  cache_evictions_.get({reason}).Increment(static_cast<double>(n));
}

void Metrics::db_query(const std::string& operation, double seconds) {
  db_duration_.get({operation}, fast_buckets()).Observe(seconds);
}

}  // namespace taskman::metrics
