#include "app/services.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "api/api.hpp"
#include "app/health.hpp"
#include "app/telemetry.hpp"
#include "app/version.hpp"
#include "client/backend_client.hpp"
#include "http/server.hpp"
#include "log/log.hpp"
#include "mcp/http_transport.hpp"
#include "mcp/server.hpp"
#include "mcp/stdio_transport.hpp"
#include "tools/task_tools.hpp"
#include "tracing/runtime.hpp"
#include "tracing/semconv.hpp"
#include "tracing/settings.hpp"

namespace taskman::app {
namespace {

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

// Signals are taken synchronously by the main thread (sigwait), so no handler runs on an I/O
// thread. SIGUSR1 is our own wake-up: "drain finished" or "stdio input ended".
sigset_t blocked_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  return set;
}

struct Service {
  std::string name;
  std::string host_var;
  std::unique_ptr<log::Logger> logger;
  tracing::Tracer* tracer = nullptr;  // null when tracing is off
  std::unique_ptr<HttpTracingObserver> http_tracing;
  Health health;
  std::unique_ptr<http::Server> server;
};

http::ServerOptions server_options(const config::Config& cfg, const std::string& host, std::int64_t port) {
  http::ServerOptions o;
  o.host = host;
  o.port = static_cast<std::uint16_t>(port);
  o.max_body_bytes = static_cast<std::size_t>(cfg.integer("MAX_BODY_BYTES"));
  o.max_header_bytes = static_cast<std::size_t>(cfg.integer("MAX_HEADER_BYTES"));
  o.read_timeout = std::chrono::milliseconds(cfg.integer("HTTP_READ_TIMEOUT_MS"));
  o.idle_timeout = std::chrono::milliseconds(cfg.integer("HTTP_IDLE_TIMEOUT_MS"));
  return o;
}

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
  return o;
}

CheckResult breaker_check(const client::BackendClient& c) {
  const auto snap = c.breaker();
  CheckResult r;
  r.detail = std::string("circuit ") + resilience::breaker_state_name(snap.state) + ", " +
             std::to_string(snap.failures_in_window) + "/" + std::to_string(snap.calls_in_window) +
             " calls failed in the window";
  if (snap.time_until_half_open_ms) r.detail += ", probe in " + std::to_string(*snap.time_until_half_open_ms) + " ms";
  // SPEC §6: an open breaker is degraded, not unready: cached reads are still served.
  if (snap.state != resilience::BreakerState::kClosed) r.state = CheckResult::State::kDegraded;
  return r;
}

}  // namespace

int run(const Invocation& inv, const config::Config& cfg) {
  const auto started = std::chrono::steady_clock::now();
  const std::string& cmd = inv.command;
  const bool want_api = cmd == "serve" || cmd == "api";
  const bool want_mcp = cmd == "serve" || cmd == "mcp";
  const bool want_mcp_http = want_mcp && !inv.stdio;

  // SPEC §8: refuse to expose an unauthenticated service beyond loopback.
  if (!inv.insecure_allow_unauthenticated) {
    std::vector<std::string> problems;
    if (want_api && !is_loopback(cfg.str("API_HOST")) && cfg.list("API_KEYS").empty()) {
      problems.push_back("API_HOST=" + cfg.str("API_HOST") + " is not loopback and API_KEYS is empty");
    }
    if (want_mcp_http && !is_loopback(cfg.str("HOST")) && cfg.list("MCP_AUTH_TOKENS").empty()) {
      problems.push_back("HOST=" + cfg.str("HOST") + " is not loopback and MCP_AUTH_TOKENS is empty");
    }
    if (!problems.empty()) {
      for (const auto& p : problems) {
        std::fprintf(stderr, "taskman: refusing to start: %s (set the tokens, or pass "
                             "--insecure-allow-unauthenticated)\n", p.c_str());
      }
      return kExitUsage;
    }
  }

  // Block the signals before any thread starts (the log flusher is the first) so every thread
  // inherits the mask and only the main thread's sigwait takes them.
  sigset_t signals = blocked_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Block-buffered when stderr is not a terminal (see log::Sink): an access line per request would
  // otherwise cost a write(2) each.
  log::Sink sink(stderr, *log::parse_level(cfg.str("LOG_LEVEL")),
                 cfg.str("LOG_FORMAT") == "pretty" ? log::Format::kPretty : log::Format::kJson, !isatty(2));
  log::Logger main_log("taskman", sink);

  const bool metrics_on = cfg.boolean("ENABLE_METRICS");
  metrics::Metrics registry(version(), git_revision());
  // Tracing (SPEC §6): one runtime per service, so each exports under its own service.name. Off
  // (no tracer at all, nothing to pay) unless ENABLE_TRACING or OTEL_DEBUG asks for spans.
  const bool tracing_on = cfg.boolean("ENABLE_TRACING") || cfg.boolean("OTEL_DEBUG");
  std::vector<std::unique_ptr<tracing::TracingRuntime>> tracing_runtimes;
  auto make_tracer = [&](const std::string& service, log::Logger& logger) -> tracing::Tracer* {
    if (!tracing_on) return nullptr;
    tracing::EnvMessages msgs;
    auto settings = tracing::settings_from_env([&cfg](std::string_view n) { return cfg.raw(n); }, service,
                                               version(), &msgs);
    settings.export_enabled = settings.export_enabled && cfg.boolean("ENABLE_TRACING");
    settings.debug = cfg.boolean("OTEL_DEBUG");
    for (const auto& m : msgs.infos) logger.info("tracing configuration", {{"note", m}});
    for (const auto& m : msgs.warnings) logger.warn("tracing configuration", {{"problem", m}});
    tracing_runtimes.push_back(tracing::TracingRuntime::create(settings, logger));
    return &tracing_runtimes.back()->tracer();
  };
  if (tracing_on && metrics_on) {
    // Both services serve /metrics from one registry, so two scrapes may run this hook at once on
    // different I/O threads: the mutex keeps the read-delta-store of last_* whole (otherwise a delta
    // is counted twice, or goes "negative" and wraps to a huge increment).
    registry.add_scrape_hook([&tracing_runtimes, mu = std::make_shared<std::mutex>(),
                              last_exported = std::uint64_t{0},
                              last_dropped = std::uint64_t{0}](metrics::Metrics& m) mutable {
      std::lock_guard lock(*mu);
      std::uint64_t exported = 0, dropped = 0;
      for (const auto& rt : tracing_runtimes) {
        const auto st = rt->stats();
        exported += st.spans_exported;
        // The family's help says "queue full or export failed": spans in a batch the exporter gave up
        // on are as lost as those a full queue refused, and a dead collector is the case to alert on.
        dropped += st.spans_dropped + st.spans_export_failed;
      }
      m.spans_exported(exported - last_exported);
      m.spans_dropped(dropped - last_dropped);
      last_exported = exported;
      last_dropped = dropped;
    });
  }

  api::ApiOptions api_options;
  api_options.database_url = cfg.str("DATABASE_URL");
  if (metrics_on) {
    api_options.db_observer = [&registry](const char* op, std::chrono::nanoseconds d) {
      registry.db_query(op, std::chrono::duration<double>(d).count());
    };
  }

  if (cmd == "migrate") {
    log::Logger api_log("taskman-api", sink);
    auto st = api::migrate(api_options, api_log);
    if (!st) {
      api_log.error("migration failed", {{"error", st.error().message}});
      return kExitFailure;
    }
    api_log.info("database is up to date", {{"database_url", cfg.str("DATABASE_URL")}});
    return kExitOk;
  }


  http::IoPool pool(std::max(1u, std::thread::hardware_concurrency()));
  HttpMetricsObserver http_metrics(registry);
  auto add_common_routes = [&](Service& s, http::Router& router) {
    s.health.register_routes(router);
    if (metrics_on) {
      register_metrics_route(router, registry);
      s.health.on_check([&registry](const std::string& name, bool ok, double secs) {
        registry.health_check(name, ok, secs);
      });
      // The checks also run at each scrape, so health_check_status is fresh without a probe.
      registry.add_scrape_hook([health = &s.health](metrics::Metrics&) { (void)health->readiness(); });
    }
  };
  auto start_server = [&](Service& s, http::Router router, http::ServerOptions opts) {
    const auto port = opts.port;
    s.server = std::make_unique<http::Server>(pool, std::move(opts), std::move(router), *s.logger);
    if (s.tracer != nullptr) {
      s.http_tracing = std::make_unique<HttpTracingObserver>(*s.tracer, port);
      s.server->add_observer(s.http_tracing.get());  // first: later observers and handlers see the span
    }
    if (metrics_on) s.server->add_observer(&http_metrics);
    s.server->start();
    if (s.http_tracing) s.http_tracing->set_port(s.server->port());
  };

  std::vector<std::unique_ptr<Service>> services;
  std::unique_ptr<api::RestApi> backend;
  std::unique_ptr<client::BackendClient> backend_client;
  std::unique_ptr<mcp::Server> mcp_server;
  std::unique_ptr<mcp::HttpTransport> mcp_http;
  std::unique_ptr<mcp::StdioTransport> mcp_stdio;
  std::thread stdio_thread;
  try {
    if (want_api) {
      auto s = std::make_unique<Service>();
      s->name = "taskman-api";
      s->host_var = "API_HOST";
      s->logger = std::make_unique<log::Logger>(s->name, sink);
      s->tracer = make_tracer(s->name, *s->logger);
      if (s->tracer != nullptr) {
        api_options.db_span = [tracer = s->tracer, db = cfg.str("DATABASE_URL").substr(7)](
                                  const RequestContext& ctx, const char* op, const char* collection) {
          namespace sc = tracing::semconv;
          auto span = std::make_shared<tracing::Span>(tracer->start_span(
              sc::db_span_name(op, collection), tracing::SpanKind::kClient, tracing::parent_of(ctx),
              {{sc::kDbSystemName, "sqlite"},
               {sc::kDbOperationName, op},
               {sc::kDbCollectionName, collection},
               {sc::kDbNamespace, db},
               {sc::kRequestId, ctx.request_id}}));
          return std::function<void(bool)>([span](bool ok) {
            if (!ok) span->set_status(tracing::StatusCode::kError, "database error");
            span->end();
          });
        };
      }
      auto opened = api::RestApi::open(api_options, *s->logger);
      if (!opened) {
        s->logger->error("cannot open the database", {{"database_url", cfg.str("DATABASE_URL")},
                                                     {"error", opened.error().message}});
        return kExitFailure;
      }
      backend = std::move(opened.value());
      http::Router router;
      add_common_routes(*s, router);
      backend->register_routes(router);
      s->health.add_check("database", [b = backend.get()] {
        auto st = b->check_database();
        return st ? CheckResult{} : CheckResult{CheckResult::State::kFailed, st.error().message};
      });
      auto opts = server_options(cfg, cfg.str("API_HOST"), cfg.integer("API_PORT"));
      opts.bearer_tokens = cfg.list("API_KEYS");
      opts.auth_path_prefix = "/api/";
      start_server(*s, std::move(router), std::move(opts));
      services.push_back(std::move(s));
    }
    if (want_mcp) {
      auto s = std::make_unique<Service>();
      s->name = "taskman-mcp";
      s->host_var = "HOST";
      s->logger = std::make_unique<log::Logger>(s->name, sink);
      s->tracer = make_tracer(s->name, *s->logger);
      // `serve` talks to the API it just started, wherever that bound.
      std::string endpoint = cfg.str("TASK_MANAGER_API_ENDPOINT");
      if (want_api) {
        endpoint = "http://127.0.0.1:" + std::to_string(services.front()->server->port()) + "/api/v1";
      }
      backend_client = std::make_unique<client::BackendClient>(pool, client_options(cfg, endpoint), *s->logger,
                                                               metrics_on ? &registry : nullptr);
      backend_client->set_tracer(s->tracer);
      mcp::ServerOptions mo;
      mo.info = {"taskman", version(), "taskman task manager"};
      mo.instructions =
          "A shared task list. Use next_task to pick work, update_task to change status, add_comment to leave "
          "notes, list_tasks with filters to look around. Errors say what to fix and carry a request_id.";
      mcp_server = std::make_unique<mcp::Server>(mo);
      tools::ToolsOptions to;
      to.read_only = cfg.boolean("MCP_READ_ONLY");
      if (metrics_on) {
        to.on_call = [&registry](const std::string& tool, const char* outcome, double secs) {
          registry.mcp_tool_call(tool, outcome, secs);
        };
      }
      tools::register_task_tools(*mcp_server, *backend_client, to);
      install_mcp_telemetry(*mcp_server, s->tracer, metrics_on ? &registry : nullptr, inv.stdio ? "pipe" : "tcp");
      if (metrics_on) {
        registry.add_scrape_hook([srv = mcp_server.get()](metrics::Metrics& m) {
          m.mcp_sessions_active(srv->session_count());
        });
      }
      s->health.add_check("backend", [c = backend_client.get()] { return breaker_check(*c); });
      if (!inv.stdio) {
        mcp::HttpTransportOptions ho;
        ho.session_ttl = std::chrono::milliseconds(cfg.integer("MCP_SESSION_TTL_MS"));
        ho.max_sessions = static_cast<std::size_t>(cfg.integer("MCP_MAX_SESSIONS"));
        ho.allowed_origins = cfg.list("MCP_ALLOWED_ORIGINS");
        mcp_http = std::make_unique<mcp::HttpTransport>(*mcp_server, ho);
        http::Router router;
        add_common_routes(*s, router);
        mcp_http->register_routes(router);
        auto opts = server_options(cfg, cfg.str("HOST"), cfg.integer("PORT"));
        opts.bearer_tokens = cfg.list("MCP_AUTH_TOKENS");
        opts.auth_path_prefix = "/mcp";
        start_server(*s, std::move(router), std::move(opts));
      }
      services.push_back(std::move(s));
    }
  } catch (const std::exception& e) {
    main_log.error("start-up failed", {{"error", e.what()}});
    return kExitFailure;
  }

  pool.start();
  for (auto& s : services) {
    s->health.set_ready(true);
    if (s->server) {
      s->logger->info("listening", {{"address", cfg.str(s->host_var)}, {"port", s->server->port()}});
    }
  }
  std::atomic<bool> stdin_ended{false};
  if (want_mcp && inv.stdio) {
    mcp_stdio = std::make_unique<mcp::StdioTransport>(*mcp_server, std::cin, std::cout);
    stdio_thread = std::thread([&] {
      mcp_stdio->run();
      stdin_ended = true;
      kill(getpid(), SIGUSR1);  // input ended: shut down like on SIGTERM
    });
  }
  main_log.info("ready", {{"command", cmd},
                          {"startup_ms", std::chrono::duration<double, std::milli>(
                                             std::chrono::steady_clock::now() - started).count()}});
  sink.flush();  // start-up lines are what supervisors and tests wait for

  int sig = 0;
  do {
    sigwait(&signals, &sig);
  } while (sig == SIGUSR1 && !stdin_ended);
  main_log.info("shutting down: draining", {{"signal", sig == SIGTERM  ? "SIGTERM"
                                                       : sig == SIGINT ? "SIGINT"
                                                                       : "end of input"}});
  sink.flush();

  // One bound for the whole shutdown: the drain and then every span flush share it.
  const auto timeout = std::chrono::milliseconds(cfg.integer("SHUTDOWN_TIMEOUT_MS"));
  const auto shutdown_deadline = std::chrono::steady_clock::now() + timeout;
  for (auto& s : services) s->health.set_draining();
  auto pending = std::make_shared<std::atomic<int>>(0);
  for (auto& s : services) {
    if (s->server) pending->fetch_add(1);
  }
  for (auto& s : services) {
    if (!s->server) continue;
    s->server->drain(timeout, [pending] {
      if (pending->fetch_sub(1) == 1) kill(getpid(), SIGUSR1);
    });
  }
  if (pending->load() == 0) kill(getpid(), SIGUSR1);
  sigwait(&signals, &sig);
  if (sig != SIGUSR1) {
    main_log.warn("second signal: exiting at once");
    std::fflush(stderr);
    _exit(kExitFailure);
  }
  if (stdio_thread.joinable()) {
    // The input may still be open (SIGTERM while a client is attached): the reader thread cannot be
    // interrupted portably, so leave it; the process is about to exit.
    if (stdin_ended) {
      stdio_thread.join();
    } else {
      stdio_thread.detach();
    }
  }
  // Sessions end after the drain, so calls in flight at the signal were answered first.
  if (mcp_http) mcp_http->close_all();
  pool.stop();
  if (backend) backend->close();
  for (auto& rt : tracing_runtimes) {
    const auto left = std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                  shutdown_deadline - std::chrono::steady_clock::now()));
    if (!rt->shutdown(left)) main_log.warn("tracing: not every span was exported before the shutdown bound");
  }
  main_log.info("stopped");
  std::fflush(stderr);
  std::fflush(stdout);
  if (mcp_stdio && !stdin_ended) _exit(kExitOk);  // don't destroy a transport its reader still uses
  return kExitOk;
}

}  // namespace taskman::app
