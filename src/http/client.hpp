#pragma once
// Keep-alive HTTP/1.1 client for the services to call each other. One connection pool per I/O
// context (a pool is touched only by its own thread, so it needs no lock). Completion callbacks run
// on an I/O thread and must not block.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "http/message.hpp"
#include "http/tls.hpp"

namespace taskman::http {

class IoPool;

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;
  std::uint16_t port = 80;  // 443 for https unless given
  std::string base_path;    // "/api/v1" (no trailing slash)
};
Result<Url> parse_url(std::string_view url);

struct ClientRequest {
  std::string method = "GET";
  std::string target;  // path + query, e.g. "/api/v1/tasks?limit=5"
  Headers headers;
  std::string body;
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

// Why a request got no HTTP answer (used by retry and breaker decisions).
enum class TransportError { kNone, kConnect, kTimeout, kClosed, kProtocol };

struct ClientResult {
  TransportError error = TransportError::kNone;
  std::string error_message;
  ClientResponse response;  // valid when error == kNone
  bool ok() const { return error == TransportError::kNone; }
};

struct ClientOptions {
  std::size_t max_idle_per_context = 64;
  std::size_t max_response_bytes = 16 * 1024 * 1024;
  // Set: every connection is TLS (https), the peer verified against these settings and the host name.
  std::optional<TlsClientSettings> tls;
};

class HttpClient {
 public:
  // Throws std::invalid_argument when options.tls names a file that cannot be loaded.
  HttpClient(IoPool& pool, std::string host, std::uint16_t port, ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request with a whole-exchange timeout. A request that fails on a reused keep-alive
  // connection before any answer byte arrives is sent once more on a fresh connection, but only
  // when that is safe (an idempotent method, or an Idempotency-Key header).
  void send(ClientRequest request, std::chrono::milliseconds timeout, std::function<void(ClientResult)> done);
  // Blocking convenience for code not on an I/O thread (CLI, tests).
  ClientResult send_sync(ClientRequest request, std::chrono::milliseconds timeout);

  const std::string& host() const;
  std::uint16_t port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace taskman::http
