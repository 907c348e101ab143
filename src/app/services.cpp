#include "app/services.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include "api/api.hpp"
#include "app/api_builder.hpp"
#include "app/exposure.hpp"
#include "app/hosted_service.hpp"
#include "app/mcp_builder.hpp"
#include "app/tracing_setup.hpp"
#include "app/version.hpp"
#include "core/clock.hpp"
#include "core/redact.hpp"
#include "log/log.hpp"
#include "mcp/stdio_transport.hpp"

// The process's life: check, wire (the builders in api_builder, mcp_builder, tracing_setup,
// hosted_service), serve until a signal, drain, stop.
namespace taskman::app {
namespace {

// Signals are taken synchronously by the main thread (sigwait), so no handler runs on an I/O
// thread. SIGUSR1 is our own wake-up: "drain finished" or "stdio input ended". SIGHUP reloads the
// TLS certificates.
sigset_t blocked_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGHUP);
  return set;
}

// SIGHUP: each TLS listener loads its certificate and key again for new connections; a listener
// whose files fail keeps the certificate it has (the error says which file and why).
void reload_certificates(const std::vector<std::unique_ptr<HostedService>>& services) {
  for (const auto& s : services) {
    if (!s->server || !s->server->tls()) continue;
    if (auto st = s->server->reload_tls(); st) {
      s->logger->info("TLS certificate reloaded");
    } else {
      s->logger->error("TLS certificate reload failed; the previous certificate stays in use",
                       {{"error", st.error().message}});
    }
  }
}

std::unique_ptr<HostedService> new_service(std::string name, std::string host_var, log::Sink& sink,
                                           TracingSetup& tracing) {
  auto s = std::make_unique<HostedService>();
  s->name = std::move(name);
  s->host_var = std::move(host_var);
  s->logger = std::make_unique<log::Logger>(s->name, sink);
  s->sink = &sink;
  s->tracer = tracing.make_tracer(s->name, *s->logger);
  s->exporter_stats = [&tracing, tracer = s->tracer] { return tracing.stats_for(tracer); };
  return s;
}

}  // namespace

int run(const Invocation& inv, const config::Config& cfg) {
  const Clock& clock = SteadyClock::instance();
  const auto started = clock.now();
  const std::string& cmd = inv.command;
  const bool want_api = cmd == "serve" || cmd == "api";
  const bool want_mcp = cmd == "serve" || cmd == "mcp";

  if (const auto problems = unauthenticated_exposures(inv, cfg); !problems.empty()) {
    for (const auto& p : problems) {
      std::fprintf(stderr,
                   "taskman: refusing to start: %s (set the tokens, or pass "
                   "--insecure-allow-unauthenticated)\n",
                   p.c_str());
    }
    return kExitUsage;
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
  metrics::Metrics* const metrics = metrics_on ? &registry : nullptr;
  // Tracing (docs/observability.md#health): one runtime per service, so each exports under its own
  // service.name.
  TracingSetup tracing(cfg, metrics);

  if (cmd == "migrate") {
    log::Logger api_log("taskman-api", sink);
    auto st = api::migrate(api_options(cfg, metrics), api_log);
    if (!st) {
      api_log.error("migration failed", {{"error", st.error().message}});
      return kExitFailure;
    }
    api_log.info("database is up to date", {{"database_url", redact_url(cfg.str("DATABASE_URL"))}});
    return kExitOk;
  }

  http::IoPool pool(std::max(1u, std::thread::hardware_concurrency()));
  ServiceHost host(pool, metrics);
  std::vector<std::unique_ptr<HostedService>> services;
  std::unique_ptr<api::RestApi> rest_api;
  McpService mcp;
  std::unique_ptr<mcp::StdioTransport> mcp_stdio;
  std::thread stdio_thread;
  try {
    if (want_api) {
      auto s = new_service("taskman-api", "API_HOST", sink, tracing);
      rest_api = build_api(host, *s, cfg, api_options(cfg, metrics));
      if (!rest_api) return kExitFailure;
      services.push_back(std::move(s));
    }
    if (want_mcp) {
      auto s = new_service("taskman-mcp", "HOST", sink, tracing);
      // `serve` talks to the API it just started, wherever that bound.
      std::string endpoint = cfg.str("TASK_MANAGER_API_ENDPOINT");
      if (want_api) {
        const auto& api = *services.front()->server;
        endpoint = std::string(api.tls() ? "https" : "http") + "://127.0.0.1:" + std::to_string(api.port()) +
                   "/api/v1";
      }
      mcp = build_mcp(host, *s, cfg, inv, std::move(endpoint));
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
      s->logger->info(
          "listening",
          {{"address", cfg.str(s->host_var)}, {"port", s->server->port()}, {"tls", s->server->tls()}});
    }
  }
  std::atomic<bool> stdin_ended{false};
  if (want_mcp && inv.stdio) {
    mcp_stdio = std::make_unique<mcp::StdioTransport>(*mcp.server, std::cin, std::cout);
    stdio_thread = std::thread([&] {
      mcp_stdio->run();
      stdin_ended = true;
      kill(getpid(), SIGUSR1);  // input ended: shut down like on SIGTERM
    });
  }
  main_log.info("ready",
                {{"command", cmd},
                 {"startup_ms", std::chrono::duration<double, std::milli>(clock.now() - started).count()}});
  sink.flush();  // start-up lines are what supervisors and tests wait for

  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      reload_certificates(services);
      sink.flush();
      continue;
    }
    if (sig != SIGUSR1 || stdin_ended) break;
  }
  main_log.info("shutting down: draining", {{"signal", sig == SIGTERM  ? "SIGTERM"
                                                       : sig == SIGINT ? "SIGINT"
                                                                       : "end of input"}});
  sink.flush();

  // One bound for the whole shutdown: the drain and then every span flush share it.
  const auto timeout = std::chrono::milliseconds(cfg.integer("SHUTDOWN_TIMEOUT_MS"));
  const auto shutdown_deadline = clock.now() + timeout;
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
  do {
    sigwait(&signals, &sig);
  } while (sig == SIGHUP);  // no reload while draining, and no reason to exit at once either
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
  if (mcp.http) mcp.http->close_all();
  pool.stop();
  if (rest_api) rest_api->close();
  tracing.shutdown(shutdown_deadline, clock, main_log);
  main_log.info("stopped");
  std::fflush(stderr);
  std::fflush(stdout);
  if (mcp_stdio && !stdin_ended) _exit(kExitOk);  // don't destroy a transport its reader still uses
  return kExitOk;
}

}  // namespace taskman::app
