#include "app/telemetry.hpp"

#include "core/text.hpp"
#include "tracing/semconv.hpp"
#include "tracing/trace_context.hpp"

namespace taskman::app {

void HttpTracingObserver::on_request_start(http::Request& req) {
  std::vector<std::string_view> parents, states;
  for (const auto& [k, v] : req.headers.items()) {
    if (iequals(k, "traceparent")) parents.push_back(v);
    if (iequals(k, "tracestate")) states.push_back(v);
  }
  const auto parent = tracing::extract(parents, states).value_or(tracing::SpanContext{});
  namespace sc = tracing::semconv;
  auto span =
      std::make_shared<tracing::Span>(tracer_.start_span(req.method, tracing::SpanKind::kServer, parent));
  // Attributes only for a span that records: a propagation-only span (tracing off, or sampled out)
  // would build and drop five strings per request.
  if (span->is_recording()) {
    span->set_attributes({{std::string(sc::kHttpRequestMethod), req.method},
                          {std::string(sc::kUrlPath), req.path},
                          {std::string(sc::kUrlScheme), "http"},
                          {std::string(sc::kServerPort), static_cast<std::int64_t>(port_)},
                          {std::string(sc::kRequestId), req.ctx.request_id}});
  }
  span->fill(req.ctx);
  req.observer_state = std::move(span);
}

void HttpTracingObserver::on_request_end(const http::Request& req, int status, std::chrono::nanoseconds) {
  auto span = std::static_pointer_cast<tracing::Span>(req.observer_state);
  if (!span) return;
  if (!span->is_recording()) return;  // nothing to name or export; the context was passed on at the start
  namespace sc = tracing::semconv;
  span->update_name(sc::http_server_span_name(req.method, req.route));
  if (!req.route.empty()) span->set_attribute({std::string(sc::kHttpRoute), req.route});
  sc::end_http_server_status(*span, status);
  span->end();
}

void McpTracingObserver::on_call_start(mcp::CallContext& c) {
  namespace sc = tracing::semconv;
  tracing::SpanContext parent = tracing::parent_of(c.request_context());
  if (auto from_meta = tracing::extract_from_mcp_params(c.params())) parent = *from_meta;
  std::string target = c.tool_name();
  if (target.empty() && c.method() == "prompts/get" && c.params().is_object()) {
    target = c.params().value("name", std::string());
  }
  auto span = std::make_shared<tracing::Span>(
      tracer_.start_span(sc::mcp_span_name(std::string(mcp::method_label(c.method())), target),
                         tracing::SpanKind::kServer, parent));
  // Attributes only for a span that records (see HttpTracingObserver::on_request_start).
  if (span->is_recording()) {
    // jsonrpc.request.id is the id itself: a string id without JSON quotes, a number as its digits.
    const auto& rpc_id = c.request_id();
    std::string rpc_id_text = rpc_id.is_string() ? rpc_id.get<std::string>() : rpc_id.dump();
    tracing::Attributes attrs = {
        {sc::kMcpMethodName, c.method()},    {sc::kJsonRpcRequestId, std::move(rpc_id_text)},
        {sc::kMcpSessionId, c.session_id()}, {sc::kMcpProtocolVersion, c.session().protocol_version()},
        {sc::kNetworkTransport, transport_}, {sc::kRequestId, c.request_context().request_id}};
    if (!c.tool_name().empty()) {
      attrs.push_back({sc::kGenAiToolName, c.tool_name()});
      attrs.push_back({sc::kGenAiOperationName, "execute_tool"});
    }
    if (c.method() == "resources/read" && c.params().is_object() && c.params().contains("uri") &&
        c.params()["uri"].is_string()) {
      attrs.push_back({sc::kMcpResourceUri, c.params()["uri"].get<std::string>()});
    }
    span->set_attributes(std::move(attrs));
  }
  span->fill(c.mutable_request_context());
  c.set_telemetry(std::move(span));
}

void McpTracingObserver::on_call_end(const mcp::CallContext& c, const mcp::CallOutcome& outcome) {
  namespace sc = tracing::semconv;
  auto span = std::static_pointer_cast<tracing::Span>(c.telemetry());
  if (!span || !span->is_recording()) return;
  if (outcome.kind == mcp::CallOutcome::Kind::kToolError) {
    span->set_attribute({sc::kErrorType, "tool_error"});
    span->set_status(tracing::StatusCode::kError, "tool_error");
  } else if (outcome.kind == mcp::CallOutcome::Kind::kRpcError) {
    span->set_attribute({sc::kErrorType, std::to_string(outcome.rpc_error_code)});
    span->set_status(tracing::StatusCode::kError, "JSON-RPC error " + std::to_string(outcome.rpc_error_code));
  } else if (outcome.kind == mcp::CallOutcome::Kind::kCancelled) {
    span->set_attribute({sc::kErrorType, "cancelled"});
  }
  span->end();
}

void McpMetricsObserver::on_call_end(const mcp::CallContext& c, const mcp::CallOutcome& outcome) {
  m_.mcp_request(std::string(mcp::method_label(c.method())), mcp::CallOutcome::name(outcome.kind));
}

void register_metrics_route(http::Router& router, metrics::Metrics& m) {
  router.add_sync("GET", "/metrics", [&m](http::Request&) {
    http::Response r;
    r.status = 200;
    r.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.headers.set("Cache-Control", "no-store");
    r.body = m.serialize();
    return r;
  });
}

}  // namespace taskman::app
