#include "app/hosted_service.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>

#include "core/redact.hpp"

namespace taskman::app {

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

ServiceHost::ServiceHost(http::IoPool& pool, metrics::Metrics* registry) : pool_(pool), registry_(registry) {
  if (registry_ != nullptr) http_metrics_ = std::make_unique<HttpMetricsObserver>(*registry_);
}

void ServiceHost::add_common_routes(HostedService& s, http::Router& router) {
  s.health.register_routes(router);
  if (registry_ == nullptr) return;
  register_metrics_route(router, *registry_);
  s.health.on_check([registry = registry_](const std::string& name, bool ok, double secs) {
    registry->health_check(name, ok, secs);
  });
  // The checks also run at each scrape, so health_check_status is fresh without a probe.
  registry_->add_scrape_hook([health = &s.health](metrics::Metrics&) { (void)health->readiness(); });
}

void ServiceHost::add_status_routes(HostedService& s, http::Router& router, const config::Config& cfg,
                                    AdminTargets targets, std::function<void(status::StatusSnapshot&)> fill) {
  if (!s.status) s.status = std::make_unique<StatusBoard>(s.name, cfg.str("TRACE_UI_URL"));
  const bool exporting = cfg.boolean("ENABLE_TRACING");
  s.status->set_filler([&s, exporting, fill = std::move(fill)](status::StatusSnapshot& snap) {
    snap.log_level = log::level_name(s.sink->level());
    if (auto st = s.exporter_stats ? s.exporter_stats() : std::nullopt) {
      snap.exporter.enabled = exporting;
      snap.exporter.queue_size = st->queue_size;
      snap.exporter.exported = st->spans_exported;
      snap.exporter.dropped = st->spans_dropped;
      snap.exporter.export_failed = st->spans_export_failed;
    }
    if (fill) fill(snap);
  });
  targets.sink = s.sink;
  targets.logger = s.logger.get();
  targets.registry = registry_;
  // The very path SIGTERM takes (services.cpp waits for it with sigwait), so an admin drain and a
  // supervisor's stop behave the same.
  targets.drain = [] { kill(getpid(), SIGTERM); };
  register_status_routes(router, *s.status, std::move(targets));
}

void ServiceHost::start(HostedService& s, http::Router router, http::ServerOptions opts) {
  const auto port = opts.port;
  s.server = std::make_unique<http::Server>(pool_, std::move(opts), std::move(router), *s.logger);
  if (s.tracer != nullptr) {
    s.http_tracing = std::make_unique<HttpTracingObserver>(*s.tracer, port);
    s.server->add_observer(s.http_tracing.get());  // first: later observers and handlers see the span
  }
  if (http_metrics_) s.server->add_observer(http_metrics_.get());
  if (s.status) s.server->add_observer(s.status.get());
  s.server->start();
  if (s.http_tracing) s.http_tracing->set_port(s.server->port());
}

}  // namespace taskman::app
