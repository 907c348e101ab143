#pragma once
// Adapters that hook the telemetry leaves (metrics) into the HTTP server and health checks.
#include "http/router.hpp"
#include "http/server.hpp"
#include "mcp/server.hpp"
#include "metrics/metrics.hpp"
#include "tracing/tracer.hpp"

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

// One SERVER span per HTTP request (OTel HTTP semantic conventions), continuing an incoming W3C
// traceparent/tracestate; its ids go into req.ctx so handlers, logs and outgoing calls follow it.
class HttpTracingObserver final : public http::RequestObserver {
 public:
  HttpTracingObserver(tracing::Tracer& tracer, std::uint16_t port) : tracer_(tracer), port_(port) {}
  void set_port(std::uint16_t port) { port_ = port; }
  void on_request_start(http::Request& req) override;
  void on_request_end(const http::Request& req, int status, std::chrono::nanoseconds d) override;

 private:
  tracing::Tracer& tracer_;
  std::uint16_t port_;
};

// One SERVER span per MCP request (gen-ai/mcp semantic conventions: "tools/call create_task") that
// continues params._meta.traceparent or else the HTTP request's span; its ids go into the call's
// request context. `transport` is network.transport: "tcp" (HTTP) or "pipe" (stdio). Register it
// first, so it ends its span after the other observers have seen the call.
class McpTracingObserver final : public mcp::CallObserver {
 public:
  McpTracingObserver(tracing::Tracer& tracer, const char* transport)
      : tracer_(tracer), transport_(transport) {}
  void on_call_start(mcp::CallContext& ctx) override;
  void on_call_end(const mcp::CallContext& ctx, const mcp::CallOutcome& outcome) override;

 private:
  tracing::Tracer& tracer_;
  const char* transport_;
};

// mcp_requests_total{method,outcome}.
class McpMetricsObserver final : public mcp::CallObserver {
 public:
  explicit McpMetricsObserver(metrics::Metrics& m) : m_(m) {}
  void on_call_end(const mcp::CallContext& ctx, const mcp::CallOutcome& outcome) override;

 private:
  metrics::Metrics& m_;
};

// GET /metrics in the text format 0.0.4.
void register_metrics_route(http::Router& router, metrics::Metrics& m);

}  // namespace taskman::app
