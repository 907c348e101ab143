#pragma once
// What a handler knows about the request it serves and how it talks back while it runs: progress,
// log messages, server->client requests, cancellation. Thread-safe.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/context.hpp"
#include "core/result.hpp"
#include "mcp/json_rpc.hpp"
#include "mcp/session.hpp"
#include "mcp/types.hpp"

namespace taskman::mcp {

// What a handler knows about the request it serves, and how it talks back while running.
// Shared: an asynchronous handler keeps the shared_ptr until it replies.
class CallContext : public std::enable_shared_from_this<CallContext> {
 public:
  CallContext(std::shared_ptr<Session> session, std::shared_ptr<Exchange> exchange, Json id,
              std::string method, Json params, RequestContext request_context);

  const Json& request_id() const { return id_; }
  const std::string& method() const { return method_; }
  const Json& params() const { return params_; }
  // params._meta (progressToken, traceparent, ...), or null.
  const Json& meta() const { return meta_; }
  const RequestContext& request_context() const { return request_context_; }
  std::chrono::steady_clock::time_point started() const { return started_; }
  // For tools/call: the tool name (empty otherwise or when absent).
  std::string tool_name() const;
  Session& session() const { return *session_; }
  const std::string& session_id() const { return session_->id(); }

  bool has_progress_token() const { return !progress_token_.is_null(); }
  // notifications/progress for params._meta.progressToken (no-op without one). Progress must
  // increase between calls (MCP progress §Behavior); callers pass increasing values.
  void progress(double progress, std::optional<double> total = std::nullopt, std::string message = {});
  // notifications/message, sent when `level` passes the session's logging/setLevel threshold.
  void log(LogLevel level, Json data, std::string logger = {});
  // A server->client request (sampling/createMessage, elicitation/create, roots/list) sent along
  // with this call; on_answer runs once with the client's result or an Error.
  void request(std::string method, Json params, std::function<void(Result<Json>)> on_answer);

  // Asks the transport to close this call's stream now; the client resumes it later (no-op on
  // transports that cannot resume).
  void close_stream();

  // For the call start hook only (before the handler sees the context): the hook's span ids.
  RequestContext& mutable_request_context() { return request_context_; }
  // Opaque per-call state of the start hook (its span), kept until the call ends.
  void set_telemetry(std::shared_ptr<void> state) { telemetry_ = std::move(state); }
  const std::shared_ptr<void>& telemetry() const { return telemetry_; }

  // Answers the request with a JSON-RPC error (a protocol error, not a failed tool), e.g. -32021
  // when the client did not declare a capability the request needs. Later replies are ignored.
  void reply_error(RpcError error) { finish(std::move(error)); }
  // Whether the client declared `capability` (the session's, or this request's in the per-request era).
  bool client_declared(std::string_view capability) const;
  // Whether this request is served in the per-request era (2026-07-28 and later).
  bool per_request_era() const;
  // input_required (input_required.hpp): the state the retried request carried, already verified
  // by the server (null on a first attempt), and a sealed state for the next round of this request.
  const Json& request_state() const { return request_state_; }
  std::string seal_state(const Json& state, std::chrono::milliseconds ttl = std::chrono::minutes(10)) const;

  bool cancelled() const { return cancelled_.load(); }
  // fn runs once when the client cancels this call (at once when it already has).
  void on_cancel(std::function<void()> fn);

 private:
  friend class Server;
  friend class Session;
  void cancel();
  // Sends the response (or nothing when cancelled) and ends the call. Later calls are ignored.
  void finish(std::variant<Json, RpcError> outcome);
  void send_related(const Json& message);

  std::shared_ptr<Session> session_;
  std::shared_ptr<Exchange> exchange_;
  const Json id_;
  const std::string method_;
  const Json params_;
  Json meta_;
  Json progress_token_;
  Json request_state_;              // set by the server before the handler runs
  RequestContext request_context_;  // set in the constructor and by the start hook, before any handler
  std::shared_ptr<void> telemetry_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> finished_{false};
  std::mutex mu_;  // guards cancel_callbacks_
  std::vector<std::function<void()>> cancel_callbacks_;
};

using CallPtr = std::shared_ptr<CallContext>;

}  // namespace taskman::mcp
