#pragma once
// Transport-neutral HTTP messages: what handlers see. No Beast/Asio here, so handler code
// compiles fast and the protocol libraries stay independent of the server's internals.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/context.hpp"

namespace taskman::http {

// Ordered header list; lookups are case-insensitive (RFC 9110 §5.1).
class Headers {
 public:
  void add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }
  void set(std::string_view name, std::string value);
  // First value, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  std::size_t count(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw request target: "/api/v1/tasks?limit=5"
  std::string path;    // path without the query, as sent: "/api/v1/tasks" (params are decoded one by one)
  std::string query;   // raw query without '?': "limit=5"
  Headers headers;
  std::string body;
  std::string remote_address;
  bool keep_alive = true;

  // Filled by the router.
  std::string route;  // matched route template, "/api/v1/tasks/{id}" (bounded: safe for metric labels)
  std::map<std::string, std::string, std::less<>> path_params;

  // Filled by the server's middleware before the handler runs.
  RequestContext ctx;
  // Per-request state of a RequestObserver (the tracing observer keeps the server span here).
  std::shared_ptr<void> observer_state;

  // Percent-decoded path parameter, or "" when absent.
  std::string_view path_param(std::string_view name) const;
  // Query parameters, percent-decoded ('+' is a space), in order; repeated names repeat.
  std::vector<std::pair<std::string, std::string>> query_params() const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  static Response json(int status, std::string body);
  static Response text(int status, std::string body);
  static Response empty(int status);
};

// A streamed response body (chunked; used for Server-Sent Events). Thread-safe: write from any
// thread. write() returns false once the stream is closed (by either side); close() is idempotent.
class Stream {
 public:
  virtual ~Stream() = default;
  virtual bool write(std::string chunk) = 0;
  virtual void close() = 0;
  virtual bool closed() const = 0;
};

// What a streamed response is, for graceful shutdown: a response still being produced finishes
// (like any in-flight request); a long-lived event stream (an SSE channel with no end of its own)
// is closed by the drain.
enum class StreamKind { kResponse, kEventStream };

// Completes one request, exactly once, from any thread. The Request passed to the handler stays
// valid until send() or stream() has been called. Destroying an unused Responder answers 500.
class Responder {
 public:
  struct State;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&&) noexcept = default;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  void send(Response response);
  // Starts a streamed response (status + headers now, body chunks later through the Stream).
  std::shared_ptr<Stream> stream(int status, Headers headers, StreamKind kind = StreamKind::kResponse);

 private:
  std::shared_ptr<State> state_;
};

}  // namespace taskman::http
