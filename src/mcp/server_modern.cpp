// The per-request era (MCP 2026-07-28) in the server: a request carries its revision and client
// capabilities in _meta and is served in a session of its own (nothing outlives the call, so any
// instance of a fleet can answer any request); server/discover describes the server;
// subscriptions/listen streams notifications to one call. Dispatch is the shared method table.
#include <algorithm>

#include "mcp/modern.hpp"
#include "mcp/server.hpp"

namespace taskman::mcp {
namespace {

RpcError invalid_params(std::string message) { return RpcError{rpc::kInvalidParams, std::move(message), {}}; }

Json subscription_meta(const Json& id) { return Json{{std::string(modern::kSubscriptionIdKey), id}}; }

}  // namespace

std::shared_ptr<Session> Server::handle_modern(const Message& message, std::shared_ptr<Exchange> exchange,
                                               RequestContext request_context) {
  // Notifications of the era need no session: cancellation is by stream (HTTP) or handled by the
  // transport that knows the call (stdio); anything else is ignored as JSON-RPC asks.
  if (message.kind != MessageKind::kRequest) return nullptr;
  if (!message.params.is_object()) {
    if (exchange)
      exchange->finish(make_error(message.id, invalid_params("Invalid params: params must be an object")));
    return nullptr;
  }
  auto meta = modern::parse_request_meta(message.params);
  if (auto* error = std::get_if<RpcError>(&meta)) {
    if (exchange) exchange->finish(make_error(message.id, *error));
    return nullptr;
  }
  return handle_modern(message, std::move(std::get<modern::RequestMeta>(meta)), std::move(exchange),
                       std::move(request_context));
}

std::shared_ptr<Session> Server::handle_modern(const Message& message, modern::RequestMeta m,
                                               std::shared_ptr<Exchange> exchange,
                                               RequestContext request_context) {
  // Not registered in sessions_: it is no client's session, only this call's state.
  auto session = std::make_shared<Session>(*this, std::string());
  {
    std::lock_guard lock(session->mu_);
    session->initialized_ = true;
    session->revision_ = m.revision;
    session->client_capabilities_ = std::move(m.client_capabilities);
    if (!m.client_info.is_null()) session->client_info_ = std::move(m.client_info);
    session->log_level_ = m.log_level;
  }
  handle(session, message, std::move(exchange), std::move(request_context));
  return session;
}

void Server::on_discover(const CallPtr& ctx) {
  const Revision* revision = ctx->session().revision();
  Json versions = Json::array();
  for (const auto& r : modern_revisions()) versions.push_back(std::string(r.id));
  Json result = {{"supportedVersions", std::move(versions)}, {"capabilities", capabilities(*revision)}};
  if (!options_.instructions.empty()) result["instructions"] = options_.instructions;
  ctx->finish(std::move(result));  // resultType, cache hints and serverInfo are added on the way out
}

void Server::on_listen(const CallPtr& ctx) {
  const Json& p = ctx->params();
  const Json requested = p.value("notifications", Json::object());
  if (!requested.is_object())
    return ctx->finish(invalid_params("subscriptions/listen: params.notifications must be an object"));
  Json honoured = Json::object();
  std::vector<std::string> uris;
  if (auto it = requested.find("resourceSubscriptions"); it != requested.end()) {
    if (!it->is_array()) {
      return ctx->finish(
          invalid_params("subscriptions/listen: notifications.resourceSubscriptions must be an array"));
    }
    for (const auto& u : *it) {
      if (!u.is_string())
        return ctx->finish(invalid_params("subscriptions/listen: resourceSubscriptions holds URI strings"));
      uris.push_back(u.get<std::string>());
    }
    if (offers_resources()) honoured["resourceSubscriptions"] = *it;
  }
  // The tool, prompt and resource lists are fixed for the life of the server (listChanged: false),
  // so no list-changed notification is promised.
  if (!offers_resources()) uris.clear();
  // The acknowledgement goes out at once: a client waits for it to know the stream is live.
  ctx->send_related(make_notification(
      "notifications/subscriptions/acknowledged",
      Json{{"notifications", std::move(honoured)}, {"_meta", subscription_meta(ctx->request_id())}}));
  {
    std::lock_guard lock(listeners_mu_);
    listeners_.push_back({ctx, std::move(uris)});
  }
  live_listeners();  // sweeps streams whose clients went away
}

std::vector<std::pair<CallPtr, std::vector<std::string>>> Server::live_listeners() {
  std::vector<std::pair<CallPtr, std::vector<std::string>>> live;
  std::vector<CallPtr> gone;
  {
    std::lock_guard lock(listeners_mu_);
    for (auto it = listeners_.begin(); it != listeners_.end();) {
      auto call = it->call.lock();
      const bool ended = !call || call->finished_.load() || call->cancelled();
      if (!ended && !(call->exchange_ && call->exchange_->gone())) {
        live.emplace_back(call, it->uris);
        ++it;
        continue;
      }
      if (call && !ended) gone.push_back(std::move(call));
      it = listeners_.erase(it);
    }
  }
  for (auto& call : gone) call->cancel();  // nobody reads the answer; the call just ends
  return live;
}

std::size_t Server::listener_count() const {
  std::lock_guard lock(listeners_mu_);
  return listeners_.size();
}

void Server::close_listeners() {
  std::vector<Listener> all;
  {
    std::lock_guard lock(listeners_mu_);
    all.swap(listeners_);
  }
  for (auto& l : all) {
    // The graceful end of a listen stream is its response, naming the subscription it closes.
    if (auto call = l.call.lock()) call->finish(Json{{"_meta", subscription_meta(call->request_id())}});
  }
}

}  // namespace taskman::mcp
