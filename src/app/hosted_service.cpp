#include "app/hosted_service.hpp"

#include <chrono>

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

void ServiceHost::start(HostedService& s, http::Router router, http::ServerOptions opts) {
  const auto port = opts.port;
  s.server = std::make_unique<http::Server>(pool_, std::move(opts), std::move(router), *s.logger);
  if (s.tracer != nullptr) {
    s.http_tracing = std::make_unique<HttpTracingObserver>(*s.tracer, port);
    s.server->add_observer(s.http_tracing.get());  // first: later observers and handlers see the span
  }
  if (http_metrics_) s.server->add_observer(http_metrics_.get());
  s.server->start();
  if (s.http_tracing) s.http_tracing->set_port(s.server->port());
}

}  // namespace taskman::app
