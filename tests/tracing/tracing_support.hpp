#pragma once
// Support for the black-box tracing tests (docs/observability.md#tracing): a loopback OTLP/HTTP receiver that
// stores what taskman exports, and a decoder that turns the stored protobuf bodies into spans with
// the generated code of @opentelemetry/otlp-transformer (tests/otlp/decode.cjs) -- a decoder taskman
// did not write, so a span the tests find is a span a real collector would see.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.hpp"

namespace taskman::testing::tracing {

// POST /v1/traces on 127.0.0.1, port 0. Every body is stored before the answer goes out, so once a
// taskman process has exited (it flushes on shutdown and waits for the answer) its spans are here.
// Answers `status` to every request (200: a healthy collector; 503: one that is down), with
// Retry-After when `retry_after_s` is set. Thread-safe.
class OtlpCollector {
 public:
  explicit OtlpCollector(int status = 200, std::optional<int> retry_after_s = std::nullopt);
  ~OtlpCollector();  // drains its connections, then stops its I/O thread
  OtlpCollector(const OtlpCollector&) = delete;
  OtlpCollector& operator=(const OtlpCollector&) = delete;

  std::uint16_t port() const;
  // For OTEL_EXPORTER_OTLP_ENDPOINT: the base URL, to which taskman appends /v1/traces.
  std::string base_url() const;
  std::vector<std::string> bodies() const;
  // Waits (condition variable) until `n` export requests arrived; false after `timeout`.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// One span as the decoder saw it, with the service.name of the resource it was exported under.
struct DecodedSpan {
  std::string service;
  std::string trace_id;        // 32 lowercase hex
  std::string span_id;         // 16 lowercase hex
  std::string parent_span_id;  // "" for a root span
  std::string trace_state;
  std::string name;
  int kind = 0;         // 1 internal, 2 server, 3 client
  int status_code = 0;  // 0 unset, 1 ok, 2 error
  std::uint64_t start_ns = 0;
  std::uint64_t end_ns = 0;
  std::map<std::string, nlohmann::json> attributes;  // key -> AnyValue ({"stringValue": ...} etc.)
  std::vector<std::string> events;                   // event names, in order

  bool has(const std::string& key) const { return attributes.count(key) != 0; }
  // A string attribute's value; "" when absent or not a string.
  std::string str(const std::string& key) const;
  // An int attribute's value; nullopt when absent or not an int (OTLP carries int64 as intValue).
  std::optional<long long> integer(const std::string& key) const;
  // "name [service] trace/span<-parent" for failure messages.
  std::string describe() const;
};

// Decodes every body with node tests/otlp/decode.cjs and returns all spans in them. Any body the
// decoder rejects, or in which it did not understand every byte, fails the calling test (gtest
// ADD_FAILURE with the decoder's output).
std::vector<DecodedSpan> decode_bodies(const std::vector<std::string>& bodies);

// Spans whose taskman.request_id attribute (docs/observability.md#spans: the request id is on every span) is
// `request_id`.
std::vector<const DecodedSpan*> with_request_id(const std::vector<DecodedSpan>& spans,
                                                const std::string& request_id);
std::vector<const DecodedSpan*> in_trace(const std::vector<DecodedSpan>& spans, const std::string& trace_id);

// 32 / 16 random lowercase hex digits (never all zero), for trace and span ids the tests send.
std::string random_trace_id();
std::string random_span_id();
std::string traceparent(const std::string& trace_id, const std::string& parent_id);
// A valid W3C id: `len` lowercase hex digits, not all zero.
bool is_id_hex(const std::string& s, std::size_t len);

// `taskman <args>` in `dir` (no stray .env) exporting to `collector_url` (OTEL_EXPORTER_OTLP_ENDPOINT,
// a base URL) with a short batch delay; `env` is added last, so it may override any of these.
Process::Options traced(const TempDir& dir, std::vector<std::string> args, const std::string& collector_url,
                        const std::map<std::string, std::string>& env = {});

}  // namespace taskman::testing::tracing
