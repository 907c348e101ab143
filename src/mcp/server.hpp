#pragma once
// The MCP server core: lifecycle and version negotiation, capabilities, dispatch of requests to
// registered tools/resources/prompts, notifications, cancellation, pagination and server->client
// requests. Transport-independent: stdio and Streamable HTTP feed it messages and give it an
// Exchange per request to answer through. Knows nothing about what the tools do.
//
// Threading: every public member is thread-safe. Handlers are called on the thread that delivered
// the request and must not block it; they may complete (reply) later, from any thread, exactly once.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/context.hpp"
#include "core/result.hpp"
#include "mcp/json_rpc.hpp"
#include "mcp/types.hpp"

namespace taskman::mcp {

// The reply channel of one incoming request, implemented by the transport. Messages related to
// the request (progress, log messages, server->client requests) go out through send_related()
// before the response; finish() is called exactly once.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void send_related(const Json& message) = 0;
  // nullopt: no response is due (the request was cancelled, MCP cancellation §Behavior).
  virtual void finish(std::optional<Json> response) = 0;
  // Ends the transport-level stream of this request while the call goes on (Streamable HTTP SSE
  // polling, SEP-1699): the client reconnects with Last-Event-ID to collect the rest.
  virtual void close_stream() {}
};

// Sends a message not tied to any request (resource updates; requests outside a call). Returns
// false when the message could not be delivered (e.g. no GET stream open).
using OutboundFn = std::function<bool(const Json&)>;

template <class T>
using Reply = std::function<void(Result<T>)>;

class CallContext;
class Server;

// One client connection's protocol state. Created by a transport through Server::open_session().
class Session : public std::enable_shared_from_this<Session> {
 public:
  Server& server() const { return server_; }
  Session(Server& server, std::string id);
  ~Session();
  const std::string& id() const { return id_; }
  bool initialized() const;
  std::string protocol_version() const;
  Json client_capabilities() const;
  Json client_info() const;
  std::optional<LogLevel> log_level() const;
  bool subscribed(const std::string& uri) const;
  std::size_t in_flight() const;

  // Marks the session initialized without a handshake (Streamable HTTP stateless mode).
  void assume_initialized(std::string protocol_version);
  void set_outbound(OutboundFn fn);
  // Sends a message on the outbound channel; false when there is none or it failed.
  bool send_unrelated(const Json& message);
  // A server->client request outside any call (on the outbound channel).
  void request(std::string method, Json params, std::function<void(Result<Json>)> on_answer);
  // The client can no longer answer (stdin EOF): pending and future server->client requests fail at
  // once, while calls in flight may still finish and be answered.
  void end_input();
  // Ends the session: in-flight calls are told they are cancelled, pending server->client requests
  // fail. Idempotent.
  void close();
  bool closed() const;
  // Blocks until no request is in flight or `timeout` passed; true when drained.
  bool wait_idle(std::chrono::milliseconds timeout);

 private:
  friend class Server;
  friend class CallContext;
  // Registers a server->client request; returns its id. on_answer runs once (answer or failure).
  Json add_pending(std::function<void(Result<Json>)> on_answer);
  void resolve(const Json& id, Result<Json> answer);
  bool add_in_flight(const Json& id, const std::shared_ptr<CallContext>& ctx);
  void remove_in_flight(const Json& id);
  void cancel(const Json& id, const std::string& reason);

  Server& server_;
  const std::string id_;
  mutable std::mutex mu_;  // guards everything below
  std::condition_variable idle_cv_;
  bool initialized_ = false;
  bool closed_ = false;
  bool input_ended_ = false;
  std::string protocol_version_;
  Json client_capabilities_ = Json::object();
  Json client_info_ = Json::object();
  std::optional<LogLevel> log_level_;
  std::set<std::string> subscriptions_;
  std::int64_t next_request_id_ = 1;
  std::map<std::string, std::function<void(Result<Json>)>> pending_;
  std::map<std::string, std::shared_ptr<CallContext>> in_flight_;
  OutboundFn outbound_;
};

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
  RequestContext request_context_;  // set in the constructor and by the start hook, before any handler
  std::shared_ptr<void> telemetry_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> finished_{false};
  std::mutex mu_;  // guards cancel_callbacks_
  std::vector<std::function<void()>> cancel_callbacks_;
};

using CallPtr = std::shared_ptr<CallContext>;
// Tools reply with a CallToolResult object; an Error becomes a result with isError: true.
using ToolHandler = std::function<void(CallPtr ctx, Json arguments, Reply<Json> reply)>;
// Resource readers reply with the `contents` array. kNotFound -> -32002, kInvalidArgument -> -32602.
using ResourceReader = std::function<void(CallPtr ctx, std::string uri, Reply<Json> reply)>;
using TemplateReader = std::function<void(
    CallPtr ctx, std::string uri, std::vector<std::pair<std::string, std::string>> vars, Reply<Json> reply)>;
// Prompt handlers reply with a GetPromptResult ({description?, messages}).
using PromptHandler = std::function<void(CallPtr ctx, Json arguments, Reply<Json> reply)>;
// completion/complete: params {ref, argument, context?}; reply with {values, total?, hasMore?}.
using CompletionHandler = std::function<void(CallPtr ctx, Json params, Reply<Json> reply)>;
// Which clients see a tool, a resource or extra tool _meta, decided from the capabilities the
// client sent in initialize (extensions such as MCP Apps are offered only to clients announcing
// them). Empty: every client.
using Audience = std::function<bool(const Json& client_capabilities)>;
// resources/subscribe veto: an Error refuses the subscription.
using SubscribeHook = std::function<Status(const std::string& uri)>;

// How a request ended, for metrics and spans (SPEC §6: mcp_requests_total{method,outcome}).
struct CallOutcome {
  enum class Kind { kOk, kToolError, kRpcError, kCancelled };
  Kind kind = Kind::kOk;
  int rpc_error_code = 0;           // kRpcError only
  static const char* name(Kind k);  // "ok", "tool_error", "error", "cancelled"
};
// Called once per request when it ends, on the thread that ended it. Must not block.
using CallObserver = std::function<void(const CallContext& ctx, const CallOutcome& outcome)>;
// Called once per request just before its handler runs, on the delivering thread (tracing starts
// the request's span here and puts its ids into the request context). Must not block.
using CallStartHook = std::function<void(CallContext& ctx)>;
// The method as a bounded metric label: the MCP method name for methods this server knows,
// "other" for anything a client made up.
std::string_view method_label(std::string_view method);

struct Implementation {
  std::string name;
  std::string version;
  std::string title;
};

struct ServerOptions {
  Implementation info{"taskman", "0.0.0", ""};
  std::string instructions;
  std::size_t page_size = 100;  // items per page of every list result
  // When set, a request other than ping before initialize is -32600 (lifecycle §Initialization).
  bool require_initialize = true;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registration happens before serving; throws std::invalid_argument for programmer errors
  // (invalid or duplicate names).
  // With an audience, the tool or resource is listed, callable and readable only for the clients it
  // accepts; for the others it does not exist.
  void add_tool(Tool tool, ToolHandler handler, Audience audience = {});
  void add_resource(Resource resource, ResourceReader reader, Audience audience = {});
  // Merges `meta` into the _meta of the registered tool `name` in tools/list, for the clients
  // `audience` accepts only. Throws std::invalid_argument for an unknown tool.
  void add_tool_meta(const std::string& name, Json meta, Audience audience);
  void add_resource_template(ResourceTemplate tpl, TemplateReader reader);
  void add_prompt(Prompt prompt, PromptHandler handler);
  void set_completion_handler(CompletionHandler handler);
  void set_subscribe_hook(SubscribeHook hook);
  void set_call_observer(CallObserver observer);
  void set_call_start_hook(CallStartHook hook);
  // Whether the logging capability is offered (default yes).
  void enable_logging(bool on);

  std::shared_ptr<Session> open_session(std::string id);
  void close_session(const std::shared_ptr<Session>& session);
  std::size_t session_count() const;

  // Handles one incoming message. `exchange` answers requests (may be null for notifications and
  // responses, which need no answer). The response may come later, from another thread.
  void handle(const std::shared_ptr<Session>& session, const Message& message,
              std::shared_ptr<Exchange> exchange, RequestContext request_context = {});

  // notifications/resources/updated to every session subscribed to `uri`.
  void notify_resource_updated(const std::string& uri);

  Json capabilities() const;
  const ServerOptions& options() const { return options_; }

 private:
  friend class CallContext;  // reports to call_observer_
  struct ToolEntry {
    Tool tool;
    ToolHandler handler;
    Audience audience;
    std::vector<std::pair<Audience, Json>> extra_meta;
  };
  struct ResourceEntry {
    Resource resource;
    ResourceReader reader;
    Audience audience;
  };
  struct TemplateEntry {
    ResourceTemplate tpl;
    TemplateReader reader;
  };
  struct PromptEntry {
    Prompt prompt;
    PromptHandler handler;
  };

  void dispatch(const CallPtr& ctx);
  void on_initialize(const CallPtr& ctx);
  void on_set_level(const CallPtr& ctx);
  void on_tools_call(const CallPtr& ctx);
  void on_resources_read(const CallPtr& ctx);
  void on_subscribe(const CallPtr& ctx, bool subscribe);
  void on_prompts_get(const CallPtr& ctx);
  void on_complete(const CallPtr& ctx);
  // {key: page, nextCursor?} from all items, or -32602 for a cursor this server did not issue.
  std::variant<Json, RpcError> paginate(const Json& params, const char* key, Json all) const;

  ServerOptions options_;
  std::vector<ToolEntry> tools_;
  std::map<std::string, std::size_t, std::less<>> tool_index_;
  std::vector<ResourceEntry> resources_;
  std::vector<TemplateEntry> templates_;
  std::vector<PromptEntry> prompts_;
  CompletionHandler completion_;
  SubscribeHook subscribe_hook_;
  CallObserver call_observer_;
  CallStartHook call_start_hook_;
  bool logging_ = true;

  mutable std::mutex sessions_mu_;
  std::map<std::string, std::weak_ptr<Session>> sessions_;
};

}  // namespace taskman::mcp
