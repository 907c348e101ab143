#pragma once
// The OpenTelemetry span data model (the subset taskman records): what a finished span hands to the
// processor and the OTLP encoders. Plain values, no behaviour; safe to move across threads.
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tracing/trace_context.hpp"

namespace taskman::tracing {

using AttributeValue = std::variant<std::string, bool, std::int64_t, double>;

struct Attribute {
  std::string key;
  AttributeValue value;

  // Explicit overloads so a string literal never becomes a bool and any integer becomes int64.
  Attribute(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  Attribute(std::string_view k, const std::string& v) : key(k), value(v) {}
  Attribute(std::string_view k, std::string&& v) : key(k), value(std::move(v)) {}
  Attribute(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  Attribute(std::string_view k, bool v) : key(k), value(v) {}
  Attribute(std::string_view k, double v) : key(k), value(v) {}
  template <std::integral I>
  requires(!std::same_as<I, bool>) Attribute(std::string_view k, I v)
      : key(k), value(static_cast<std::int64_t>(v)) {}
  Attribute(std::string_view k, AttributeValue v) : key(k), value(std::move(v)) {}
  bool operator==(const Attribute&) const = default;
};
using Attributes = std::vector<Attribute>;

// Values match OTLP's Span.SpanKind (the OTLP specification).
enum class SpanKind : int { kInternal = 1, kServer = 2, kClient = 3 };
// Values match OTLP's Status.StatusCode.
enum class StatusCode : int { kUnset = 0, kOk = 1, kError = 2 };

struct SpanEvent {
  std::string name;
  std::uint64_t time_unix_nano = 0;
  Attributes attributes;
};

struct SpanData {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // all zero: a root span
  bool parent_remote = false;
  std::string trace_state;  // tracestate header form, "" when none
  std::uint8_t trace_flags = 0;
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  std::uint64_t start_unix_nano = 0;
  std::uint64_t end_unix_nano = 0;
  Attributes attributes;
  std::vector<SpanEvent> events;
  StatusCode status = StatusCode::kUnset;
  std::string status_message;  // only meaningful with kError

  bool has_parent() const { return !is_zero(parent_span_id); }
};

}  // namespace taskman::tracing
