#include "mcp/server.hpp"

#include "core/text.hpp"

#include <stdexcept>

namespace taskman::mcp {
namespace {

RpcError invalid_params(std::string message) { return RpcError{rpc::kInvalidParams, std::move(message), {}}; }

// Error taxonomy -> JSON-RPC codes for resource reads and prompts (SPEC §4 Errors).
RpcError to_rpc_error(const Error& e, int not_found_code) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
      return RpcError{rpc::kInvalidParams, e.message, {}};
    case ErrorCode::kNotFound:
      return RpcError{not_found_code, e.message, {}};
    default:
      return RpcError{rpc::kInternalError, e.message, {}};
  }
}

const char* capability_for(const std::string& method) {
  if (method == "sampling/createMessage") return "sampling";
  if (method == "elicitation/create") return "elicitation";
  if (method == "roots/list") return "roots";
  return nullptr;
}

constexpr std::string_view kCursorPrefix = "o.";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Session

Session::Session(Server& server, std::string id) : server_(server), id_(std::move(id)) {}
Session::~Session() = default;

bool Session::initialized() const {
  std::lock_guard lock(mu_);
  return initialized_;
}
std::string Session::protocol_version() const {
  std::lock_guard lock(mu_);
  return protocol_version_;
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

void Session::assume_initialized(std::string protocol_version) {
  std::lock_guard lock(mu_);
  initialized_ = true;
  protocol_version_ = std::move(protocol_version);
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

// ---------------------------------------------------------------------------------------------
// CallContext

CallContext::CallContext(std::shared_ptr<Session> session, std::shared_ptr<Exchange> exchange, Json id,
                         std::string method, Json params, RequestContext request_context)
    : session_(std::move(session)),
      exchange_(std::move(exchange)),
      id_(std::move(id)),
      method_(std::move(method)),
      params_(std::move(params)),
      request_context_(std::move(request_context)) {
  // Every call has a request id (SPEC §6: in every log line and every error an agent sees); stdio
  // and other transports without an HTTP request get a fresh one here.
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

void CallContext::log(LogLevel level, Json data, std::string logger) {
  const auto threshold = session_->log_level();
  // Without logging/setLevel the client has not asked for a threshold: send every level (as the
  // reference SDK does); afterwards only messages at or above it (logging §Log Levels).
  if (threshold && level < *threshold) return;
  Json params = {{"level", log_level_name(level)}, {"data", std::move(data)}};
  if (!logger.empty()) params["logger"] = std::move(logger);
  send_related(make_notification("notifications/message", std::move(params)));
}

void CallContext::request(std::string method, Json params, std::function<void(Result<Json>)> on_answer) {
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
    response = make_result(id_, std::move(*result));
  } else {
    summary.kind = CallOutcome::Kind::kRpcError;
    summary.rpc_error_code = std::get<RpcError>(outcome).code;
    response = make_error(id_, std::get<RpcError>(outcome));
  }
  // The observer first: the request's span ends before its answer can reach the client, so it never
  // outlives the HTTP span that carries the answer.
  if (const auto& observer = session_->server().call_observer_) observer(*this, summary);
  if (exchange_) exchange_->finish(std::move(response));
}

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
  static constexpr std::string_view kKnown[] = {"initialize",
                                                "ping",
                                                "logging/setLevel",
                                                "tools/list",
                                                "tools/call",
                                                "resources/list",
                                                "resources/templates/list",
                                                "resources/read",
                                                "resources/subscribe",
                                                "resources/unsubscribe",
                                                "prompts/list",
                                                "prompts/get",
                                                "completion/complete"};
  for (auto m : kKnown)
    if (m == method) return m;
  return "other";
}

// ---------------------------------------------------------------------------------------------
// Server

Server::Server(ServerOptions options) : options_(std::move(options)) {
  if (options_.page_size == 0) throw std::invalid_argument("page_size must be positive");
}
Server::~Server() = default;

namespace {
bool admits(const Audience& audience, const Session& session) {
  return !audience || audience(session.client_capabilities());
}
}  // namespace

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
void Server::set_call_observer(CallObserver observer) { call_observer_ = std::move(observer); }
void Server::set_call_start_hook(CallStartHook hook) { call_start_hook_ = std::move(hook); }
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
}

Json Server::capabilities() const {
  Json caps = Json::object();
  if (!tools_.empty()) caps["tools"] = {{"listChanged", false}};
  if (!resources_.empty() || !templates_.empty())
    caps["resources"] = {{"subscribe", true}, {"listChanged", false}};
  if (!prompts_.empty()) caps["prompts"] = {{"listChanged", false}};
  if (logging_) caps["logging"] = Json::object();
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
  if (call_start_hook_) call_start_hook_(*ctx);
  try {
    dispatch(ctx);
  } catch (const std::exception& e) {
    ctx->finish(RpcError{rpc::kInternalError, std::string("Internal error: ") + e.what(), {}});
  }
}

void Server::dispatch(const CallPtr& ctx) {
  const std::string& m = ctx->method();
  if (!ctx->params().is_null() && !ctx->params().is_object()) {
    return ctx->finish(invalid_params("params must be an object"));
  }
  if (m == "initialize") return on_initialize(ctx);
  if (m == "ping") return ctx->finish(Json::object());
  if (options_.require_initialize && !ctx->session().initialized()) {
    return ctx->finish(RpcError{rpc::kInvalidRequest, "Invalid Request: the session is not initialized", {}});
  }
  const Json params = ctx->params().is_null() ? Json::object() : ctx->params();
  const bool has_resources = !resources_.empty() || !templates_.empty();
  if (m == "logging/setLevel" && logging_) return on_set_level(ctx);
  if (m == "tools/list" && !tools_.empty()) {
    Json all = Json::array();
    for (const auto& t : tools_) {
      if (!admits(t.audience, ctx->session())) continue;
      Json j = t.tool.to_json();
      for (const auto& [audience, meta] : t.extra_meta) {
        if (!admits(audience, ctx->session())) continue;
        if (!j.contains("_meta")) j["_meta"] = Json::object();
        j["_meta"].merge_patch(meta);
      }
      all.push_back(std::move(j));
    }
    return ctx->finish(paginate(params, "tools", std::move(all)));
  }
  if (m == "tools/call" && !tools_.empty()) return on_tools_call(ctx);
  if (m == "resources/list" && has_resources) {
    Json all = Json::array();
    for (const auto& r : resources_) {
      if (admits(r.audience, ctx->session())) all.push_back(r.resource.to_json());
    }
    return ctx->finish(paginate(params, "resources", std::move(all)));
  }
  if (m == "resources/templates/list" && has_resources) {
    Json all = Json::array();
    for (const auto& t : templates_) all.push_back(t.tpl.to_json());
    return ctx->finish(paginate(params, "resourceTemplates", std::move(all)));
  }
  if (m == "resources/read" && has_resources) return on_resources_read(ctx);
  if (m == "resources/subscribe" && has_resources) return on_subscribe(ctx, true);
  if (m == "resources/unsubscribe" && has_resources) return on_subscribe(ctx, false);
  if (m == "prompts/list" && !prompts_.empty()) {
    Json all = Json::array();
    for (const auto& p : prompts_) all.push_back(p.prompt.to_json());
    return ctx->finish(paginate(params, "prompts", std::move(all)));
  }
  if (m == "prompts/get" && !prompts_.empty()) return on_prompts_get(ctx);
  if (m == "completion/complete" && completion_) return on_complete(ctx);
  ctx->finish(RpcError{rpc::kMethodNotFound, "Method not found: " + m, {}});
}

void Server::on_initialize(const CallPtr& ctx) {
  const Json& p = ctx->params();
  if (!p.is_object() || !p.contains("protocolVersion") || !p["protocolVersion"].is_string()) {
    return ctx->finish(invalid_params("initialize: params.protocolVersion must be a string"));
  }
  if (p.contains("capabilities") && !p["capabilities"].is_object()) {
    return ctx->finish(invalid_params("initialize: params.capabilities must be an object"));
  }
  if (p.contains("clientInfo") && !p["clientInfo"].is_object()) {
    return ctx->finish(invalid_params("initialize: params.clientInfo must be an object"));
  }
  const std::string version = negotiate_version(p["protocolVersion"].get<std::string>());
  Session& s = ctx->session();
  bool again = false;  // a session is initialized once (lifecycle §Initialization)
  {
    std::lock_guard lock(s.mu_);
    again = s.initialized_;
    if (!again) {
      s.initialized_ = true;
      s.protocol_version_ = version;
      s.client_capabilities_ = p.value("capabilities", Json::object());
      s.client_info_ = p.value("clientInfo", Json::object());
    }
  }
  if (again) return ctx->finish(RpcError{rpc::kInvalidRequest, "Invalid Request: already initialized", {}});
  Json info = {{"name", options_.info.name}, {"version", options_.info.version}};
  if (!options_.info.title.empty()) info["title"] = options_.info.title;
  Json result = {
      {"protocolVersion", version}, {"capabilities", capabilities()}, {"serverInfo", std::move(info)}};
  if (!options_.instructions.empty()) result["instructions"] = options_.instructions;
  ctx->finish(std::move(result));
}

void Server::on_set_level(const CallPtr& ctx) {
  const Json& p = ctx->params();
  const auto level = p.is_object() && p.contains("level") && p["level"].is_string()
                         ? parse_log_level(p["level"].get<std::string>())
                         : std::nullopt;
  if (!level) return ctx->finish(invalid_params("logging/setLevel: params.level must be a log level name"));
  {
    Session& s = ctx->session();
    std::lock_guard lock(s.mu_);
    s.log_level_ = *level;
  }
  ctx->finish(Json::object());
}

void Server::on_tools_call(const CallPtr& ctx) {
  const Json& p = ctx->params();
  if (!p.is_object() || !p.contains("name") || !p["name"].is_string()) {
    return ctx->finish(invalid_params("tools/call: params.name must be a string"));
  }
  Json arguments = p.value("arguments", Json::object());
  if (arguments.is_null()) arguments = Json::object();
  if (!arguments.is_object())
    return ctx->finish(invalid_params("tools/call: params.arguments must be an object"));
  const std::string name = p["name"].get<std::string>();
  auto it = tool_index_.find(name);
  if (it == tool_index_.end() || !admits(tools_[it->second].audience, ctx->session())) {
    return ctx->finish(invalid_params("Unknown tool: " + name));
  }
  const auto& entry = tools_[it->second];
  Reply<Json> reply = [ctx](Result<Json> r) {
    if (!r.ok()) return ctx->finish(tool_error_result(r.error().message));
    Json result = std::move(r).value();
    if (!result.is_object())
      return ctx->finish(RpcError{rpc::kInternalError, "tool returned a non-object", {}});
    if (!result.contains("content")) result["content"] = Json::array();
    ctx->finish(std::move(result));
  };
  try {
    entry.handler(ctx, std::move(arguments), std::move(reply));
  } catch (const std::exception& e) {
    // A tool that throws failed; the model should see it as a failed call, not a protocol error.
    ctx->finish(tool_error_result(std::string("tool failed: ") + e.what()));
  }
}

void Server::on_resources_read(const CallPtr& ctx) {
  const Json& p = ctx->params();
  if (!p.is_object() || !p.contains("uri") || !p["uri"].is_string()) {
    return ctx->finish(invalid_params("resources/read: params.uri must be a string"));
  }
  std::string uri = p["uri"].get<std::string>();
  Reply<Json> reply = [ctx](Result<Json> r) {
    if (!r.ok()) return ctx->finish(to_rpc_error(r.error(), rpc::kResourceNotFound));
    Json contents = std::move(r).value();
    if (!contents.is_array()) contents = Json::array({std::move(contents)});
    ctx->finish(Json{{"contents", std::move(contents)}});
  };
  for (const auto& r : resources_) {
    if (r.resource.uri == uri && admits(r.audience, ctx->session())) {
      return r.reader(ctx, std::move(uri), std::move(reply));
    }
  }
  for (const auto& t : templates_) {
    if (auto vars = match_uri_template(t.tpl.uri_template, uri)) {
      return t.reader(ctx, std::move(uri), std::move(*vars), std::move(reply));
    }
  }
  ctx->finish(RpcError{rpc::kResourceNotFound, "Resource not found: " + uri, Json{{"uri", uri}}});
}

void Server::on_subscribe(const CallPtr& ctx, bool subscribe) {
  const Json& p = ctx->params();
  if (!p.is_object() || !p.contains("uri") || !p["uri"].is_string()) {
    return ctx->finish(invalid_params("params.uri must be a string"));
  }
  const std::string uri = p["uri"].get<std::string>();
  if (subscribe && subscribe_hook_) {
    if (auto st = subscribe_hook_(uri); !st.ok())
      return ctx->finish(to_rpc_error(st.error(), rpc::kResourceNotFound));
  }
  {
    Session& s = ctx->session();
    std::lock_guard lock(s.mu_);
    if (subscribe) {
      s.subscriptions_.insert(uri);
    } else {
      s.subscriptions_.erase(uri);
    }
  }
  ctx->finish(Json::object());
}

void Server::on_prompts_get(const CallPtr& ctx) {
  const Json& p = ctx->params();
  if (!p.is_object() || !p.contains("name") || !p["name"].is_string()) {
    return ctx->finish(invalid_params("prompts/get: params.name must be a string"));
  }
  Json arguments = p.value("arguments", Json::object());
  if (arguments.is_null()) arguments = Json::object();
  if (!arguments.is_object())
    return ctx->finish(invalid_params("prompts/get: params.arguments must be an object"));
  for (const auto& [k, v] : arguments.items()) {
    if (!v.is_string())
      return ctx->finish(invalid_params("prompts/get: argument '" + k + "' must be a string"));
  }
  const std::string name = p["name"].get<std::string>();
  for (const auto& entry : prompts_) {
    if (entry.prompt.name != name) continue;
    for (const auto& a : entry.prompt.arguments) {
      if (a.required && !arguments.contains(a.name)) {
        return ctx->finish(invalid_params("prompts/get: missing required argument '" + a.name + "'"));
      }
    }
    Reply<Json> reply = [ctx](Result<Json> r) {
      if (!r.ok()) return ctx->finish(to_rpc_error(r.error(), rpc::kInvalidParams));
      ctx->finish(std::move(r).value());
    };
    return entry.handler(ctx, std::move(arguments), std::move(reply));
  }
  ctx->finish(invalid_params("Unknown prompt: " + name));
}

void Server::on_complete(const CallPtr& ctx) {
  const Json& p = ctx->params();
  if (!p.is_object() || !p.contains("ref") || !p["ref"].is_object() || !p["ref"].contains("type") ||
      !p["ref"]["type"].is_string()) {
    return ctx->finish(invalid_params("completion/complete: params.ref must be an object with a type"));
  }
  if (!p.contains("argument") || !p["argument"].is_object() ||
      !p["argument"].value("name", Json()).is_string() || !p["argument"].value("value", Json()).is_string()) {
    return ctx->finish(invalid_params("completion/complete: params.argument needs string name and value"));
  }
  const Json& ref = p["ref"];
  const std::string type = ref["type"].get<std::string>();
  if (type == "ref/prompt") {
    const Json name = ref.value("name", Json());
    bool known = false;
    for (const auto& e : prompts_)
      known = known || (name.is_string() && e.prompt.name == name.get<std::string>());
    if (!known) return ctx->finish(invalid_params("completion/complete: unknown prompt"));
  } else if (type != "ref/resource") {
    return ctx->finish(invalid_params("completion/complete: unknown ref type " + type));
  }
  Reply<Json> reply = [ctx](Result<Json> r) {
    if (!r.ok()) return ctx->finish(to_rpc_error(r.error(), rpc::kInvalidParams));
    Json completion = std::move(r).value();
    if (!completion.is_object()) completion = Json::object();
    if (!completion.contains("values") || !completion["values"].is_array())
      completion["values"] = Json::array();
    // The schema caps values at 100 items; say there is more instead of sending them.
    if (completion["values"].size() > 100) {
      if (!completion.contains("total")) completion["total"] = completion["values"].size();
      completion["values"].erase(completion["values"].begin() + 100, completion["values"].end());
      completion["hasMore"] = true;
    }
    ctx->finish(Json{{"completion", std::move(completion)}});
  };
  completion_(ctx, p, std::move(reply));
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
