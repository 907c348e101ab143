#pragma once
// W3C Trace Context (https://www.w3.org/TR/trace-context/): the ids a span carries, the
// traceparent/tracestate headers, and extraction from HTTP headers and MCP params._meta.
// Everything here is pure and thread-safe; malformed input from outside is never trusted
// (docs/observability.md#trace-propagation, docs/security.md#input-validation): a traceparent that fails any
// rule yields nullopt and the caller starts a new trace.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace taskman::tracing {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;

inline constexpr std::uint8_t kFlagSampled = 0x01;

bool is_zero(std::span<const std::uint8_t> id);
// Lowercase hex (the form used by traceparent, OTLP/JSON and log correlation fields).
std::string to_hex(std::span<const std::uint8_t> id);
// Exactly 2*out.size() lowercase hex digits; false otherwise (uppercase is rejected: W3C §3.2.2.3).
bool from_hex(std::string_view hex, std::span<std::uint8_t> out);

// An ordered tracestate list (W3C §3.3). Keys are unique; the leftmost entry is the most recent.
class TraceState {
 public:
  static constexpr std::size_t kMaxMembers = 32;
  static constexpr std::size_t kPropagateChars = 512;  // §3.3.1.5: propagate at least 512 chars
  static constexpr std::size_t kLongEntryChars = 128;  // §3.3.1.5: entries > 128 chars go first

  // Parses one or more tracestate header values (several headers combine as if joined with ',',
  // RFC 9110 §5.3). nullopt when any member breaks a rule, a key repeats, or there are more than
  // 32 members: the whole header is then discarded (§3.3.1.3), while traceparent is kept.
  static std::optional<TraceState> parse(std::span<const std::string_view> values);
  static std::optional<TraceState> parse(std::string_view value);

  static bool valid_key(std::string_view key);
  static bool valid_value(std::string_view value);

  // Adds or updates `key` and moves it to the front (§3.5); drops the rightmost member when the list
  // would exceed 32. False (and no change) when the key or value is invalid.
  bool put(std::string_view key, std::string_view value);
  void erase(std::string_view key);
  std::optional<std::string_view> get(std::string_view key) const;

  // The header value, truncated to at most `limit` characters by removing whole members: those over
  // 128 characters first (rightmost first), then from the right (§3.3.1.5).
  std::string to_header(std::size_t limit = kPropagateChars) const;

  bool empty() const { return members_.empty(); }
  std::size_t size() const { return members_.size(); }
  const std::vector<std::pair<std::string, std::string>>& members() const { return members_; }
  bool operator==(const TraceState&) const = default;

 private:
  std::vector<std::pair<std::string, std::string>> members_;
};

// The propagated part of a span: what crosses process boundaries.
struct SpanContext {
  TraceId trace_id{};
  SpanId span_id{};
  std::uint8_t flags = 0;  // as received; only the sampled bit is emitted (W3C §3.2.2.5)
  TraceState trace_state;
  bool remote = false;  // extracted from a header or _meta rather than created here

  bool valid() const { return !is_zero(trace_id) && !is_zero(span_id); }
  bool sampled() const { return (flags & kFlagSampled) != 0; }
  std::string trace_id_hex() const { return to_hex(trace_id); }
  std::string span_id_hex() const { return to_hex(span_id); }
};

// One traceparent header value. Rules (W3C §3.2, docs/observability.md#trace-propagation): surrounding
// spaces/tabs tolerated; lowercase hex only; version ff invalid; version 00 is exactly 55 characters; a
// higher version is parsed as 00 when the flags are followed by '-' or the end; all-zero ids invalid.
std::optional<SpanContext> parse_traceparent(std::string_view value);
// Every value of the traceparent header as received: anything but exactly one is invalid (§3.2:
// two traceparent headers → start a new trace).
std::optional<SpanContext> parse_traceparent(std::span<const std::string_view> values);
// "00-<trace>-<span>-<flags>", flags reduced to the sampled bit.
std::string format_traceparent(const SpanContext& ctx);

// Incoming context from header values: nullopt when traceparent is invalid (then tracestate is not
// even parsed, §3.3.1.1); an invalid tracestate is dropped while traceparent is kept. remote=true.
std::optional<SpanContext> extract(std::span<const std::string_view> traceparent_values,
                                   std::span<const std::string_view> tracestate_values);

// Headers to send downstream: traceparent always, tracestate when non-empty (truncated to 512).
std::vector<std::pair<std::string, std::string>> inject(const SpanContext& ctx);

// MCP carries context in params._meta.traceparent / tracestate (docs/observability.md#trace-propagation "W3C
// Trace Context"). `params` is the JSON-RPC params value (any JSON type; non-objects yield nullopt). A _meta
// member that is not a string counts as absent.
std::optional<SpanContext> extract_from_mcp_params(const nlohmann::json& params);
// Writes traceparent (and tracestate when non-empty) into `meta` (made an object if it is null).
void inject_into_mcp_meta(const SpanContext& ctx, nlohmann::json& meta);

}  // namespace taskman::tracing
