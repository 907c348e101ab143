#pragma once
// One HTTP-facing service of the process (taskman-api, taskman-mcp) and what every such service
// shares: its logger and tracer, /health, /metrics, the request observers, the server itself.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "app/health.hpp"
#include "app/status_board.hpp"
#include "app/status_routes.hpp"
#include "app/telemetry.hpp"
#include "config/config.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "tracing/batch_processor.hpp"

namespace taskman::app {

struct HostedService {
  std::string name;      // service.name and the logger's name
  std::string host_var;  // the configuration variable naming the bind address
  std::unique_ptr<log::Logger> logger;
  log::Sink* sink = nullptr;          // shared by every service; the admin log-level action sets its level
  tracing::Tracer* tracer = nullptr;  // disabled (propagation only) when tracing is off
  std::unique_ptr<HttpTracingObserver> http_tracing;
  // The exporter's counters behind `tracer`; nullopt when nothing is exported.
  std::function<std::optional<tracing::BatchStats>()> exporter_stats;
  Health health;
  std::unique_ptr<StatusBoard> status;   // null for MCP over stdio (no HTTP server to show it on)
  std::unique_ptr<http::Server> server;  // null for MCP over stdio
};

// The HTTP limits every server shares, for one bind address.
http::ServerOptions server_options(const config::Config& cfg, const std::string& host, std::int64_t port);

// Starts services on one I/O pool with the routes and observers they all have.
class ServiceHost {
 public:
  // `registry` is null when metrics are off.
  ServiceHost(http::IoPool& pool, metrics::Metrics* registry);

  // /health/* always; /metrics and health-check metrics when metrics are on.
  void add_common_routes(HostedService& s, http::Router& router);
  // Creates s.status and serves /status, /status.json and the admin actions on `router`. `fill` adds
  // the service's own live views to each snapshot; the targets' sink, logger, drain and registry
  // are filled in here.
  void add_status_routes(HostedService& s, http::Router& router, const config::Config& cfg,
                         AdminTargets targets, std::function<void(status::StatusSnapshot&)> fill = {});
  // Creates and starts s.server; the tracing observer goes first so later observers see the span.
  void start(HostedService& s, http::Router router, http::ServerOptions opts);

  http::IoPool& pool() { return pool_; }
  metrics::Metrics* registry() { return registry_; }

 private:
  http::IoPool& pool_;
  metrics::Metrics* registry_;
  std::unique_ptr<HttpMetricsObserver> http_metrics_;
};

}  // namespace taskman::app
