#include "app/status_board.hpp"

#include "app/version.hpp"
#include "mcp/call_context.hpp"

namespace taskman::app {
namespace {

// The page polls itself every second; listing those requests would push out everything else.
bool is_status_route(const std::string& route) { return route == "/status" || route == "/status.json"; }

}  // namespace

StatusBoard::StatusBoard(std::string service, std::string trace_ui_url, const Clock& clock)
    : service_(std::move(service)),
      trace_ui_url_(std::move(trace_ui_url)),
      clock_(clock),
      started_(clock.now()),
      routes_(clock),
      tools_(clock) {}

void StatusBoard::on_request_end(const http::Request& req, int status, std::chrono::nanoseconds duration) {
  // Route templates only (bounded); a path no route matched is "unmatched", like the metrics label.
  const std::string route = req.route.empty() ? "unmatched" : req.route;
  routes_.record(req.method + " " + route, duration, status >= 500);
  if (is_status_route(req.route)) return;
  status::CallRecord r;
  r.at_ms = clock_.now_ms();
  r.kind = "http";
  r.method = req.method;
  r.target = route;
  r.outcome = std::to_string(status);
  r.error = status >= 400;
  r.duration_ms = std::chrono::duration<double, std::milli>(duration).count();
  r.request_id = req.ctx.request_id;
  r.trace_id = req.ctx.trace_id;
  add_call(std::move(r));
}

void StatusBoard::record_tool(const std::string& tool, const char* outcome, double seconds) {
  tools_.record(tool,
                std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds)),
                std::string_view(outcome) != "ok");
}

void StatusBoard::on_call_end(const mcp::CallContext& ctx, const mcp::CallOutcome& outcome) {
  status::CallRecord r;
  r.at_ms = clock_.now_ms();
  r.kind = "mcp";
  r.method = std::string(mcp::method_label(ctx.method()));
  r.target = ctx.tool_name().substr(0, 64);  // what the client asked for: cut, it is shown verbatim
  r.outcome = mcp::CallOutcome::name(outcome.kind);
  if (outcome.kind == mcp::CallOutcome::Kind::kRpcError)
    r.outcome += " " + std::to_string(outcome.rpc_error_code);
  r.error =
      outcome.kind == mcp::CallOutcome::Kind::kToolError || outcome.kind == mcp::CallOutcome::Kind::kRpcError;
  r.request_id = ctx.request_context().request_id;
  r.trace_id = ctx.request_context().trace_id;
  add_call(std::move(r));
}

void StatusBoard::add_call(status::CallRecord record) {
  if (record.error) errors_.push(record);
  requests_.push(std::move(record));
}

void StatusBoard::record_transition(const char* from, const char* to, const char* reason) {
  transitions_.push({clock_.now_ms(), from, to, reason});
}

void StatusBoard::record_admin(std::string action, std::string detail, std::string remote, std::string who) {
  admin_.push({clock_.now_ms(), std::move(action), std::move(detail), std::move(remote), std::move(who)});
}

status::StatusSnapshot StatusBoard::snapshot() const {
  status::StatusSnapshot s;
  s.service = service_;
  s.version = version();
  s.revision = git_revision();
  s.build_type = build_type();
  s.now_ms = clock_.now_ms();
  s.uptime_s = std::chrono::duration<double>(clock_.now() - started_).count();
  s.routes = routes_.snapshot();
  s.tools = tools_.snapshot();
  s.recent_requests = requests_.items();
  s.recent_errors = errors_.items();
  s.admin_actions = admin_.items();
  s.trace_ui_url = trace_ui_url_;
  if (fill_) fill_(s);
  if (s.breaker) s.breaker->transitions = transitions_.items();
  return s;
}

}  // namespace taskman::app
