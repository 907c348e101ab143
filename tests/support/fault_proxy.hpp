#pragma once
// A fault-injecting HTTP proxy for black-box resilience tests (docs/resilience.md): it sits between
// `taskman mcp` and the real `taskman api` and, on the test's command, forwards, fails, delays,
// hangs, answers garbage, or forwards and then reports a failure (the backend committed, the
// client is told it did not). Built on the project's own HTTP server and client, bound to
// 127.0.0.1 on a free port; it stops by itself when destroyed.
// Thread-safe: every control and counter method may be called from any thread while requests flow.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace taskman::testing {

// What the proxy does with one request.
struct Fault {
  enum class Kind {
    kForward,          // pass it to the backend and its answer back
    kFail,             // answer `status` (problem+json) without touching the backend
    kDelay,            // wait `delay`, then forward
    kHang,             // hold the request until release_hung() or the proxy stops (then 504)
    kMalformed,        // answer 200 with a body that is not JSON, without touching the backend
    kForwardThenFail,  // forward, then answer `status` whatever the backend said (it committed)
  };
  // kFail's body: a problem+json like the API's, or what gateways and load balancers send instead.
  enum class Body { kProblem, kPlainText, kEmpty };
  Kind kind = Kind::kForward;
  int status = 503;
  std::optional<int> retry_after_s;  // kFail: sent as Retry-After (delta-seconds)
  std::chrono::milliseconds delay{0};
  Body body = Body::kProblem;

  static Fault forward() { return {}; }
  static Fault fail(int status = 503, std::optional<int> retry_after_s = std::nullopt) {
    return {Kind::kFail, status, retry_after_s, {}};
  }
  // A gateway's answer: `status` with a text/plain body (e.g. 503 + Retry-After), or with no body at all.
  static Fault fail_text(int status, std::optional<int> retry_after_s = std::nullopt) {
    return {Kind::kFail, status, retry_after_s, {}, Body::kPlainText};
  }
  static Fault fail_empty(int status) { return {Kind::kFail, status, {}, {}, Body::kEmpty}; }
  static Fault delay_then_forward(std::chrono::milliseconds delay) { return {Kind::kDelay, 0, {}, delay}; }
  static Fault hang() { return {Kind::kHang, 0, {}, {}}; }
  static Fault malformed() { return {Kind::kMalformed, 200, {}, {}}; }
  static Fault forward_then_fail(int status = 502) { return {Kind::kForwardThenFail, status, {}, {}}; }
};
const char* fault_name(Fault::Kind kind);  // "forward" | "fail" | "delay" | "hang" | "malformed" | ...

// One request the proxy saw, in arrival order.
struct SeenRequest {
  std::string method;
  std::string path;   // as sent, without the query
  std::string route;  // the matched template, e.g. "/api/v1/tasks/{id}"
  std::string idempotency_key;
  std::string request_id;
  std::string traceparent;  // the W3C trace context headers as received ("" when absent)
  std::string tracestate;
  Fault::Kind applied = Fault::Kind::kForward;
  // For forwarded kinds, set once the backend has answered: its status, or 0 when it never did.
  std::optional<int> upstream_status;
};

class FaultProxy {
 public:
  // Forwards to http://upstream_host:upstream_port (the target path is passed through unchanged).
  explicit FaultProxy(std::uint16_t upstream_port, std::string upstream_host = "127.0.0.1");
  ~FaultProxy();  // answers held requests, drains its connections, joins its I/O thread
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::uint16_t port() const;
  // The base URL to give `taskman mcp --task-manager-api-endpoint`.
  std::string endpoint() const;

  // What a request gets when no rule claims it (kForward at first).
  void set_default(Fault fault);
  // Requests with this method ("*": any) and route template ("*": any, else e.g. "/api/v1/tasks")
  // take the faults of `sequence` in turn. Without `repeat` the rule is dropped once used up (a
  // script: "fail the next two, then behave"); with it the sequence starts over (a ratio: {fail,
  // forward} fails every other request). Rules are tried in the order they were added.
  void add_rule(std::string method, std::string route, std::vector<Fault> sequence, bool repeat = false);
  // Drops every rule and sets the default back to kForward: the backend "recovers".
  void heal();
  // Answers every request currently held by kHang with 504; returns how many there were.
  std::size_t release_hung();

  std::size_t total() const;
  // Requests seen with this method and path (as sent, without the query).
  std::size_t count(std::string_view method, std::string_view path) const;
  // Requests to which the proxy applied `kind`.
  std::size_t count_applied(Fault::Kind kind) const;
  std::vector<SeenRequest> seen() const;
  // Waits (on a condition variable, no polling) until `pred` holds for the requests seen so far;
  // false after `timeout`.
  bool wait_until(const std::function<bool(const std::vector<SeenRequest>&)>& pred,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace taskman::testing
