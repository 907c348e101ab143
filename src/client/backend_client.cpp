#include "client/backend_client.hpp"

#include <cmath>

#include "core/text.hpp"
#include "http/server.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "tracing/semconv.hpp"
#include "tracing/trace_context.hpp"
#include "tracing/tracer.hpp"

namespace taskman::client {

using Json = nlohmann::json;

std::string endpoint_template(std::string_view path) {
  std::vector<std::string_view> segs;
  std::size_t pos = path.starts_with('/') ? 1 : 0;
  while (pos <= path.size()) {
    auto slash = path.find('/', pos);
    segs.push_back(path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  if (segs.empty() || (segs[0] != "tasks" && segs[0] != "projects")) return "other";
  std::string out = "/" + std::string(segs[0]);
  if (segs.size() >= 2) out += segs[0] == "tasks" && segs[1] == "next" ? "/next" : "/{id}";
  if (segs.size() == 3 && segs[0] == "tasks" && segs[2] == "comments")
    out += "/comments";
  else if (segs.size() >= 3)
    return "other";
  return out;
}

namespace {

std::string query_string(const std::vector<std::pair<std::string, std::string>>& query) {
  std::string q;
  for (const auto& [k, v] : query) {
    if (!q.empty()) q += '&';
    q += encode_segment(k) + "=" + encode_segment(v);
  }
  return q;
}

resilience::AttemptOutcome outcome_of(const http::ClientResult& r) {
  switch (r.error) {
    case http::TransportError::kNone:
      return resilience::AttemptOutcome::http(r.response.status);
    case http::TransportError::kConnect:
      return resilience::AttemptOutcome::connect_error();
    case http::TransportError::kTimeout:
      return resilience::AttemptOutcome::timeout();
    case http::TransportError::kClosed:
      return resilience::AttemptOutcome::connection_lost();
    case http::TransportError::kProtocol:
      return resilience::AttemptOutcome::protocol_error();
  }
  return resilience::AttemptOutcome::protocol_error();
}

// Parses an answer's body into `body` by what its status promises: a 2xx carries the JSON the API
// defines, a 4xx the problem+json we read when it says it is JSON; 429 and 5xx bodies (a proxy's HTML
// page, plain text, nothing) and other 4xx bodies are decoration, dropped when they are not JSON.
// False when the body had to be JSON and is not.
bool classify_body(const http::ClientResponse& response, Json& body) {
  body = nullptr;
  if (response.body.empty()) return true;
  body = Json::parse(response.body, nullptr, false);
  if (!body.is_discarded()) return true;
  body = nullptr;
  const int status = response.status;
  if (status >= 200 && status < 300) return false;
  if (status >= 400 && status < 500 && !is_gateway_status(status)) {
    const auto type = response.headers.get("Content-Type").value_or("");
    return type.find("json") == std::string_view::npos;
  }
  return true;
}

const char* transport_label(http::TransportError e) {
  switch (e) {
    case http::TransportError::kConnect:
      return "connect_error";
    case http::TransportError::kTimeout:
      return "timeout";
    case http::TransportError::kClosed:
      return "connection_lost";
    case http::TransportError::kProtocol:
      return "protocol_error";
    case http::TransportError::kNone:
      return "ok";
  }
  return "error";
}

}  // namespace

struct BackendClient::Op {
  RequestContext ctx;
  RestCall call;
  std::function<void(Result<RestResult>)> done;
  std::string target;     // base path + path + query
  std::string cache_key;  // path + normalized query, below the base
  std::string body;
  std::string idempotency_key;
  resilience::TimePoint deadline;  // on clock_
  int retries = 0;
  std::optional<resilience::Bulkhead::Permit> permit;
  std::string last_problem;  // for the final error message
};

BackendClient::BackendClient(http::IoPool& pool, BackendClientOptions options, log::Logger& logger,
                             metrics::Metrics* metrics, const resilience::Clock& clock)
    : options_(std::move(options)),
      pool_(pool),
      logger_(logger),
      metrics_(metrics),
      clock_(clock),
      retry_(options_.retry, random_),
      breaker_(options_.breaker, clock),
      cache_(options_.cache, clock,
             resilience::FallbackCacheObserver{[this](resilience::LookupResult r) {
                                                 if (metrics_)
                                                   metrics_->cache_lookup(resilience::lookup_result_name(r));
                                               },
                                               [this](resilience::EvictionReason r, std::size_t n) {
                                                 if (metrics_)
                                                   metrics_->cache_eviction(
                                                       resilience::eviction_reason_name(r), n);
                                               },
                                               [this](std::size_t n) {
                                                 if (metrics_) metrics_->cache_entries(n);
                                               }}),
      bulkhead_(options_.max_concurrency) {
  auto url = http::parse_url(options_.endpoint);
  if (!url) throw std::invalid_argument("TASK_MANAGER_API_ENDPOINT: " + url.error().message);
  url_ = *url;
  http::ClientOptions client;
  if (url_.scheme == "https") client.tls = options_.tls;
  http_ = std::make_unique<http::HttpClient>(pool, url_.host, url_.port, std::move(client));
  breaker_.add_listener([this](resilience::BreakerState from, resilience::BreakerState to,
                               resilience::TransitionReason why) {
    logger_.warn("circuit breaker transition", {{"from", resilience::breaker_state_name(from)},
                                                {"to", resilience::breaker_state_name(to)},
                                                {"reason", resilience::transition_reason_name(why)},
                                                {"backend", options_.endpoint}});
    if (metrics_) {
      metrics_->breaker_transition(resilience::breaker_state_name(from), resilience::breaker_state_name(to));
      metrics_->breaker_state(resilience::breaker_state_name(to));
    }
  });
}

BackendClient::~BackendClient() = default;

void BackendClient::call(const RequestContext& ctx, RestCall call,
                         std::function<void(Result<RestResult>)> done) {
  auto op = std::make_shared<Op>();
  op->ctx = ctx;
  op->done = std::move(done);
  const std::string q = query_string(call.query);
  op->target = url_.base_path + call.path + (q.empty() ? "" : "?" + q);
  op->cache_key = resilience::normalize_key(call.path, q);
  if (call.body) op->body = call.body->dump();
  if (call.idempotency_key) op->idempotency_key = random_hex(16);
  const auto budget = options_.attempt_timeout * (options_.retry.max_retries + 1);
  op->deadline = std::min(ctx.deadline, clock_.now() + budget);
  op->call = std::move(call);

  op->permit = bulkhead_.try_acquire();
  if (!op->permit) {
    if (metrics_) metrics_->breaker_rejection("bulkhead");
    Error e =
        Error::make(ErrorCode::kUnavailable, "too many backend calls in flight (BACKEND_MAX_CONCURRENCY=" +
                                                 std::to_string(options_.max_concurrency) + ")");
    e.retry_after_ms = 1000;
    finish_failure(op, std::move(e));
    return;
  }
  attempt(std::move(op));
}

void BackendClient::trace_event(const Op& op, const char* span_name, const char* event,
                                std::vector<std::pair<std::string, std::string>> attrs) {
  if (tracer_ == nullptr) return;
  auto span = tracer_->start_span(span_name, tracing::SpanKind::kInternal, tracing::parent_of(op.ctx),
                                  {{tracing::semconv::kRequestId, op.ctx.request_id}});
  tracing::Attributes event_attrs;
  for (auto& [k, v] : attrs) event_attrs.push_back({k, v});
  span.add_event(event, std::move(event_attrs));
  span.end();
}

bool BackendClient::serve_stale(const std::shared_ptr<Op>& op, const std::string& why) {
  if (op->call.method != "GET") return false;
  auto hit = cache_.get(op->cache_key);
  if (!hit) return false;
  auto body = Json::parse(hit->value.body, nullptr, false);
  if (body.is_discarded()) return false;
  op->permit.reset();
  trace_event(*op, "fallback_cache", "fallback_cache.hit",
              {{"path", op->call.path}, {"age_ms", std::to_string(hit->age_ms)}, {"reason", why}});
  logger_.warn(op->ctx, "backend read failed; answered from the fallback cache",
               {{"path", op->call.path}, {"age_ms", hit->age_ms}, {"error", why}});
  op->done(RestResult{hit->value.status, std::move(body), true, hit->age_ms, why});
  return true;
}

void BackendClient::finish_failure(const std::shared_ptr<Op>& op, Error error) {
  if (serve_stale(op, error.message)) return;
  op->permit.reset();
  logger_.warn(op->ctx, "backend call failed",
               {{"method", op->call.method},
                {"path", op->call.path},
                {"error", error.message},
                {"retries", op->retries}});
  op->done(std::move(error));
}

void BackendClient::attempt(std::shared_ptr<Op> op) {
  const auto admission = breaker_.admit();
  if (!admission.allowed) {
    const char* reason = resilience::reject_reason_name(admission.reason);
    if (metrics_) metrics_->breaker_rejection(reason);
    trace_event(*op, "circuit_breaker", "circuit_breaker.rejected",
                {{"reason", reason}, {"retry_after_ms", std::to_string(admission.retry_after_ms)}});
    Error e = Error::make(ErrorCode::kUnavailable,
                          std::string("circuit ") +
                              (admission.reason == resilience::RejectReason::kOpen ? "open"
                               : admission.reason == resilience::RejectReason::kForcedOpen
                                   ? "forced open by an operator"
                                   : "half-open (a probe is in flight)") +
                              (op->last_problem.empty() ? "" : " (last attempt: " + op->last_problem + ")"));
    e.retry_after_ms = admission.retry_after_ms;
    finish_failure(op, std::move(e));
    return;
  }
  const auto now = clock_.now();
  const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(op->deadline - now);
  if (remaining.count() <= 0) {
    breaker_.record_ignored(admission.token);
    finish_failure(op, Error::make(ErrorCode::kUnavailable,
                                   "deadline passed" + (op->last_problem.empty()
                                                            ? std::string()
                                                            : " (last attempt: " + op->last_problem + ")")));
    return;
  }

  http::ClientRequest req;
  req.method = op->call.method;
  req.target = op->target;
  req.headers.add("Accept", "application/json");
  if (!op->ctx.request_id.empty()) req.headers.add("X-Request-ID", op->ctx.request_id);
  if (op->call.body) {
    req.headers.add("Content-Type", "application/json");
    req.body = op->body;
  }
  if (!op->idempotency_key.empty()) req.headers.add("Idempotency-Key", "\"" + op->idempotency_key + "\"");
  if (op->call.if_match) req.headers.add("If-Match", "\"" + std::to_string(*op->call.if_match) + "\"");

  namespace sc = tracing::semconv;
  std::shared_ptr<tracing::Span> span;
  if (tracer_ != nullptr) {
    span = std::make_shared<tracing::Span>(tracer_->start_span(
        sc::http_client_span_name(op->call.method), tracing::SpanKind::kClient, tracing::parent_of(op->ctx)));
    if (span->is_recording()) {  // a propagation-only span would build and drop the attributes
      span->set_attributes(
          {{sc::kHttpRequestMethod, op->call.method},
           {sc::kServerAddress, url_.host},
           {sc::kServerPort, static_cast<std::int64_t>(url_.port)},
           {sc::kUrlFull, "http://" + url_.host + ":" + std::to_string(url_.port) + op->target},
           {sc::kRequestId, op->ctx.request_id}});
      if (op->retries > 0)
        span->set_attribute({sc::kHttpRequestResendCount, static_cast<std::int64_t>(op->retries)});
    }
    for (auto& [k, v] : tracing::inject(span->context())) req.headers.add(k, v);
  } else if (auto parent = tracing::parent_of(op->ctx); parent.valid()) {
    for (auto& [k, v] : tracing::inject(parent)) req.headers.add(k, v);  // propagate even when not recording
  }

  const auto timeout = std::min(options_.attempt_timeout, remaining);
  const auto started = clock_.now();
  http_->send(
      std::move(req), timeout, [this, op, token = admission.token, started, span](http::ClientResult r) {
        const double secs = std::chrono::duration<double>(clock_.now() - started).count();
        const auto outcome = outcome_of(r);
        const std::string status_label =
            r.ok() ? std::to_string(r.response.status) : transport_label(r.error);
        if (metrics_)
          metrics_->backend_request(op->call.method, endpoint_template(op->call.path), status_label, secs);

        // The status first, the body second: a load balancer's 502 page or an empty 504 is what a gateway
        // says about a backend it could not reach, not a malformed answer (see classify_body).
        const int status = r.ok() ? r.response.status : 0;
        Json body;
        const bool malformed = r.ok() && !classify_body(r.response, body);
        const auto state_before = breaker_.state();
        if (resilience::breaker_verdict(outcome) == resilience::BreakerVerdict::kFailure ||
            is_gateway_status(status) || malformed) {
          breaker_.record_failure(token);
        } else {
          breaker_.record_success(token);
        }
        if (span) {
          if (r.ok()) {
            sc::end_http_client_status(*span, r.response.status);
          } else {
            sc::set_transport_error(*span, transport_label(r.error), r.error_message);
          }
          if (const auto state_after = breaker_.state(); state_after != state_before) {
            span->add_event("circuit_breaker.transition",
                            {{"from", resilience::breaker_state_name(state_before)},
                             {"to", resilience::breaker_state_name(state_after)}});
          }
          span->end();
        }
        if (malformed) {
          finish_failure(op,
                         Error::make(ErrorCode::kUnavailable, "the backend sent a malformed answer (" +
                                                                  describe_status(status) + ", not JSON)"));
          return;
        }

        std::optional<std::int64_t> retry_after;
        if (r.ok()) {
          if (auto h = r.response.headers.get("Retry-After")) {
            retry_after = resilience::parse_retry_after_ms(*h, std::chrono::system_clock::now());
          }
        }
        const bool retryable = resilience::is_retryable(outcome);  // transport failures and 429/502/503/504
        if (retryable) {
          op->last_problem = r.ok() ? describe_status(status) : r.error_message;
          const auto remaining =
              std::chrono::duration_cast<std::chrono::milliseconds>(op->deadline - clock_.now());
          resilience::FailedAttempt failed{op->call.method, !op->idempotency_key.empty(),
                                           outcome,         op->retries,
                                           retry_after,     remaining.count()};
          const auto decision = retry_.decide(failed);
          if (decision.retry) {
            ++op->retries;
            if (metrics_) metrics_->backend_retry(std::string(resilience::retry_reason(outcome)));
            logger_.debug(op->ctx, "retrying backend call",
                          {{"method", op->call.method},
                           {"path", op->call.path},
                           {"attempt", op->retries + 1},
                           {"delay_ms", decision.delay_ms},
                           {"reason", op->last_problem}});
            pool_.schedule(std::chrono::milliseconds(decision.delay_ms), [this, op] { attempt(op); });
            return;
          }
          if (!r.ok()) {
            const std::string tries =
                op->retries == 0 ? "" : " (" + std::to_string(op->retries + 1) + " attempts)";
            Error e = Error::make(ErrorCode::kUnavailable, op->last_problem + tries);
            e.retry_after_ms =
                std::max<std::int64_t>(1000, options_.retry.max_delay_ms);  // a hint, not a promise
            finish_failure(op, std::move(e));
            return;
          }
        } else if (!r.ok()) {
          finish_failure(op, Error::make(ErrorCode::kUnavailable, r.error_message));
          return;
        }

        // An HTTP answer. A read the backend (or the gateway in front of it) failed is still answered from
        // the cache when it can be.
        if ((status >= 500 || is_gateway_status(status)) &&
            serve_stale(op, "the backend answered " + describe_status(status))) {
          return;
        }
        op->permit.reset();
        if (status >= 200 && status < 300) {
          if (op->call.method == "GET") {
            cache_.put(op->cache_key,
                       resilience::CachedResponse{status, r.response.body, "application/json", ""});
          } else {
            cache_.invalidate_for_write(op->call.method, op->call.path);
          }
        }
        RestResult result{status, std::move(body), false, 0, {}};
        result.attempts = op->retries + 1;
        if (is_gateway_status(status)) {
          // The hint the agent gets: the backend's Retry-After, else about one backoff ceiling.
          result.retry_after_ms =
              retry_after.value_or(std::max<std::int64_t>(1000, options_.retry.max_delay_ms));
        }
        op->done(std::move(result));
      });
}

}  // namespace taskman::client
