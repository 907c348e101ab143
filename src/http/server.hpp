#pragma once
// The HTTP/1.1 server (Boost.Beast on C++20 coroutines; the Beast code stays in server.cpp).
// Built-in middleware: request id (docs/observability.md#request-ids), access log, body/header limits,
// read/idle timeouts, graceful drain. Handlers run on the connection's I/O thread and must not block: hand
// slow work to another executor and complete the Responder from there.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "http/router.hpp"
#include "http/tls.hpp"

namespace taskman::log {
class Logger;
}

namespace taskman::http {

class IoPool;

// Observes every request (metrics, tracing). Called on the I/O thread.
class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void on_request_start(Request& req) = 0;
  virtual void on_request_end(const Request& req, int status, std::chrono::nanoseconds duration) = 0;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (tests)
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds read_timeout{10'000};  // to receive one whole request once it started
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive wait for the next request
  std::size_t max_connections = 10'000;
  // When non-empty, requests whose path starts with auth_path_prefix need
  // "Authorization: Bearer <one of these>" (compared in constant time); else 401.
  std::vector<std::string> bearer_tokens;
  std::string auth_path_prefix;
  // Set (cert_file non-empty): every connection is TLS; plain HTTP clients fail the handshake.
  TlsServerSettings tls;
};

class Server {
 public:
  Server(IoPool& pool, ServerOptions options, Router router, log::Logger& logger);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void add_observer(RequestObserver* observer);  // before start()
  // Binds and starts accepting; throws std::runtime_error naming the address when it cannot bind.
  // A TLS certificate or key that cannot be loaded is also a runtime_error, naming the file.
  void start();
  std::uint16_t port() const;
  bool tls() const;
  // Loads the certificate and key files again into a new context for new connections (SIGHUP);
  // on failure the old one stays in use and the error names the file and the reason.
  Status reload_tls();
  // Stops accepting, closes idle keep-alive connections and open streams, lets in-flight requests
  // finish; calls `done` (on an I/O thread) when no connection is left or `timeout` passed.
  void drain(std::chrono::milliseconds timeout, std::function<void()> done);
  std::size_t open_connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// One io_context per thread (docs/architecture.md#threads: ~2x faster than a shared context with strands).
class IoPool {
 public:
  explicit IoPool(std::size_t threads);
  ~IoPool();
  void start();
  void stop();  // stops every context and joins the threads
  std::size_t size() const;
  void* context(std::size_t i);  // boost::asio::io_context*, kept opaque for non-Beast code
  std::size_t next_index();      // round robin
  // Runs fn on one of the I/O threads.
  void post(std::function<void()> fn);
  // Runs fn on an I/O thread after `delay` (retry backoff and the like).
  // Always asynchronous, even for a zero delay; on the calling I/O thread when there is one.
  void schedule(std::chrono::milliseconds delay, std::function<void()> fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace taskman::http
