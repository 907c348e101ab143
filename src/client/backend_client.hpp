#pragma once
// The MCP server's way to the backend (docs/resilience.md): keep-alive HTTP with a per-attempt timeout and an
// overall deadline, retries with full-jitter backoff for idempotent requests only (creates carry an
// Idempotency-Key, so a retried create never duplicates), Retry-After honoured, a circuit breaker,
// a bulkhead, and a fallback cache that answers failed reads with the last good (stale-marked) answer.
// Thread-safe; completion callbacks run on an I/O thread.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "client/backend.hpp"
#include "http/client.hpp"
#include "resilience/bulkhead.hpp"
#include "resilience/circuit_breaker.hpp"
#include "resilience/fallback_cache.hpp"
#include "resilience/retry_policy.hpp"

namespace taskman::log {
class Logger;
}
namespace taskman::metrics {
class Metrics;
}
namespace taskman::http {
class IoPool;
}
namespace taskman::tracing {
class Tracer;
}

namespace taskman::client {

struct BackendClientOptions {
  std::string endpoint = "http://localhost:3001/api/v1";  // TASK_MANAGER_API_ENDPOINT
  std::chrono::milliseconds attempt_timeout{30'000};      // BACKEND_TIMEOUT_MS
  std::size_t max_concurrency = 100;                      // BACKEND_MAX_CONCURRENCY
  resilience::RetryOptions retry;                         // BACKEND_MAX_RETRIES
  resilience::CircuitBreakerOptions breaker;
  resilience::FallbackCacheOptions cache;
  http::TlsClientSettings tls;  // used for an https:// endpoint (BACKEND_CA_FILE, BACKEND_CLIENT_*)
};

// The route template of a REST path below the API base, for metric labels ("/tasks/{id}").
std::string endpoint_template(std::string_view path);

class BackendClient final : public TaskBackend {
 public:
  // Throws std::invalid_argument for an unusable endpoint (validated earlier by the config layer).
  BackendClient(http::IoPool& pool, BackendClientOptions options, log::Logger& logger,
                metrics::Metrics* metrics = nullptr,
                const resilience::Clock& clock = resilience::SteadyClock::instance());
  // One CLIENT span per attempt (with http.request.resend_count on retries), the W3C context injected
  // into each request; breaker rejections and cache fallbacks are recorded as span events. Call during
  // wiring; the tracer must outlive the client.
  void set_tracer(tracing::Tracer* tracer) { tracer_ = tracer; }
  ~BackendClient() override;

  void call(const RequestContext& ctx, RestCall call, std::function<void(Result<RestResult>)> done) override;

  resilience::BreakerSnapshot breaker() const { return breaker_.snapshot(); }
  const resilience::FallbackCache& cache() const { return cache_; }
  const BackendClientOptions& options() const { return options_; }
  // For the operator's admin actions (force the breaker, purge the cache) and the status page.
  resilience::CircuitBreaker& breaker_control() { return breaker_; }
  resilience::FallbackCache& cache_control() { return cache_; }
  const resilience::Bulkhead& bulkhead() const { return bulkhead_; }

 private:
  struct Op;
  void attempt(std::shared_ptr<Op> op);
  void finish_failure(const std::shared_ptr<Op>& op, Error error);
  // Answers a failed GET from the fallback cache; false when there is no fresh entry.
  bool serve_stale(const std::shared_ptr<Op>& op, const std::string& why);
  // A zero-length span carrying one event, for what happens without an attempt (rejection, fallback).
  void trace_event(const Op& op, const char* span_name, const char* event,
                   std::vector<std::pair<std::string, std::string>> attrs);

  BackendClientOptions options_;
  http::Url url_;
  http::IoPool& pool_;
  log::Logger& logger_;
  metrics::Metrics* metrics_;
  tracing::Tracer* tracer_ = nullptr;
  const resilience::Clock& clock_;
  std::unique_ptr<http::HttpClient> http_;
  resilience::SeededRandom random_;
  resilience::RetryPolicy retry_;
  resilience::CircuitBreaker breaker_;
  resilience::FallbackCache cache_;
  resilience::Bulkhead bulkhead_;
};

}  // namespace taskman::client
