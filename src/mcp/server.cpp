#include "mcp/server.hpp"

#include <stdexcept>

#include <algorithm>

#include "mcp/input_required.hpp"
#include "mcp/modern.hpp"

namespace taskman::mcp {
namespace {

RpcError invalid_params(std::string message) { return RpcError{rpc::kInvalidParams, std::move(message), {}}; }

constexpr std::string_view kCursorPrefix = "o.";

}  // namespace

const char* CallOutcome::name(Kind k) {
  switch (k) {
    case Kind::kOk:
      return "ok";
    case Kind::kToolError:
      return "tool_error";
    case Kind::kRpcError:
      return "error";
    case Kind::kCancelled:
      return "cancelled";
  }
  return "error";
}

std::string_view method_label(std::string_view method) {
  // The label is the table's own string, so it outlives the request it came from.
  for (const auto& r : revisions())
    for (auto m : r.methods)
      if (m == method) return m;
  for (const auto& r : modern_revisions())
    for (auto m : r.methods)
      if (m == method) return m;
  return "other";
}

Server::Server(ServerOptions options) : options_(std::move(options)) {
  if (options_.page_size == 0) throw std::invalid_argument("page_size must be positive");
  for (const auto& r : revisions()) {
    MethodTable& table = method_tables_.emplace_back();
    for (auto m : r.methods) table.emplace(std::string(m), method_for(r, m));
  }
  for (const auto& r : modern_revisions()) {
    MethodTable& table = modern_tables_.emplace_back();
    for (auto m : r.methods) table.emplace(std::string(m), method_for(r, m));
  }
  server_info_ = {{"name", options_.info.name}, {"version", options_.info.version}};
  if (!options_.info.title.empty()) server_info_["title"] = options_.info.title;
}
Server::~Server() = default;

void Server::add_tool(Tool tool, ToolHandler handler, Audience audience) {
  if (!is_valid_tool_name(tool.name)) throw std::invalid_argument("invalid tool name: " + tool.name);
  if (tool_index_.count(tool.name)) throw std::invalid_argument("duplicate tool: " + tool.name);
  if (!tool.input_schema.is_object())
    throw std::invalid_argument("inputSchema must be an object: " + tool.name);
  tool_index_.emplace(tool.name, tools_.size());
  tools_.push_back({std::move(tool), std::move(handler), std::move(audience), {}});
}

void Server::add_tool_meta(const std::string& name, Json meta, Audience audience) {
  auto it = tool_index_.find(name);
  if (it == tool_index_.end()) throw std::invalid_argument("add_tool_meta: unknown tool: " + name);
  tools_[it->second].extra_meta.emplace_back(std::move(audience), std::move(meta));
}

void Server::add_resource(Resource resource, ResourceReader reader, Audience audience) {
  if (resource.uri.empty() || resource.name.empty())
    throw std::invalid_argument("resource needs uri and name");
  resources_.push_back({std::move(resource), std::move(reader), std::move(audience)});
}

void Server::add_resource_template(ResourceTemplate tpl, TemplateReader reader) {
  if (tpl.uri_template.empty() || tpl.name.empty())
    throw std::invalid_argument("template needs uri and name");
  templates_.push_back({std::move(tpl), std::move(reader)});
}

void Server::add_prompt(Prompt prompt, PromptHandler handler) {
  for (const auto& p : prompts_)
    if (p.prompt.name == prompt.name) throw std::invalid_argument("duplicate prompt: " + prompt.name);
  prompts_.push_back({std::move(prompt), std::move(handler)});
}

void Server::set_completion_handler(CompletionHandler handler) { completion_ = std::move(handler); }
void Server::set_subscribe_hook(SubscribeHook hook) { subscribe_hook_ = std::move(hook); }
void Server::add_call_observer(CallObserver* observer) { call_observers_.push_back(observer); }
void Server::enable_logging(bool on) { logging_ = on; }

std::shared_ptr<Session> Server::open_session(std::string id) {
  auto session = std::make_shared<Session>(*this, id);
  std::lock_guard lock(sessions_mu_);
  sessions_[std::move(id)] = session;
  return session;
}

void Server::close_session(const std::shared_ptr<Session>& session) {
  if (!session) return;
  session->close();
  std::lock_guard lock(sessions_mu_);
  auto it = sessions_.find(session->id());
  if (it != sessions_.end() && it->second.lock() == session) sessions_.erase(it);
}

std::size_t Server::session_count() const {
  std::lock_guard lock(sessions_mu_);
  return sessions_.size();
}

void Server::notify_resource_updated(const std::string& uri) {
  std::vector<std::shared_ptr<Session>> targets;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& [id, weak] : sessions_)
      if (auto s = weak.lock(); s && s->subscribed(uri)) targets.push_back(std::move(s));
  }
  const Json note = make_notification("notifications/resources/updated", Json{{"uri", uri}});
  for (auto& s : targets) s->send_unrelated(note);
  for (auto& [call, uris] : live_listeners()) {
    if (std::find(uris.begin(), uris.end(), uri) == uris.end()) continue;
    call->send_related(make_notification(
        "notifications/resources/updated",
        Json{{"uri", uri}, {"_meta", {{std::string(modern::kSubscriptionIdKey), call->request_id()}}}}));
  }
}

Json Server::capabilities() const { return capabilities(latest_revision()); }

Json Server::capabilities(const Revision& revision) const {
  Json caps = Json::object();
  if (!tools_.empty()) caps["tools"] = {{"listChanged", false}};
  if (!resources_.empty() || !templates_.empty())
    caps["resources"] = {{"subscribe", true}, {"listChanged", false}};
  if (!prompts_.empty()) caps["prompts"] = {{"listChanged", false}};
  // The per-request era has no logging/setLevel: a request asks for log messages in its _meta.
  if (logging_ && revision.has_method("logging/setLevel")) caps["logging"] = Json::object();
  if (completion_) caps["completions"] = Json::object();
  return caps;
}

void Server::handle(const std::shared_ptr<Session>& session, const Message& message,
                    std::shared_ptr<Exchange> exchange, RequestContext request_context) {
  switch (message.kind) {
    case MessageKind::kResponse:
      session->resolve(message.id, message.result);
      return;
    case MessageKind::kErrorResponse:
      session->resolve(message.id, Error::make(ErrorCode::kUnavailable,
                                               "client error " + std::to_string(message.error.code) + ": " +
                                                   message.error.message));
      return;
    case MessageKind::kNotification:
      if (message.method == "notifications/initialized") {
        // Nothing to do: initialize already made the session usable; the notification only
        // confirms it (lifecycle §Initialization).
      } else if (message.method == "notifications/cancelled") {
        if (message.params.is_object()) {
          auto id = message.params.find("requestId");
          if (id != message.params.end() && is_valid_id(*id)) {
            session->cancel(*id, message.params.value("reason", Json("")).is_string()
                                     ? message.params.value("reason", "")
                                     : "");
          }
        }
      }
      // Unknown notifications are ignored (JSON-RPC: no reply to a notification).
      return;
    case MessageKind::kRequest:
      break;
  }
  auto ctx = std::make_shared<CallContext>(session, std::move(exchange), message.id, message.method,
                                           message.params, std::move(request_context));
  if (!session->add_in_flight(message.id, ctx)) {
    // The id is in use by a call still running; answering would confuse the two (JSON-RPC §4).
    if (ctx->exchange_) {
      ctx->exchange_->finish(
          make_error(message.id, RpcError{rpc::kInvalidRequest, "Invalid Request: id already in use", {}}));
    }
    return;
  }
  for (auto* o : call_observers_) o->on_call_start(*ctx);
  try {
    dispatch(ctx);
  } catch (const std::exception& e) {
    ctx->finish(RpcError{rpc::kInternalError, std::string("Internal error: ") + e.what(), {}});
  }
}

const Revision& Server::revision_for(const CallContext& ctx) const {
  const Revision* negotiated = ctx.session().revision();
  return negotiated ? *negotiated : latest_revision();
}

void Server::dispatch(const CallPtr& ctx) {
  const std::string& m = ctx->method();
  if (!ctx->params().is_null() && !ctx->params().is_object()) {
    return ctx->finish(invalid_params("params must be an object"));
  }
  const Revision& revision = revision_for(*ctx);
  const MethodTable& table = table_for(revision);
  const auto it = table.find(m);
  const Method* method = it == table.end() ? nullptr : &it->second;
  const bool before_initialize = method && method->before_initialize;
  // Before the handshake only initialize and ping are answered, even for unknown methods
  // (lifecycle §Initialization).
  if (!before_initialize && revision.has_initialize && options_.require_initialize &&
      !ctx->session().initialized()) {
    return ctx->finish(RpcError{rpc::kInvalidRequest, "Invalid Request: the session is not initialized", {}});
  }
  // A method of a capability this server does not offer does not exist for the client.
  if (!method || (method->offered && !(this->*method->offered)())) {
    return ctx->finish(RpcError{rpc::kMethodNotFound, "Method not found: " + m, {}});
  }
  if (revision.has(Feature::kRequestMeta) && may_require_input(m)) {
    // A retry of an input_required answer: its inputResponses must be results and its requestState
    // one this server sealed for this very request, before any handler sees them.
    auto state = check_retry(m, ctx->params(), unix_ms_now());
    if (auto* error = std::get_if<RpcError>(&state)) return ctx->finish(std::move(*error));
    ctx->request_state_ = std::move(std::get<Json>(state));
  }
  (this->*method->fn)(ctx);
}

const Server::MethodTable& Server::table_for(const Revision& revision) const {
  const auto modern = modern_revisions();
  if (&revision >= modern.data() && &revision < modern.data() + modern.size())
    return modern_tables_[static_cast<std::size_t>(&revision - modern.data())];
  return method_tables_[static_cast<std::size_t>(&revision - revisions().data())];
}

std::variant<Json, RpcError> Server::paginate(const Json& params, const char* key, Json all) const {
  std::size_t offset = 0;
  if (params.contains("cursor") && !params["cursor"].is_null()) {
    const Json& c = params["cursor"];
    if (!c.is_string()) return invalid_params("cursor must be a string");
    const std::string s = c.get<std::string>();
    // Cursors are opaque to clients (pagination §Cursors); ours is an offset with a prefix.
    bool ok = s.size() > kCursorPrefix.size() && s.compare(0, kCursorPrefix.size(), kCursorPrefix) == 0;
    for (std::size_t i = kCursorPrefix.size(); ok && i < s.size(); ++i) ok = s[i] >= '0' && s[i] <= '9';
    if (ok && s.size() - kCursorPrefix.size() > 9) ok = false;
    if (ok) offset = std::stoul(s.substr(kCursorPrefix.size()));
    if (!ok || offset > all.size()) return invalid_params("invalid cursor");
  }
  const std::size_t end = std::min(all.size(), offset + options_.page_size);
  Json page = Json::array();
  for (std::size_t i = offset; i < end; ++i) page.push_back(std::move(all[i]));
  Json result = {{key, std::move(page)}};
  if (end < all.size()) result["nextCursor"] = std::string(kCursorPrefix) + std::to_string(end);
  return result;
}

}  // namespace taskman::mcp
