// Boost.Beast HTTP/1.1 server on C++20 coroutines. All Beast/Asio server code lives in this file
// so the rest of the project compiles against the small headers (docs/architecture.md#build-notes).
#include "http/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <openssl/crypto.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "core/text.hpp"
#include "http/problem.hpp"
#include "http/request_id.hpp"
#include "http/responder_state.hpp"
#include "http/tls_context.hpp"
#include "http/tls_stream.hpp"
#include "log/log.hpp"

namespace taskman::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// ---------------------------------------------------------------------------------------------
// Server

namespace {

struct Connection {
  explicit Connection(tcp::socket s) : stream(std::move(s)) {}
  MaybeTlsStream stream;
  bool idle = true;  // waiting for the next request (only touched on the connection's executor)
  std::shared_ptr<Responder::State> open_stream;
};

Response problem(int status, std::string title, std::string detail, const std::string& request_id) {
  return problem_response(
      {status, "about:blank", std::move(title), std::move(detail), request_id, std::nullopt, -1});
}

// Constant-time over the candidate's length: the comparison time does not reveal how much matched.
bool token_matches(std::string_view given, const std::vector<std::string>& tokens) {
  bool any = false;
  for (const auto& t : tokens) {
    const bool same_size = given.size() == t.size();
    const std::string_view probe = same_size ? given : std::string_view(t);
    any |= same_size && CRYPTO_memcmp(probe.data(), t.data(), t.size()) == 0;
  }
  return any;
}

bool authorized(const Request& req, const ServerOptions& o) {
  if (o.bearer_tokens.empty() || !req.path.starts_with(o.auth_path_prefix)) return true;
  const auto h = req.headers.get("Authorization");
  if (!h || h->size() < 7 || !iequals(h->substr(0, 7), "Bearer ")) return false;
  return token_matches(trim(h->substr(7)), o.bearer_tokens);
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(IoPool& p, ServerOptions o, Router r, log::Logger& l)
      : pool(p), options(std::move(o)), router(std::move(r)), logger(l) {}

  IoPool& pool;
  ServerOptions options;
  Router router;
  log::Logger& logger;
  std::vector<RequestObserver*> observers;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::uint16_t bound_port = 0;
  std::atomic<bool> draining{false};
  // The TLS context new connections use; reload_tls() swaps it, open connections keep theirs.
  mutable std::mutex tls_mu;
  std::shared_ptr<asio::ssl::context> tls;

  std::shared_ptr<asio::ssl::context> tls_context() const {
    std::lock_guard lock(tls_mu);
    return tls;
  }

  mutable std::mutex mu;  // guards connections, drain_done and drain_timer
  std::set<std::shared_ptr<Connection>> connections;
  std::function<void()> drain_done;
  // Created by drain() and owned by its wait handler, so it never outlives its io_context.
  std::weak_ptr<asio::steady_timer> drain_timer;

  asio::io_context& ctx(std::size_t i) { return *static_cast<asio::io_context*>(pool.context(i)); }

  void finish_drain_if_empty() {
    std::function<void()> done;
    std::shared_ptr<asio::steady_timer> timer;
    {
      std::lock_guard lock(mu);
      if (!draining || !connections.empty() || !drain_done) return;
      done = std::move(drain_done);
      drain_done = nullptr;
      timer = drain_timer.lock();  // drain() sets it on the caller's thread
    }
    if (timer) asio::post(timer->get_executor(), [timer] { timer->cancel(); });
    done();
  }

  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<Connection> conn);
  asio::awaitable<bool> handshake(Connection& conn, const std::string& peer);
  // Takes the response by reference: g++ 12 mishandles class temporaries passed by value into coroutines.
  asio::awaitable<bool> write_simple(Connection& conn, Request& req, Response& res, bool keep_alive);
  asio::awaitable<bool> write_stream(Connection& conn, Request& req, std::shared_ptr<Responder::State>& state,
                                     bool keep_alive, std::size_t& bytes);
  void dispatch(Request& req, const Router::Match& match, const std::shared_ptr<Responder::State>& state);
};

namespace {

void log_exception(log::Logger& logger, std::exception_ptr e, const char* where) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    logger.error("unhandled exception", {{"where", where}, {"error", ex.what()}});
  } catch (...) {
    logger.error("unhandled exception", {{"where", where}});
  }
}

}  // namespace

asio::awaitable<void> Server::Impl::accept_loop() {
  auto self = shared_from_this();
  for (;;) {
    beast::error_code ec;
    auto& target = ctx(pool.next_index());
    tcp::socket socket =
        co_await acceptor->async_accept(target, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || draining) co_return;
      logger.warn("accept failed", {{"error", ec.message()}});
      continue;
    }
    if (draining) continue;
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Connection>(std::move(socket));
    {
      std::lock_guard lock(mu);
      if (connections.size() >= options.max_connections) {
        logger.warn("connection limit reached; closing new connection",
                    {{"max_connections", options.max_connections}});
        continue;
      }
      connections.insert(conn);
    }
    asio::co_spawn(conn->stream.get_executor(), serve(conn), [self, conn](std::exception_ptr e) {
      log_exception(self->logger, e, "http connection");
      {
        std::lock_guard lock(self->mu);
        self->connections.erase(conn);
      }
      self->finish_drain_if_empty();
    });
  }
}

asio::awaitable<bool> Server::Impl::write_simple(Connection& conn, Request& req, Response& res,
                                                 bool keep_alive) {
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), 11};
  for (const auto& [k, v] : res.headers.items()) out.insert(k, v);
  out.set("X-Request-ID", req.ctx.request_id);
  out.body() = std::move(res.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  beast::error_code ec;
  conn.stream.tcp().expires_after(options.read_timeout);
  co_await bhttp::async_write(conn.stream, out, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

// The handshake shares the read timeout: a client that connects and never speaks TLS is dropped.
asio::awaitable<bool> Server::Impl::handshake(Connection& conn, const std::string& peer) {
  auto ctx = tls_context();
  if (!ctx) co_return true;
  conn.stream.use_tls(std::move(ctx));
  beast::error_code ec;
  conn.stream.tcp().expires_after(options.read_timeout);
  co_await conn.stream.tls().async_handshake(asio::ssl::stream_base::server,
                                             asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) co_return true;
  logger.warn("TLS handshake with " + peer + " failed: " +
                  (ec == beast::error::timeout ? std::string("timed out")
                                               : tls_failure_reason(ec, conn.stream.tls().native_handle())),
              {{"remote", peer}});
  co_return false;
}

// Hands the request to its route's handler, or answers 401/404/405 itself; a handler that throws
// is answered 500 (the caller sent nothing wrong that the handler did not catch).
void Server::Impl::dispatch(Request& req, const Router::Match& match,
                            const std::shared_ptr<Responder::State>& state) {
  if (!authorized(req, options)) {
    auto r = problem(401, "Unauthorized", "a valid bearer token is required", req.ctx.request_id);
    r.headers.set("WWW-Authenticate", "Bearer realm=\"taskman\"");
    Responder(state).send(std::move(r));
  } else if (match.handler == nullptr) {
    Response r;
    if (match.route.empty()) {
      r = problem(404, "Not Found", "no route for " + req.path, req.ctx.request_id);
    } else {
      r = problem(405, "Method Not Allowed", req.method + " is not allowed here; allowed: " + match.allow,
                  req.ctx.request_id);
      r.headers.set("Allow", match.allow);
    }
    Responder(state).send(std::move(r));
  } else {
    try {
      (*match.handler)(req, Responder(state));
    } catch (const std::exception& e) {
      logger.error(req.ctx, "handler threw", {{"route", req.route}, {"error", e.what()}});
      auto r = problem(500, "Internal Server Error", "the request failed unexpectedly", req.ctx.request_id);
      Responder(state).send(std::move(r));  // a no-op if the handler answered before it threw
    }
  }
}

// A streamed (chunked) response, e.g. Server-Sent Events: the head now, then the chunks the handler
// writes until it closes the stream (or the drain closes an event stream). No read deadline while
// it is open; each write gets one so a client that stops reading cannot pin the connection.
asio::awaitable<bool> Server::Impl::write_stream(Connection& conn, Request& req,
                                                 std::shared_ptr<Responder::State>& state, bool keep_alive,
                                                 std::size_t& bytes) {
  beast::error_code ec;
  bool ok = true;
  conn.open_stream = state;
  bhttp::response<bhttp::empty_body> head{static_cast<bhttp::status>(state->stream_status), 11};
  for (const auto& [k, v] : state->stream_headers.items()) head.insert(k, v);
  head.set("X-Request-ID", req.ctx.request_id);
  head.chunked(true);
  head.keep_alive(keep_alive);
  bhttp::response_serializer<bhttp::empty_body> sr{head};
  conn.stream.tcp().expires_after(options.read_timeout);
  co_await bhttp::async_write_header(conn.stream, sr, asio::redirect_error(asio::use_awaitable, ec));
  ok = !ec;
  while (ok) {
    std::deque<std::string> batch;
    bool closed;
    {
      std::lock_guard lock(state->mu);
      batch.swap(state->chunks);
      closed = state->stream_closed;
    }
    for (auto& chunk : batch) {
      if (chunk.empty()) continue;
      bytes += chunk.size();
      conn.stream.tcp().expires_after(options.read_timeout);
      co_await asio::async_write(conn.stream, bhttp::make_chunk(asio::buffer(chunk)),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    if (ec) {
      ok = false;
      break;
    }
    if (closed) {
      conn.stream.tcp().expires_after(options.read_timeout);
      co_await asio::async_write(conn.stream, bhttp::make_chunk_last(),
                                 asio::redirect_error(asio::use_awaitable, ec));
      ok = !ec;
      break;
    }
    {
      std::lock_guard lock(state->mu);
      if (!state->chunks.empty() || state->stream_closed) continue;
    }
    conn.stream.tcp().expires_never();
    state->signal.expires_at(asio::steady_timer::time_point::max());
    co_await state->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    ec = {};  // the wake-up cancels the timer: operation_aborted is the normal case, not a write error
  }
  {
    std::lock_guard lock(state->mu);
    state->stream_closed = true;  // writers now get false
  }
  conn.open_stream.reset();
  co_return ok;
}

asio::awaitable<void> Server::Impl::serve(std::shared_ptr<Connection> conn) {
  // The frame owns the server state: it may outlive the Server object until its io_context ends.
  auto self = shared_from_this();
  beast::flat_buffer buffer;
  std::string remote;
  std::string peer;  // address:port, for TLS errors
  {
    beast::error_code ec;
    auto ep = conn->stream.tcp().socket().remote_endpoint(ec);
    if (!ec) {
      remote = ep.address().to_string();
      peer = remote + ":" + std::to_string(ep.port());
    }
  }
  if (!co_await handshake(*conn, peer)) {
    beast::error_code ignored;
    conn->stream.tcp().socket().close(ignored);
    co_return;
  }
  for (;;) {
    // Idle: wait for the first bytes of the next request under the idle timeout.
    conn->idle = true;
    if (draining) break;
    beast::error_code ec;
    if (buffer.size() == 0) {
      conn->stream.tcp().expires_after(options.idle_timeout);
      const std::size_t n = co_await conn->stream.async_read_some(
          buffer.prepare(4096), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;  // closed, idle timeout, or cancelled by drain
      buffer.commit(n);
    }
    conn->idle = false;

    // The whole request must arrive within read_timeout (slowloris guard).
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(options.max_body_bytes);
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    conn->stream.tcp().expires_after(options.read_timeout);
    const auto started = std::chrono::steady_clock::now();
    co_await bhttp::async_read(conn->stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));

    Request req;
    req.remote_address = remote;
    req.ctx.request_id = new_request_id();
    if (ec) {
      int status = 0;
      std::string title;
      if (ec == bhttp::error::body_limit) {
        status = 413;
        title = "request body too large (limit " + std::to_string(options.max_body_bytes) + " bytes)";
      } else if (ec == bhttp::error::header_limit) {
        status = 431;
        title = "request header fields too large";
      } else if (ec == beast::error::timeout) {
        // Beast has already closed the socket on expiry, so no 408 can be written: log and drop.
        logger.info(req.ctx, "http request not received in time; connection closed",
                    {{"remote", remote}, {"read_timeout_ms", options.read_timeout.count()}});
      } else if (ec != bhttp::error::end_of_stream && ec != asio::error::eof &&
                 ec != asio::error::connection_reset && ec != asio::error::operation_aborted) {
        status = 400;
        title = "malformed HTTP request: " + ec.message();
      }
      if (status != 0) {
        req.method = parser.is_header_done() ? std::string(parser.get().method_string()) : "";
        req.path = parser.is_header_done() ? std::string(parser.get().target()) : "";
        Response rejection = problem(status, title, title, req.ctx.request_id);
        for (auto* o : observers) o->on_request_start(req);  // counted like any answer (route unmatched)
        co_await write_simple(*conn, req, rejection, false);
        for (auto* o : observers) o->on_request_end(req, status, std::chrono::steady_clock::now() - started);
        logger.info(req.ctx, "http request rejected",
                    {{"status", status}, {"error", title}, {"method", req.method}, {"remote", remote}});
      }
      break;
    }

    auto& msg = parser.get();
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    const auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    for (const auto& field : msg)
      req.headers.add(std::string(field.name_string()), std::string(field.value()));
    req.body = std::move(msg.body());
    req.keep_alive = msg.keep_alive();
    if (auto rid = req.headers.get("X-Request-ID");
        rid && req.headers.count("X-Request-ID") == 1 && valid_request_id(*rid)) {
      req.ctx.request_id = std::string(*rid);
    }

    for (auto* o : observers) o->on_request_start(req);
    const auto match = router.match(req);
    req.route = match.route;

    auto state = std::make_shared<Responder::State>(conn->stream.get_executor());
    dispatch(req, match, state);

    // Wait for the handler's answer (it may come from another thread).
    for (;;) {
      {
        std::lock_guard lock(state->mu);
        if (state->done) break;
      }
      state->signal.expires_at(asio::steady_timer::time_point::max());
      co_await state->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }

    const bool keep_alive = req.keep_alive && !draining;
    int status = 0;
    std::size_t bytes = 0;
    bool ok = true;
    if (!state->streaming) {
      Response res = std::move(*state->response);
      status = res.status;
      bytes = res.body.size();
      ok = co_await write_simple(*conn, req, res, keep_alive);
    } else {
      status = state->stream_status;
      ok = co_await write_stream(*conn, req, state, keep_alive, bytes);
    }

    const auto elapsed = std::chrono::steady_clock::now() - started;
    for (auto* o : observers) o->on_request_end(req, status, elapsed);
    if (logger.enabled(log::Level::kInfo)) {
      logger.info(req.ctx, "http request",
                  {{"method", req.method},
                   {"path", req.path},
                   {"route", req.route},
                   {"status", status},
                   {"duration_ms", std::chrono::duration<double, std::milli>(elapsed).count()},
                   {"bytes", bytes},
                   {"remote", remote}});
    }
    if (!ok || !keep_alive) break;
  }
  beast::error_code ignored;
  conn->stream.tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  conn->stream.tcp().close();
}

Server::Server(IoPool& pool, ServerOptions options, Router router, log::Logger& logger)
    : impl_(std::make_shared<Impl>(pool, std::move(options), std::move(router), logger)) {}

Server::~Server() {
  if (impl_->acceptor) {
    asio::post(impl_->acceptor->get_executor(), [impl = impl_] {
      beast::error_code ec;
      impl->acceptor->close(ec);
    });
  }
}

void Server::add_observer(RequestObserver* observer) { impl_->observers.push_back(observer); }

void Server::start() {
  if (impl_->options.tls.enabled()) {
    try {
      impl_->tls = make_server_context(impl_->options.tls);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(e.what());
    }
  }
  auto& ctx = impl_->ctx(0);
  beast::error_code ec;
  const auto address =
      asio::ip::make_address(impl_->options.host == "localhost" ? "127.0.0.1" : impl_->options.host, ec);
  if (ec) throw std::runtime_error("cannot bind " + impl_->options.host + ": not an IP address");
  tcp::endpoint ep{address, impl_->options.port};
  auto acc = std::make_unique<tcp::acceptor>(ctx);
  acc->open(ep.protocol(), ec);
  if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc->bind(ep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + impl_->options.host + ":" +
                             std::to_string(impl_->options.port) + ": " + ec.message());
  }
  impl_->bound_port = acc->local_endpoint().port();
  impl_->acceptor = std::move(acc);
  auto impl = impl_;
  asio::co_spawn(ctx, impl_->accept_loop(),
                 [impl](std::exception_ptr e) { log_exception(impl->logger, e, "http accept loop"); });
}

std::uint16_t Server::port() const { return impl_->bound_port; }

bool Server::tls() const { return impl_->options.tls.enabled(); }

Status Server::reload_tls() {
  if (!impl_->options.tls.enabled()) return {};
  try {
    auto fresh = make_server_context(impl_->options.tls);
    std::lock_guard lock(impl_->tls_mu);
    impl_->tls = std::move(fresh);
    return {};
  } catch (const std::invalid_argument& e) {
    return Error::invalid("tls", e.what());
  }
}

std::size_t Server::open_connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connections.size();
}

void Server::drain(std::chrono::milliseconds timeout, std::function<void()> done) {
  auto impl = impl_;
  std::vector<std::shared_ptr<Connection>> conns;
  auto timer = std::make_shared<asio::steady_timer>(impl->ctx(0), timeout);
  {
    std::lock_guard lock(impl->mu);
    impl->draining = true;
    impl->drain_done = std::move(done);
    impl->drain_timer = timer;
    conns.assign(impl->connections.begin(), impl->connections.end());
  }
  if (impl->acceptor) {
    asio::post(impl->acceptor->get_executor(), [impl] {
      beast::error_code ec;
      impl->acceptor->close(ec);
    });
  }
  // Idle keep-alive connections close now; event streams end; busy ones (streamed responses
  // included) close after their answer.
  for (auto& c : conns) {
    asio::post(c->stream.get_executor(), [c] {
      beast::error_code ignored;  // the peer may have closed it a moment ago
      if (c->idle) c->stream.tcp().socket().cancel(ignored);
      if (c->open_stream && c->open_stream->event_stream) {
        {
          std::lock_guard lock(c->open_stream->mu);
          c->open_stream->stream_closed = true;
        }
        c->open_stream->signal.cancel();
      }
    });
  }
  {
    timer->async_wait([impl, timer](beast::error_code ec) {
      if (ec) return;  // cancelled: drained in time
      std::vector<std::shared_ptr<Connection>> left;
      std::function<void()> cb;
      {
        std::lock_guard lock(impl->mu);
        left.assign(impl->connections.begin(), impl->connections.end());
        cb = std::move(impl->drain_done);
        impl->drain_done = nullptr;
      }
      if (!left.empty()) {
        impl->logger.warn("shutdown timeout: closing connections still busy", {{"connections", left.size()}});
      }
      for (auto& c : left) {
        asio::post(c->stream.get_executor(), [c] {
          beast::error_code ignored;
          c->stream.tcp().socket().close(ignored);
        });
      }
      if (cb) cb();
    });
  }
  impl->finish_drain_if_empty();
}

}  // namespace taskman::http
