#include "mcp/call_context.hpp"

#include "core/text.hpp"
#include "mcp/input_required.hpp"
#include "mcp/modern.hpp"
#include "mcp/server.hpp"

namespace taskman::mcp {
namespace {

// The client capability a server->client request needs (elicitation/create needs "elicitation").
const char* capability_for(const std::string& method) {
  if (method == "sampling/createMessage") return "sampling";
  if (method == "elicitation/create") return "elicitation";
  if (method == "roots/list") return "roots";
  return nullptr;
}

}  // namespace

CallContext::CallContext(std::shared_ptr<Session> session, std::shared_ptr<Exchange> exchange, Json id,
                         std::string method, Json params, RequestContext request_context)
    : session_(std::move(session)),
      exchange_(std::move(exchange)),
      id_(std::move(id)),
      method_(std::move(method)),
      params_(std::move(params)),
      request_context_(std::move(request_context)) {
  // Every call has a request id (docs/observability.md: in every log line and every error an agent sees);
  // stdio and other transports without an HTTP request get a fresh one here.
  if (request_context_.request_id.empty()) request_context_.request_id = random_hex(16);
  if (params_.is_object()) {
    auto meta = params_.find("_meta");
    if (meta != params_.end() && meta->is_object()) {
      meta_ = *meta;
      auto token = meta->find("progressToken");
      if (token != meta->end() && (token->is_string() || token->is_number_integer()))
        progress_token_ = *token;
    }
  }
}

void CallContext::send_related(const Json& message) {
  if (finished_.load() || !exchange_) return;
  exchange_->send_related(message);
}

void CallContext::progress(double progress, std::optional<double> total, std::string message) {
  if (progress_token_.is_null()) return;
  Json params = {{"progressToken", progress_token_}, {"progress", progress}};
  if (total) params["total"] = *total;
  if (!message.empty()) params["message"] = std::move(message);
  send_related(make_notification("notifications/progress", std::move(params)));
}

bool CallContext::per_request_era() const {
  const Revision* r = session_->revision();
  return r && r->has(Feature::kRequestMeta);
}

bool CallContext::client_declared(std::string_view capability) const {
  const Json caps = session_->client_capabilities();
  return caps.is_object() && caps.contains(capability);
}

std::string CallContext::seal_state(const Json& state, std::chrono::milliseconds ttl) const {
  return seal_request_state(state, request_binding(method_, params_), ttl, unix_ms_now());
}

void CallContext::log(LogLevel level, Json data, std::string logger) {
  const auto threshold = session_->log_level();
  // The per-request era sends log messages only to a request that named a logLevel in its _meta.
  if (!threshold && per_request_era()) return;
  // Without logging/setLevel the client has not asked for a threshold: send every level (as the
  // reference SDK does); afterwards only messages at or above it (logging §Log Levels).
  if (threshold && level < *threshold) return;
  Json params = {{"level", log_level_name(level)}, {"data", std::move(data)}};
  if (!logger.empty()) params["logger"] = std::move(logger);
  send_related(make_notification("notifications/message", std::move(params)));
}

void CallContext::request(std::string method, Json params, std::function<void(Result<Json>)> on_answer) {
  if (per_request_era()) {
    // No server->client requests in this era: a handler asks through an input_required result.
    on_answer(
        Error::make(ErrorCode::kUnavailable, "the client cannot be asked for " + method +
                                                 " during a call in this revision (answer input_required)"));
    return;
  }
  if (const char* cap = capability_for(method); cap && !session_->client_capabilities().contains(cap)) {
    on_answer(Error::make(ErrorCode::kInvalidArgument,
                          std::string("the client did not declare the '") + cap + "' capability"));
    return;
  }
  if (finished_.load()) {
    on_answer(Error::make(ErrorCode::kUnavailable, "the call has already finished"));
    return;
  }
  const Json id = session_->add_pending(std::move(on_answer));
  if (id.is_null()) return;
  send_related(make_request(id, method, std::move(params)));
}

void CallContext::close_stream() {
  if (!finished_.load() && exchange_) exchange_->close_stream();
}

void CallContext::on_cancel(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    if (!cancelled_.load()) {
      cancel_callbacks_.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

void CallContext::cancel() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    if (cancelled_.exchange(true)) return;
    callbacks.swap(cancel_callbacks_);
  }
  for (auto& fn : callbacks) fn();
  // End the exchange now, so a transport is not held open by a handler that ignores cancellation;
  // its late reply is dropped.
  finish(RpcError{rpc::kRequestCancelled, "Request cancelled", {}});
}

std::string CallContext::tool_name() const {
  if (method_ != "tools/call" || !params_.is_object()) return {};
  auto it = params_.find("name");
  return it != params_.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void CallContext::finish(std::variant<Json, RpcError> outcome) {
  if (finished_.exchange(true)) return;
  session_->remove_in_flight(id_);
  CallOutcome summary;
  std::optional<Json> response;
  if (cancelled_.load()) {
    summary.kind = CallOutcome::Kind::kCancelled;
  } else if (auto* result = std::get_if<Json>(&outcome)) {
    if (result->is_object() && result->value("isError", false) == true)
      summary.kind = CallOutcome::Kind::kToolError;
    if (per_request_era()) modern::decorate_result(method_, *result, session_->server().server_info());
    response = make_result(id_, std::move(*result));
  } else {
    summary.kind = CallOutcome::Kind::kRpcError;
    summary.rpc_error_code = std::get<RpcError>(outcome).code;
    response = make_error(id_, std::get<RpcError>(outcome));
  }
  // The observers first: the request's span ends before its answer can reach the client, so it never
  // outlives the HTTP span that carries the answer.
  const auto& observers = session_->server().call_observers_;
  for (auto it = observers.rbegin(); it != observers.rend(); ++it) (*it)->on_call_end(*this, summary);
  if (exchange_) exchange_->finish(std::move(response));
}

}  // namespace taskman::mcp
