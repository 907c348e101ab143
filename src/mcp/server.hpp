#pragma once
// The MCP server core: lifecycle and version negotiation (over the revision table), capabilities,
// dispatch of requests through a method table per revision to registered tools/resources/prompts,
// notifications, cancellation, pagination and server->client requests. The session is in
// session.hpp, the per-call context in call_context.hpp, the method handlers in server_methods.cpp.
// Transport-independent: stdio and Streamable HTTP feed it messages and give it an Exchange per
// request to answer through. Knows nothing about what the tools do.
//
// Threading: every public member is thread-safe. Handlers are called on the thread that delivered
// the request and must not block it; they may complete (reply) later, from any thread, exactly once.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/context.hpp"
#include "core/result.hpp"
#include "mcp/call_context.hpp"
#include "mcp/json_rpc.hpp"
#include "mcp/modern.hpp"
#include "mcp/revision.hpp"
#include "mcp/session.hpp"
#include "mcp/types.hpp"

namespace taskman::mcp {

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

// How a request ended, for metrics and spans (docs/observability.md#metrics:
// mcp_requests_total{method,outcome}).
struct CallOutcome {
  enum class Kind { kOk, kToolError, kRpcError, kCancelled };
  Kind kind = Kind::kOk;
  int rpc_error_code = 0;           // kRpcError only
  static const char* name(Kind k);  // "ok", "tool_error", "error", "cancelled"
};
// What watches requests (tracing, metrics, the status page): the MCP layer's one hook, shaped like
// http::RequestObserver. on_call_start runs once per request just before its handler, on the
// delivering thread (tracing starts the request's span here and puts its ids into the request
// context); on_call_end once when it ends, on the thread that ended it, in the reverse order of
// registration (so the first observer, tracing, ends its span last). Neither may block.
class CallObserver {
 public:
  virtual ~CallObserver() = default;
  virtual void on_call_start(CallContext& /*ctx*/) {}
  virtual void on_call_end(const CallContext& ctx, const CallOutcome& outcome) = 0;
};
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
  // Not owned; it must outlive the server. Register before serving.
  void add_call_observer(CallObserver* observer);
  // Whether the logging capability is offered (default yes).
  void enable_logging(bool on);

  std::shared_ptr<Session> open_session(std::string id);
  void close_session(const std::shared_ptr<Session>& session);
  std::size_t session_count() const;

  // Handles one incoming message. `exchange` answers requests (may be null for notifications and
  // responses, which need no answer). The response may come later, from another thread.
  void handle(const std::shared_ptr<Session>& session, const Message& message,
              std::shared_ptr<Exchange> exchange, RequestContext request_context = {});

  // Handles one request of the per-request era (modern.hpp claims_modern() said so): checks its
  // _meta (an error is answered at once) and serves it in a session of its own that lives as long
  // as the call. Returns that session (for cancellation by request id), or null when the request
  // was answered without one.
  std::shared_ptr<Session> handle_modern(const Message& message, std::shared_ptr<Exchange> exchange,
                                         RequestContext request_context = {});
  // The same for a request whose _meta the transport has already checked (parse_request_meta()).
  std::shared_ptr<Session> handle_modern(const Message& message, modern::RequestMeta meta,
                                         std::shared_ptr<Exchange> exchange, RequestContext request_context);
  // Ends every subscriptions/listen stream gracefully (its response {resultType: "complete"}).
  void close_listeners();
  std::size_t listener_count() const;

  // notifications/resources/updated to every session subscribed to `uri` and every listen stream
  // that asked for it.
  void notify_resource_updated(const std::string& uri);

  // The capabilities offered in `revision` (initialize result, server/discover).
  Json capabilities() const;
  Json capabilities(const Revision& revision) const;
  // {name, version, title?}: initialize's serverInfo, the per-request era's _meta serverInfo.
  const Json& server_info() const { return server_info_; }
  const ServerOptions& options() const { return options_; }

 private:
  friend class CallContext;  // reports to call_observers_
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

  // One entry of a revision's method table. `offered` says whether this server offers the method
  // (its capability has something registered); null means always.
  using MethodFn = void (Server::*)(const CallPtr& ctx);
  struct Method {
    MethodFn fn = nullptr;
    bool (Server::*offered)() const = nullptr;
    bool before_initialize = false;  // may be called before the handshake (initialize, ping)
  };
  using MethodTable = std::map<std::string, Method, std::less<>>;
  // The handler of `method` in `revision` (server_methods.cpp); throws std::logic_error for a
  // method the revision lists but no handler serves, so a new revision cannot miss one.
  static Method method_for(const Revision& revision, std::string_view method);
  // The revision a request is served in: the session's negotiated one, or the latest before the
  // handshake.
  const Revision& revision_for(const CallContext& ctx) const;

  void dispatch(const CallPtr& ctx);
  const MethodTable& table_for(const Revision& revision) const;
  // Per-request era handlers (server_modern.cpp).
  void on_discover(const CallPtr& ctx);
  void on_listen(const CallPtr& ctx);
  // Method handlers (server_methods.cpp).
  void on_initialize(const CallPtr& ctx);
  void on_ping(const CallPtr& ctx);
  void on_set_level(const CallPtr& ctx);
  void on_tools_list(const CallPtr& ctx);
  void on_tools_call(const CallPtr& ctx);
  void on_resources_list(const CallPtr& ctx);
  void on_templates_list(const CallPtr& ctx);
  void on_resources_read(const CallPtr& ctx);
  void on_subscribe(const CallPtr& ctx);
  void on_unsubscribe(const CallPtr& ctx);
  void subscribe(const CallPtr& ctx, bool on);
  void on_prompts_list(const CallPtr& ctx);
  void on_prompts_get(const CallPtr& ctx);
  void on_complete(const CallPtr& ctx);
  bool offers_logging() const { return logging_; }
  bool offers_tools() const { return !tools_.empty(); }
  bool offers_resources() const { return !resources_.empty() || !templates_.empty(); }
  bool offers_prompts() const { return !prompts_.empty(); }
  bool offers_completions() const { return static_cast<bool>(completion_); }
  // {key: page, nextCursor?} from all items, or -32602 for a cursor this server did not issue.
  std::variant<Json, RpcError> paginate(const Json& params, const char* key, Json all) const;

  ServerOptions options_;
  Json server_info_;
  // Indexed like revisions() and modern_revisions(): the method table of each revision, built once
  // in the constructor.
  std::vector<MethodTable> method_tables_;
  std::vector<MethodTable> modern_tables_;
  std::vector<ToolEntry> tools_;
  std::map<std::string, std::size_t, std::less<>> tool_index_;
  std::vector<ResourceEntry> resources_;
  std::vector<TemplateEntry> templates_;
  std::vector<PromptEntry> prompts_;
  CompletionHandler completion_;
  SubscribeHook subscribe_hook_;
  std::vector<CallObserver*> call_observers_;
  bool logging_ = true;

  mutable std::mutex sessions_mu_;
  std::map<std::string, std::weak_ptr<Session>> sessions_;

  // Open subscriptions/listen calls and the resource URIs each asked for.
  struct Listener {
    std::weak_ptr<CallContext> call;
    std::vector<std::string> uris;
  };
  mutable std::mutex listeners_mu_;
  std::vector<Listener> listeners_;
  // Ends listen calls whose client has gone (their exchange says so); returns the live ones.
  std::vector<std::pair<CallPtr, std::vector<std::string>>> live_listeners();
};

}  // namespace taskman::mcp
