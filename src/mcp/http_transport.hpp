#pragma once
// MCP Streamable HTTP transport (basic/transports §Streamable HTTP, 2025-11-25 and 2026-07-28) as
// routes on the project's HTTP router: POST (JSON or SSE answers), GET (SSE stream for
// server->client messages), DELETE (ends a session) at one path. Both eras share the endpoint: a
// request of the per-request era needs no session (http_modern.cpp). Sessions carry a cryptographically
// random Mcp-Session-Id, expire after a TTL and are capped in number. Origin/Host validation guards against
// DNS rebinding (§Security Warning). The socket work is the HTTP server's; this class only maps HTTP requests
// to protocol messages. Thread-safe.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/router.hpp"
#include "mcp/server.hpp"

namespace taskman::mcp {

struct HttpTransportOptions {
  std::string path = "/mcp";
  // No sessions: every POST stands alone (for load-balanced fleets). GET and DELETE answer 405 and
  // server->client requests are unavailable, since their answers could reach another instance.
  bool stateless = false;
  std::chrono::milliseconds session_ttl{30 * 60 * 1000};  // idle time after which a session is gone
  std::size_t max_sessions = 1000;
  // Origins allowed besides loopback ones (exact "scheme://host[:port]"); "*" allows any.
  std::vector<std::string> allowed_origins;
  // Host header names allowed besides localhost, 127.0.0.1 and [::1]; "*" allows any (e.g. behind
  // a proxy that rewrites Host, or when bound to a public address with authentication).
  std::vector<std::string> allowed_hosts;
  // SSE `retry:` hint (ms) in the priming event; 0: none.
  std::chrono::milliseconds sse_retry{0};
  // Events kept per session for Last-Event-ID resumption.
  std::size_t max_replay_events = 1000;
  // Injected clock (session expiry is tested without sleeping).
  std::function<std::chrono::steady_clock::time_point()> clock = [] {
    return std::chrono::steady_clock::now();
  };
};

class HttpTransport {
 public:
  HttpTransport(Server& server, HttpTransportOptions options);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  void register_routes(http::Router& router);
  std::size_t session_count() const;
  // Sessions and open streams (GET event streams plus POST answers still streaming) per negotiated
  // protocol revision ("" before initialize), for the status page.
  struct RevisionCount {
    std::string revision;
    std::size_t sessions = 0;
    std::size_t open_streams = 0;
  };
  std::vector<RevisionCount> sessions_by_revision() const;
  // Ends every session and closes open streams (graceful shutdown).
  void close_all();
  // Drops sessions idle for longer than the TTL; returns how many. Also done on each request.
  std::size_t expire_sessions();

  // Exposed for unit tests.
  bool host_allowed(std::string_view host_header) const;
  bool origin_allowed(std::string_view origin) const;

  struct HttpSession;
  class HttpExchange;

 private:
  void handle_post(http::Request& req, http::Responder responder);
  // The per-request era (http_modern.cpp): whether `msg` belongs to it (its body names a revision
  // in _meta, or a modern MCP-Protocol-Version header comes without a session), and its handling.
  static bool routes_to_modern(const http::Request& req, const Message& msg);
  void handle_modern_post(http::Request& req, Message msg, http::Responder responder);
  void handle_get(http::Request& req, http::Responder responder);
  void handle_delete(http::Request& req, http::Responder responder);
  // The session named by the request's Mcp-Session-Id, or the error response to send.
  std::shared_ptr<HttpSession> find_session(const http::Request& req, http::Response& error);
  std::shared_ptr<HttpSession> create_session(http::Response& error);
  void remove_session(const std::string& id);
  // 403 when Host/Origin fail validation; nullopt when the request may proceed.
  std::optional<http::Response> check_origin(const http::Request& req) const;
  // check_origin, then 405 in stateless mode (for GET and DELETE).
  std::optional<http::Response> refuse_stream_or_session_request(const http::Request& req) const;

  Server& server_;
  HttpTransportOptions options_;
  mutable std::mutex mu_;  // guards sessions_
  std::map<std::string, std::shared_ptr<HttpSession>, std::less<>> sessions_;
};

}  // namespace taskman::mcp
