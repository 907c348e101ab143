#include "app/mcp_builder.hpp"

#include <algorithm>

#include "app/telemetry.hpp"
#include "app/version.hpp"
#include "tools/task_tools.hpp"

namespace taskman::app {
namespace {

CheckResult breaker_check(const client::BackendClient& c) {
  const auto snap = c.breaker();
  CheckResult r;
  r.detail = std::string("circuit ") + resilience::breaker_state_name(snap.state) + ", " +
             std::to_string(snap.failures_in_window) + "/" + std::to_string(snap.calls_in_window) +
             " calls failed in the window";
  if (snap.time_until_half_open_ms)
    r.detail += ", probe in " + std::to_string(*snap.time_until_half_open_ms) + " ms";
  // docs/observability.md: an open breaker is degraded, not unready: cached reads are still served.
  if (snap.state != resilience::BreakerState::kClosed) r.state = CheckResult::State::kDegraded;
  return r;
}

// The backend client's breaker, cache and bulkhead and the transport's sessions, for the status page.
void fill_resilience(status::StatusSnapshot& snap, client::BackendClient& c, const mcp::HttpTransport& t) {
  const auto b = c.breaker();
  const auto& opts = c.options();
  status::BreakerView bv;
  bv.state = resilience::breaker_state_name(b.state);
  bv.mode = resilience::breaker_mode_name(b.mode);
  bv.enabled = b.enabled;
  bv.error_percent = b.error_percent;
  bv.calls_in_window = b.calls_in_window;
  bv.failures_in_window = b.failures_in_window;
  bv.window_ms = opts.breaker.rolling_window_ms;
  bv.threshold_percent = opts.breaker.error_threshold_percent;
  bv.time_until_half_open_ms = b.time_until_half_open_ms;
  snap.breaker = std::move(bv);
  const auto& cache = c.cache_control();
  const auto cs = cache.stats();
  status::CacheView cv;
  cv.enabled = cache.options().enabled;
  cv.entries = cs.entries;
  cv.max_size = cache.options().max_size;
  cv.ttl_ms = cache.options().ttl_ms;
  cv.hits = cs.hits;
  cv.misses = cs.misses;
  cv.stale = cs.stale;
  cv.oldest_age_ms = cache.oldest_age_ms();
  cv.evictions = {{"lru", cs.evicted_lru},
                  {"ttl", cs.evicted_ttl},
                  {"invalidated", cs.evicted_invalidated},
                  {"purged", cs.evicted_purged}};
  snap.cache = std::move(cv);
  snap.bulkhead =
      status::BulkheadView{c.bulkhead().in_flight(), c.bulkhead().capacity(), c.bulkhead().rejected_total()};
  status::McpView mv;
  for (auto& r : t.sessions_by_revision()) {
    mv.sessions += r.sessions;
    mv.revisions.push_back({std::move(r.revision), r.sessions, r.open_streams});
  }
  snap.mcp = std::move(mv);
}

}  // namespace

client::BackendClientOptions client_options(const config::Config& cfg, std::string endpoint) {
  client::BackendClientOptions o;
  o.endpoint = std::move(endpoint);
  o.attempt_timeout = std::chrono::milliseconds(cfg.integer("BACKEND_TIMEOUT_MS"));
  o.max_concurrency = static_cast<std::size_t>(cfg.integer("BACKEND_MAX_CONCURRENCY"));
  o.retry.max_retries = static_cast<int>(cfg.integer("BACKEND_MAX_RETRIES"));
  o.breaker.enabled = cfg.boolean("CIRCUIT_BREAKER_ENABLED");
  o.breaker.error_threshold_percent = static_cast<int>(cfg.integer("CIRCUIT_BREAKER_ERROR_THRESHOLD"));
  o.breaker.volume_threshold = cfg.integer("CIRCUIT_BREAKER_VOLUME_THRESHOLD");
  o.breaker.rolling_window_ms = cfg.integer("CIRCUIT_BREAKER_ROLLING_WINDOW_MS");
  o.breaker.reset_timeout_ms = cfg.integer("CIRCUIT_BREAKER_RESET_TIMEOUT_MS");
  // A probe may take a whole attempt; only after that is it presumed lost.
  o.breaker.probe_timeout_ms = std::max(o.breaker.reset_timeout_ms, cfg.integer("BACKEND_TIMEOUT_MS") * 2);
  o.cache.enabled = cfg.boolean("FALLBACK_CACHE_ENABLED");
  o.cache.max_size = static_cast<std::size_t>(cfg.integer("FALLBACK_CACHE_MAX_SIZE"));
  o.cache.ttl_ms = cfg.integer("FALLBACK_CACHE_TTL_MS");
  o.tls = {cfg.str("BACKEND_CA_FILE"), cfg.str("BACKEND_CLIENT_CERT_FILE"),
           cfg.str("BACKEND_CLIENT_KEY_FILE")};
  return o;
}

McpService build_mcp(ServiceHost& host, HostedService& s, const config::Config& cfg, const Invocation& inv,
                     std::string endpoint) {
  metrics::Metrics* registry = host.registry();
  McpService m;
  m.backend_client = std::make_unique<client::BackendClient>(
      host.pool(), client_options(cfg, std::move(endpoint)), *s.logger, registry);
  m.backend_client->set_tracer(s.tracer);
  mcp::ServerOptions mo;
  mo.info = {"taskman", version(), "taskman task manager"};
  mo.instructions =
      "A shared task list. Use next_task to pick work, update_task to change status, add_comment to leave "
      "notes, list_tasks with filters to look around. Errors say what to fix and carry a request_id.";
  m.server = std::make_unique<mcp::Server>(mo);
  // Over HTTP the service has a status page; its board exists before the hooks that feed it.
  StatusBoard* board = nullptr;
  if (!inv.stdio) {
    s.status = std::make_unique<StatusBoard>(s.name, cfg.str("TRACE_UI_URL"));
    board = s.status.get();
  }
  tools::ToolsOptions to;
  to.read_only = cfg.boolean("MCP_READ_ONLY");
  if (registry != nullptr || board != nullptr) {
    to.on_call = [registry, board](const std::string& tool, const char* outcome, double secs) {
      if (registry != nullptr) registry->mcp_tool_call(tool, outcome, secs);
      if (board != nullptr) board->record_tool(tool, outcome, secs);
    };
  }
  tools::register_task_tools(*m.server, *m.backend_client, to);
  // Tracing first: it starts the span the others may read and ends it after they have seen the call.
  if (s.tracer != nullptr) {
    m.observers.push_back(std::make_unique<McpTracingObserver>(*s.tracer, inv.stdio ? "pipe" : "tcp"));
  }
  if (registry != nullptr) m.observers.push_back(std::make_unique<McpMetricsObserver>(*registry));
  for (auto& o : m.observers) m.server->add_call_observer(o.get());
  if (board != nullptr) {
    m.server->add_call_observer(board);
    m.backend_client->breaker_control().add_listener([board](resilience::BreakerState from,
                                                             resilience::BreakerState to,
                                                             resilience::TransitionReason why) {
      board->record_transition(resilience::breaker_state_name(from), resilience::breaker_state_name(to),
                               resilience::transition_reason_name(why));
    });
  }
  if (registry != nullptr) {
    registry->add_scrape_hook(
        [srv = m.server.get()](metrics::Metrics& reg) { reg.mcp_sessions_active(srv->session_count()); });
  }
  s.health.add_check("backend", [c = m.backend_client.get()] { return breaker_check(*c); });
  if (!inv.stdio) {
    mcp::HttpTransportOptions ho;
    ho.session_ttl = std::chrono::milliseconds(cfg.integer("MCP_SESSION_TTL_MS"));
    ho.max_sessions = static_cast<std::size_t>(cfg.integer("MCP_MAX_SESSIONS"));
    ho.allowed_origins = cfg.list("MCP_ALLOWED_ORIGINS");
    ho.stateless = cfg.boolean("MCP_STATELESS");
    m.http = std::make_unique<mcp::HttpTransport>(*m.server, ho);
    http::Router router;
    host.add_common_routes(s, router);
    m.http->register_routes(router);
    AdminTargets admin;
    admin.breaker = &m.backend_client->breaker_control();
    admin.cache = &m.backend_client->cache_control();
    admin.tokens = cfg.list("MCP_AUTH_TOKENS");
    admin.tokens_var = "MCP_AUTH_TOKENS";
    host.add_status_routes(s, router, cfg, std::move(admin),
                           [c = m.backend_client.get(), t = m.http.get()](status::StatusSnapshot& snap) {
                             fill_resilience(snap, *c, *t);
                           });
    auto opts = server_options(cfg, cfg.str("HOST"), cfg.integer("PORT"));
    opts.bearer_tokens = cfg.list("MCP_AUTH_TOKENS");
    opts.auth_path_prefix = "/mcp";
    opts.tls = {cfg.str("TLS_CERT_FILE"), cfg.str("TLS_KEY_FILE"), ""};  // no client certificates asked
    host.start(s, std::move(router), std::move(opts));
  }
  return m;
}

}  // namespace taskman::app
