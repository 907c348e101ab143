#include "app/services.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "app/health.hpp"
#include "app/telemetry.hpp"
#include "app/version.hpp"
#include "http/server.hpp"
#include "log/log.hpp"

namespace taskman::app {
namespace {

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

// Signals are taken synchronously by the main thread (sigwait), so no handler runs on an I/O
// thread. SIGUSR1 is our own "drain finished" wake-up.
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
  std::unique_ptr<log::Logger> logger;
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

}  // namespace

int run(const Invocation& inv, const config::Config& cfg) {
  const auto started = std::chrono::steady_clock::now();
  const std::string& cmd = inv.command;
  const bool want_api = cmd == "serve" || cmd == "api";
  const bool want_mcp_http = (cmd == "serve" || cmd == "mcp") && !inv.stdio;

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

  log::Sink sink(stderr, *log::parse_level(cfg.str("LOG_LEVEL")),
                 cfg.str("LOG_FORMAT") == "pretty" ? log::Format::kPretty : log::Format::kJson);

  if (cmd == "migrate" || cmd == "mcp") {
    std::fprintf(stderr, "taskman: '%s' is not implemented yet\n", cmd.c_str());
    return kExitNotImplemented;
  }

  // Block the signals before any thread starts so every thread inherits the mask.
  sigset_t signals = blocked_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  http::IoPool pool(std::max(1u, std::thread::hardware_concurrency()));
  // One registry per process (SPEC §6): in `serve` both services expose the same registry.
  const bool metrics_on = cfg.boolean("ENABLE_METRICS");
  metrics::Metrics registry(version(), git_revision());
  HttpMetricsObserver http_metrics(registry);
  auto add_common_routes = [&](Service& s, http::Router& router) {
    s.health.register_routes(router);
    if (metrics_on) {
      register_metrics_route(router, registry);
      s.health.on_check([&registry](const std::string& name, bool ok, double secs) {
        registry.health_check(name, ok, secs);
      });
    }
  };
  std::vector<std::unique_ptr<Service>> services;
  try {
    if (want_api) {
      auto s = std::make_unique<Service>();
      s->name = "taskman-api";
      s->logger = std::make_unique<log::Logger>(s->name, sink);
      http::Router router;
      add_common_routes(*s, router);
      auto opts = server_options(cfg, cfg.str("API_HOST"), cfg.integer("API_PORT"));
      opts.bearer_tokens = cfg.list("API_KEYS");
      opts.auth_path_prefix = "/api/";
      s->server = std::make_unique<http::Server>(pool, opts, std::move(router), *s->logger);
      if (metrics_on) s->server->add_observer(&http_metrics);
      s->server->start();
      services.push_back(std::move(s));
    }
    if (want_mcp_http) {
      auto s = std::make_unique<Service>();
      s->name = "taskman-mcp";
      s->logger = std::make_unique<log::Logger>(s->name, sink);
      http::Router router;
      add_common_routes(*s, router);
      auto opts = server_options(cfg, cfg.str("HOST"), cfg.integer("PORT"));
      opts.bearer_tokens = cfg.list("MCP_AUTH_TOKENS");
      opts.auth_path_prefix = "/mcp";
      s->server = std::make_unique<http::Server>(pool, opts, std::move(router), *s->logger);
      if (metrics_on) s->server->add_observer(&http_metrics);
      s->server->start();
      services.push_back(std::move(s));
    }
  } catch (const std::exception& e) {
    log::Logger("taskman", sink).error("start-up failed", {{"error", e.what()}});
    return kExitFailure;
  }

  pool.start();
  for (auto& s : services) {
    s->health.set_ready(true);
    s->logger->info("listening", {{"address", cfg.str(s->name == "taskman-api" ? "API_HOST" : "HOST")},
                                  {"port", s->server->port()}});
  }
  log::Logger main_log("taskman", sink);
  main_log.info("ready", {{"command", cmd},
                          {"startup_ms", std::chrono::duration<double, std::milli>(
                                             std::chrono::steady_clock::now() - started).count()}});

  int sig = 0;
  do {
    sigwait(&signals, &sig);
  } while (sig == SIGUSR1);
  main_log.info("shutting down: draining", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});

  const auto timeout = std::chrono::milliseconds(cfg.integer("SHUTDOWN_TIMEOUT_MS"));
  auto pending = std::make_shared<std::atomic<int>>(static_cast<int>(services.size()));
  for (auto& s : services) s->health.set_draining();
  for (auto& s : services) {
    s->server->drain(timeout, [pending] {
      if (pending->fetch_sub(1) == 1) kill(getpid(), SIGUSR1);
    });
  }
  if (services.empty()) kill(getpid(), SIGUSR1);
  sigwait(&signals, &sig);
  if (sig != SIGUSR1) {
    main_log.warn("second signal: exiting at once");
    std::fflush(stderr);
    _exit(kExitFailure);
  }
  pool.stop();
  main_log.info("stopped");
  std::fflush(stderr);
  return kExitOk;
}

}  // namespace taskman::app
