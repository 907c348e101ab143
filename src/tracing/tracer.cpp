#include "tracing/tracer.hpp"

#include <openssl/rand.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

#include "tracing/otlp_encode.hpp"

namespace taskman::tracing {
namespace {

// xoshiro256** (Blackman & Vigna): fast, 256-bit state, fine statistical quality for ids.
class Xoshiro256 {
 public:
  Xoshiro256() {
    // Seed from the CSPRNG so ids are unpredictable and differ across processes and threads.
    if (RAND_bytes(reinterpret_cast<unsigned char*>(s_), sizeof s_) != 1) {
      throw std::runtime_error("RAND_bytes failed while seeding the span id generator");
    }
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0)
      s_[0] = 0x9e3779b97f4a7c15ULL;  // the all-zero state is a fixpoint
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

// Per-thread generator state: this is an RNG, not request context, so a thread-local is safe here.
Xoshiro256& thread_rng() {
  thread_local Xoshiro256 rng;
  return rng;
}

void fill_random(std::uint8_t* out, std::size_t n) {
  auto& rng = thread_rng();
  do {
    for (std::size_t i = 0; i < n; i += 8) {
      const std::uint64_t v = rng.next();
      std::memcpy(out + i, &v, std::min<std::size_t>(8, n - i));
    }
  } while (is_zero(std::span<const std::uint8_t>(out, n)));  // all-zero ids are invalid (W3C)
}

}  // namespace

TraceId RandomIdGenerator::new_trace_id() {
  TraceId id;
  fill_random(id.data(), id.size());
  return id;
}

SpanId RandomIdGenerator::new_span_id() {
  SpanId id;
  fill_random(id.data(), id.size());
  return id;
}

RandomIdGenerator& RandomIdGenerator::instance() {
  static RandomIdGenerator generator;
  return generator;
}

std::uint64_t system_unix_nanos() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// ---- Span ----

Span::Span(Span&& other) noexcept
    : tracer_(other.tracer_),
      ctx_(std::move(other.ctx_)),
      data_(std::move(other.data_)),
      ended_(other.ended_) {
  other.ended_ = true;
}

Span& Span::operator=(Span&& other) noexcept {
  if (this != &other) {
    end();
    tracer_ = other.tracer_;
    ctx_ = std::move(other.ctx_);
    data_ = std::move(other.data_);
    ended_ = other.ended_;
    other.ended_ = true;
  }
  return *this;
}

void Span::set_attribute(Attribute attribute) {
  if (!is_recording()) return;
  for (auto& a : data_->attributes) {
    if (a.key == attribute.key) {  // attribute keys are unique within a span (common/README.md)
      a.value = std::move(attribute.value);
      return;
    }
  }
  data_->attributes.push_back(std::move(attribute));
}

void Span::set_attributes(Attributes attributes) {
  for (auto& a : attributes) set_attribute(std::move(a));
}

void Span::add_event(std::string name, Attributes attributes) {
  if (!is_recording()) return;
  add_event(std::move(name), tracer_->now(), std::move(attributes));
}

void Span::add_event(std::string name, std::uint64_t time_unix_nano, Attributes attributes) {
  if (!is_recording()) return;
  data_->events.push_back(SpanEvent{std::move(name), time_unix_nano, std::move(attributes)});
}

void Span::set_status(StatusCode code, std::string_view message) {
  if (!is_recording() || code == StatusCode::kUnset || data_->status == StatusCode::kOk) return;
  data_->status = code;
  data_->status_message = code == StatusCode::kError ? std::string(message) : std::string();
}

void Span::update_name(std::string name) {
  if (is_recording()) data_->name = std::move(name);
}

void Span::end() {
  if (ended_) return;
  end(data_ ? tracer_->now() : 0);
}

void Span::end(std::uint64_t end_unix_nano) {
  if (ended_) return;
  ended_ = true;
  if (!data_) return;
  data_->end_unix_nano = std::max(end_unix_nano, data_->start_unix_nano);
  auto data = std::move(data_);
  tracer_->finish(std::move(*data));
}

void Span::fill(RequestContext& ctx) const {
  if (!ctx_.valid()) return;
  ctx.trace_id = ctx_.trace_id_hex();
  ctx.span_id = ctx_.span_id_hex();
  ctx.trace_flags = ctx_.flags;
  ctx.trace_state = ctx_.trace_state.to_header();
}

SpanContext parent_of(const RequestContext& ctx) {
  SpanContext sc;
  if (ctx.trace_id.size() != 32 || ctx.span_id.size() != 16 || !from_hex(ctx.trace_id, sc.trace_id) ||
      !from_hex(ctx.span_id, sc.span_id)) {
    return {};
  }
  sc.flags = ctx.trace_flags;
  if (!ctx.trace_state.empty()) {
    if (auto ts = TraceState::parse(std::string_view(ctx.trace_state))) sc.trace_state = std::move(*ts);
  }
  return sc;
}

// ---- Tracer ----

Tracer::Tracer(TracerOptions options, SpanProcessor* processor, IdGenerator* ids, UnixClock clock)
    : options_(options),
      sampler_(options.sampler),
      processor_(processor),
      ids_(ids ? ids : &RandomIdGenerator::instance()),
      clock_(std::move(clock)) {}

Span Tracer::start_span(std::string name, SpanKind kind, const SpanContext& parent, Attributes attributes) {
  return start_span(std::move(name), kind, parent, std::move(attributes), now());
}

Span Tracer::start_span(std::string name, SpanKind kind, const SpanContext& parent, Attributes attributes,
                        std::uint64_t start_unix_nano) {
  Span span;
  span.tracer_ = this;
  const bool has_parent = parent.valid();
  if (!options_.enabled && has_parent) {
    // The OTel API without an SDK (trace/api.md "Behavior of the API in the absence of an installed
    // SDK"): the non-recording span carries the parent's span context, so the caller's trace id, span
    // id, flags and tracestate reach the backend and the logs as they came. A span our own sampler
    // leaves out does the same (below).
    span.ctx_ = parent;
    span.ctx_.remote = false;
    return span;
  }
  span.ctx_.trace_id = has_parent ? parent.trace_id : ids_->new_trace_id();
  span.ctx_.span_id = ids_->new_span_id();
  if (has_parent) span.ctx_.trace_state = parent.trace_state;
  span.ctx_.remote = false;

  bool sampled;
  if (!options_.enabled) {
    sampled = has_parent && parent.sampled();  // pass the caller's decision through untouched
  } else {
    sampled = sampler_.should_sample(has_parent ? &parent : nullptr, span.ctx_.trace_id);
  }
  if (!sampled && has_parent) {
    // Left out by our sampler: we record nothing, so we are not a hop in the caller's trace. The
    // caller's context goes on as it came (span id, flags, tracestate), so a platform that samples
    // its agents keeps its decision and its parent link through us (docs/observability.md#trace-propagation).
    span.ctx_ = parent;
    span.ctx_.remote = false;
    return span;
  }
  span.ctx_.flags = sampled ? kFlagSampled : 0;
  if (!sampled || !options_.enabled) return span;

  auto data = std::make_unique<SpanData>();
  data->trace_id = span.ctx_.trace_id;
  data->span_id = span.ctx_.span_id;
  if (has_parent) {
    data->parent_span_id = parent.span_id;
    data->parent_remote = parent.remote;
    data->trace_state = parent.trace_state.to_header();
  }
  data->trace_flags = span.ctx_.flags;
  data->name = std::move(name);
  data->kind = kind;
  data->start_unix_nano = start_unix_nano;
  data->attributes.reserve(attributes.size());
  span.data_ = std::move(data);
  span.set_attributes(std::move(attributes));
  return span;
}

void Tracer::finish(SpanData&& data) {
  if (options_.debug_out != nullptr) {
    std::string line;
    append_span_json(line, data);
    line += '\n';
    std::lock_guard lock(debug_mu_);
    std::fwrite(line.data(), 1, line.size(), options_.debug_out);
    std::fflush(options_.debug_out);
  }
  if (processor_ != nullptr) processor_->on_end(std::move(data));
}

}  // namespace taskman::tracing
