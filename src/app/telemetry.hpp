#pragma once
// Adapters that hook the telemetry leaves (metrics) into the HTTP server and health checks.
#include "http/router.hpp"
#include "http/server.hpp"
#include "metrics/metrics.hpp"

namespace taskman::app {

class HttpMetricsObserver final : public http::RequestObserver {
 public:
  explicit HttpMetricsObserver(metrics::Metrics& m) : m_(m) {}
  void on_request_start(http::Request&) override { m_.http_request_started(); }
  void on_request_end(const http::Request& req, int status, std::chrono::nanoseconds d) override {
    m_.http_request_finished(req.method, req.route, status, std::chrono::duration<double>(d).count());
  }

 private:
  metrics::Metrics& m_;
};

// GET /metrics in the text format 0.0.4.
void register_metrics_route(http::Router& router, metrics::Metrics& m);

}  // namespace taskman::app
