#include "mcp/session.hpp"

#include <stdexcept>

#include "mcp/call_context.hpp"

namespace taskman::mcp {

Session::Session(Server& server, std::string id) : server_(server), id_(std::move(id)) {}
Session::~Session() = default;

bool Session::initialized() const {
  std::lock_guard lock(mu_);
  return initialized_;
}
std::string Session::protocol_version() const {
  std::lock_guard lock(mu_);
  return revision_ ? std::string(revision_->id) : std::string();
}
const Revision* Session::revision() const {
  std::lock_guard lock(mu_);
  return revision_;
}
Json Session::client_capabilities() const {
  std::lock_guard lock(mu_);
  return client_capabilities_;
}
Json Session::client_info() const {
  std::lock_guard lock(mu_);
  return client_info_;
}
std::optional<LogLevel> Session::log_level() const {
  std::lock_guard lock(mu_);
  return log_level_;
}
bool Session::subscribed(const std::string& uri) const {
  std::lock_guard lock(mu_);
  return subscriptions_.count(uri) > 0;
}
std::size_t Session::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_.size();
}
bool Session::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

void Session::assume_initialized(const Revision& revision) {
  std::lock_guard lock(mu_);
  initialized_ = true;
  revision_ = &revision;
}

void Session::assume_initialized(std::string_view protocol_version) {
  const Revision* revision = find_revision(protocol_version);
  if (!revision) throw std::invalid_argument("unknown MCP revision: " + std::string(protocol_version));
  assume_initialized(*revision);
}

void Session::set_outbound(OutboundFn fn) {
  std::lock_guard lock(mu_);
  outbound_ = std::move(fn);
}

bool Session::send_unrelated(const Json& message) {
  OutboundFn out;
  {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    out = outbound_;
  }
  return out && out(message);
}

void Session::request(std::string method, Json params, std::function<void(Result<Json>)> on_answer) {
  const Json id = add_pending(std::move(on_answer));
  if (id.is_null()) return;  // session closed: already failed
  if (!send_unrelated(make_request(id, method, std::move(params)))) {
    resolve(id, Error::make(ErrorCode::kUnavailable, "no channel to the client for " + method));
  }
}

Json Session::add_pending(std::function<void(Result<Json>)> on_answer) {
  {
    std::lock_guard lock(mu_);
    if (!closed_ && !input_ended_) {
      Json id = next_request_id_++;
      pending_.emplace(id_key(id), std::move(on_answer));
      return id;
    }
  }
  on_answer(Error::make(ErrorCode::kUnavailable, "the session is closed or the client cannot answer"));
  return nullptr;
}

void Session::resolve(const Json& id, Result<Json> answer) {
  std::function<void(Result<Json>)> fn;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(id_key(id));
    if (it == pending_.end()) return;  // unknown or already answered: ignore (JSON-RPC §5)
    fn = std::move(it->second);
    pending_.erase(it);
  }
  fn(std::move(answer));
}

bool Session::add_in_flight(const Json& id, const std::shared_ptr<CallContext>& ctx) {
  std::lock_guard lock(mu_);
  return in_flight_.emplace(id_key(id), ctx).second;
}

void Session::remove_in_flight(const Json& id) {
  std::lock_guard lock(mu_);
  in_flight_.erase(id_key(id));
  if (in_flight_.empty()) idle_cv_.notify_all();
}

void Session::cancel(const Json& id, const std::string& /*reason*/) {
  std::shared_ptr<CallContext> ctx;
  {
    std::lock_guard lock(mu_);
    auto it = in_flight_.find(id_key(id));
    if (it == in_flight_.end()) return;  // finished already, or unknown: ignore (cancellation §Behavior)
    ctx = it->second;
  }
  if (ctx->method() == "initialize") return;  // the initialize request MUST NOT be cancelled
  ctx->cancel();
}

void Session::end_input() {
  std::map<std::string, std::function<void(Result<Json>)>> pending;
  {
    std::lock_guard lock(mu_);
    input_ended_ = true;
    pending.swap(pending_);
  }
  for (auto& [key, fn] : pending) fn(Error::make(ErrorCode::kUnavailable, "the client closed its input"));
}

void Session::close() {
  std::map<std::string, std::function<void(Result<Json>)>> pending;
  std::map<std::string, std::shared_ptr<CallContext>> in_flight;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    pending.swap(pending_);
    in_flight = in_flight_;
    outbound_ = nullptr;
  }
  // Cancel first, so a call waiting on a server->client request ends as cancelled, not as failed.
  for (auto& [key, ctx] : in_flight) ctx->cancel();
  for (auto& [key, fn] : pending) fn(Error::make(ErrorCode::kUnavailable, "the session is closed"));
}

bool Session::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [&] { return in_flight_.empty(); });
}

}  // namespace taskman::mcp
