#pragma once
// Tracer and Span: start spans (sampling decided once, at the start), record attributes, events and
// status, and hand finished sampled spans to a SpanProcessor. Unsampled spans still get real ids so
// traceparent propagation and log correlation work (OTel "non-recording span"), but record nothing.
//
// Thread-safety: Tracer is thread-safe. A Span has one owner at a time (it may move between threads
// with its request, but is not for concurrent use).
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/context.hpp"
#include "tracing/sampler.hpp"
#include "tracing/span_data.hpp"

namespace taskman::tracing {

// Span and trace ids. Implementations must be thread-safe and never return all-zero ids.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  virtual TraceId new_trace_id() = 0;
  virtual SpanId new_span_id() = 0;
};

// xoshiro256** per thread, each seeded from the CSPRNG (OpenSSL RAND_bytes): ids must be
// unpredictable across processes (W3C §3.2.2.3 asks for randomness) yet cheap on the hot path.
class RandomIdGenerator final : public IdGenerator {
 public:
  TraceId new_trace_id() override;
  SpanId new_span_id() override;
  static RandomIdGenerator& instance();
};

// Receives each finished, sampled span. on_end is called on the thread that ended the span and must
// not block (docs/observability.md#sampling-and-export: tracing never blocks a request).
class SpanProcessor {
 public:
  virtual ~SpanProcessor() = default;
  virtual void on_end(SpanData&& span) = 0;
};

// Unix time in nanoseconds; injectable so tests control timestamps.
using UnixClock = std::function<std::uint64_t()>;
std::uint64_t system_unix_nanos();

struct TracerOptions {
  // false (OTEL_SDK_DISABLED=true or tracing switched off): spans record nothing and a span with a
  // valid parent carries the parent's context unchanged (ids, flags, tracestate), like the OTel API
  // without an SDK; so context still propagates and logs still correlate.
  bool enabled = true;
  SamplerConfig sampler;
  // OTEL_DEBUG: each finished sampled span as one OTLP/JSON line (null: off). Lines are written whole.
  std::FILE* debug_out = nullptr;
};

class Tracer;

class Span {
 public:
  Span() = default;  // an invalid, non-recording span (no trace)
  Span(Span&& other) noexcept;
  Span& operator=(Span&& other) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;
  ~Span() { end(); }

  const SpanContext& context() const { return ctx_; }
  bool is_recording() const { return data_ != nullptr && !ended_; }

  void set_attribute(Attribute attribute);
  void set_attributes(Attributes attributes);
  void add_event(std::string name, Attributes attributes = {});
  void add_event(std::string name, std::uint64_t time_unix_nano, Attributes attributes);
  // OTel semantics (trace/api.md "Set Status"): Unset is ignored, Ok is final, the message is kept
  // only with Error.
  void set_status(StatusCode code, std::string_view message = {});
  void update_name(std::string name);
  // Idempotent; the destructor calls it.
  void end();
  void end(std::uint64_t end_unix_nano);

  // Writes trace_id/span_id (lowercase hex), flags and tracestate into the request context, so logs
  // correlate (docs/observability.md#request-ids) and work done for the request parents its spans here
  // (parent_of).
  void fill(RequestContext& ctx) const;

 private:
  friend class Tracer;
  Tracer* tracer_ = nullptr;
  SpanContext ctx_;
  std::unique_ptr<SpanData> data_;  // null when not recording
  bool ended_ = false;
};

// The span context a request context carries (set by Span::fill), as the parent of a new span;
// invalid (a new trace) when the request is not traced.
SpanContext parent_of(const RequestContext& ctx);

class Tracer {
 public:
  // `processor` (may be null: nothing exported) and `ids` (null: RandomIdGenerator) must outlive the
  // tracer and every span it started.
  explicit Tracer(TracerOptions options = {}, SpanProcessor* processor = nullptr, IdGenerator* ids = nullptr,
                  UnixClock clock = {});

  // `parent` is the parent's context (from Span::context() or extract()); an invalid one starts a new
  // trace. The sampler sees the parent and the trace id.
  Span start_span(std::string name, SpanKind kind, const SpanContext& parent = {},
                  Attributes attributes = {});
  Span start_span(std::string name, SpanKind kind, const SpanContext& parent, Attributes attributes,
                  std::uint64_t start_unix_nano);

  std::uint64_t now() const { return clock_ ? clock_() : system_unix_nanos(); }
  const TracerOptions& options() const { return options_; }

 private:
  friend class Span;
  void finish(SpanData&& data);

  TracerOptions options_;
  Sampler sampler_;
  SpanProcessor* processor_;
  IdGenerator* ids_;
  UnixClock clock_;
  std::mutex debug_mu_;  // guards debug_out writes so JSON lines never interleave
};

}  // namespace taskman::tracing
