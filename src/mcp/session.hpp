#pragma once
// One client connection's protocol state (Session) and the reply channel of one request
// (Exchange), which transports implement. Thread-safe.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "mcp/json_rpc.hpp"
#include "mcp/revision.hpp"
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
  // Whether the client has gone away (its stream closed under us): a call that only streams, such
  // as subscriptions/listen, ends then.
  virtual bool gone() const { return false; }
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
  // The negotiated revision's id ("" before initialize) and descriptor (nullptr before initialize).
  std::string protocol_version() const;
  const Revision* revision() const;
  Json client_capabilities() const;
  Json client_info() const;
  std::optional<LogLevel> log_level() const;
  bool subscribed(const std::string& uri) const;
  std::size_t in_flight() const;

  // Marks the session initialized without a handshake (Streamable HTTP stateless mode).
  void assume_initialized(const Revision& revision);
  // The same by id; throws std::invalid_argument for a revision the table does not have.
  void assume_initialized(std::string_view protocol_version);
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
  const Revision* revision_ = nullptr;
  Json client_capabilities_ = Json::object();
  Json client_info_ = Json::object();
  std::optional<LogLevel> log_level_;
  std::set<std::string> subscriptions_;
  std::int64_t next_request_id_ = 1;
  std::map<std::string, std::function<void(Result<Json>)>> pending_;
  std::map<std::string, std::shared_ptr<CallContext>> in_flight_;
  OutboundFn outbound_;
};

}  // namespace taskman::mcp
