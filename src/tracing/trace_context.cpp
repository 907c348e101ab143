#include "tracing/trace_context.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace taskman::tracing {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is not accepted anywhere in trace context (W3C §3.2.2)
}

// HTTP optional whitespace (RFC 9110 §5.6.3): spaces and horizontal tabs.
std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_lcalpha(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_key_char(char c) {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

}  // namespace

bool is_zero(std::span<const std::uint8_t> id) {
  return std::all_of(id.begin(), id.end(), [](std::uint8_t b) { return b == 0; });
}

std::string to_hex(std::span<const std::uint8_t> id) {
  std::string out(id.size() * 2, '0');
  for (std::size_t i = 0; i < id.size(); ++i) {
    out[2 * i] = kHexDigits[id[i] >> 4];
    out[2 * i + 1] = kHexDigits[id[i] & 0x0f];
  }
  return out;
}

bool from_hex(std::string_view hex, std::span<std::uint8_t> out) {
  if (hex.size() != out.size() * 2) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

// ---- tracestate ----

// Key grammar (W3C trace-context §3.3.1.3.1; level 2 lets a simple key start with a digit):
//   simple-key       = (lcalpha / DIGIT) 0*255 key-char
//   multi-tenant-key = tenant-id "@" system-id
//   tenant-id        = (lcalpha / DIGIT) 0*240 key-char
//   system-id        = lcalpha 0*13 key-char
bool TraceState::valid_key(std::string_view key) {
  const auto at = key.find('@');
  auto valid_part = [](std::string_view part, std::size_t max_len, bool allow_digit_first) {
    if (part.empty() || part.size() > max_len) return false;
    if (!is_lcalpha(part[0]) && !(allow_digit_first && is_digit(part[0]))) return false;
    return std::all_of(part.begin() + 1, part.end(), is_key_char);
  };
  if (at == std::string_view::npos) return valid_part(key, 256, true);
  return valid_part(key.substr(0, at), 241, true) && valid_part(key.substr(at + 1), 14, false);
}

// value = 0*255 chr nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E; chr = %x20 / nblk-chr
// (printable ASCII without ',' and '=', not ending in a space: §3.3.1.3.2).
bool TraceState::valid_value(std::string_view value) {
  if (value.empty() || value.size() > 256) return false;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  }
  return value.back() != ' ';
}

std::optional<TraceState> TraceState::parse(std::span<const std::string_view> values) {
  TraceState out;
  for (std::string_view value : values) {
    std::size_t pos = 0;
    while (pos <= value.size()) {
      const auto comma = value.find(',', pos);
      const auto end = comma == std::string_view::npos ? value.size() : comma;
      const std::string_view member = trim_ows(value.substr(pos, end - pos));
      pos = end + 1;
      if (member.empty()) continue;  // empty list members are allowed and ignored (§3.3.1.1)
      const auto eq = member.find('=');
      if (eq == std::string_view::npos) return std::nullopt;
      const std::string_view key = member.substr(0, eq);
      const std::string_view val = member.substr(eq + 1);
      if (!valid_key(key) || !valid_value(val)) return std::nullopt;
      if (out.get(key)) return std::nullopt;  // duplicate keys make the header invalid (§3.3.1.3)
      if (out.members_.size() == kMaxMembers) return std::nullopt;
      out.members_.emplace_back(std::string(key), std::string(val));
    }
  }
  return out;
}

std::optional<TraceState> TraceState::parse(std::string_view value) {
  const std::string_view one[] = {value};
  return parse(one);
}

bool TraceState::put(std::string_view key, std::string_view value) {
  if (!valid_key(key) || !valid_value(value)) return false;
  erase(key);
  members_.insert(members_.begin(), {std::string(key), std::string(value)});
  if (members_.size() > kMaxMembers) members_.pop_back();
  return true;
}

void TraceState::erase(std::string_view key) {
  std::erase_if(members_, [&](const auto& m) { return m.first == key; });
}

std::optional<std::string_view> TraceState::get(std::string_view key) const {
  for (const auto& m : members_) {
    if (m.first == key) return m.second;
  }
  return std::nullopt;
}

std::string TraceState::to_header(std::size_t limit) const {
  std::vector<const std::pair<std::string, std::string>*> kept;
  kept.reserve(members_.size());
  for (const auto& m : members_) kept.push_back(&m);
  auto entry_len = [](const auto* m) { return m->first.size() + 1 + m->second.size(); };
  auto total = [&] {
    std::size_t n = kept.empty() ? 0 : kept.size() - 1;  // commas
    for (const auto* m : kept) n += entry_len(m);
    return n;
  };
  // §3.3.1.5: remove whole entries, those longer than 128 characters first, then from the end.
  for (std::size_t i = kept.size(); i-- > 0 && total() > limit;) {
    if (entry_len(kept[i]) > kLongEntryChars) kept.erase(kept.begin() + static_cast<std::ptrdiff_t>(i));
  }
  while (!kept.empty() && total() > limit) kept.pop_back();
  std::string out;
  for (const auto* m : kept) {
    if (!out.empty()) out += ',';
    out += m->first;
    out += '=';
    out += m->second;
  }
  return out;
}

// ---- traceparent ----

std::optional<SpanContext> parse_traceparent(std::string_view value) {
  value = trim_ows(value);
  // version "-" trace-id "-" parent-id "-" trace-flags: 2+1+32+1+16+1+2 = 55 characters.
  constexpr std::size_t kLength = 55;
  if (value.size() < kLength) return std::nullopt;
  const int v_hi = hex_value(value[0]);
  const int v_lo = hex_value(value[1]);
  if (v_hi < 0 || v_lo < 0) return std::nullopt;
  const int version = v_hi << 4 | v_lo;
  if (version == 0xff) return std::nullopt;  // §3.2.2.1: version ff is forbidden
  if (version == 0x00) {
    if (value.size() != kLength) return std::nullopt;  // §3.2.4: nothing may follow version 00's flags
  } else if (value.size() > kLength && value[kLength] != '-') {
    // §3.2.4: a future version is read as 00 only when the flags are followed by '-' or the end.
    return std::nullopt;
  }
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  SpanContext ctx;
  if (!from_hex(value.substr(3, 32), ctx.trace_id)) return std::nullopt;
  if (!from_hex(value.substr(36, 16), ctx.span_id)) return std::nullopt;
  std::uint8_t flags[1];
  if (!from_hex(value.substr(53, 2), flags)) return std::nullopt;
  if (!ctx.valid()) return std::nullopt;  // §3.2.2.3/4: all-zero ids are invalid
  ctx.flags = flags[0];
  ctx.remote = true;
  return ctx;
}

std::optional<SpanContext> parse_traceparent(std::span<const std::string_view> values) {
  if (values.size() != 1) return std::nullopt;
  return parse_traceparent(values[0]);
}

std::string format_traceparent(const SpanContext& ctx) {
  std::string out;
  out.reserve(55);
  out += "00-";
  out += to_hex(ctx.trace_id);
  out += '-';
  out += to_hex(ctx.span_id);
  out += ctx.sampled() ? "-01" : "-00";
  return out;
}

std::optional<SpanContext> extract(std::span<const std::string_view> traceparent_values,
                                   std::span<const std::string_view> tracestate_values) {
  auto ctx = parse_traceparent(traceparent_values);
  if (!ctx) return std::nullopt;
  if (auto state = TraceState::parse(tracestate_values)) ctx->trace_state = std::move(*state);
  return ctx;
}

std::vector<std::pair<std::string, std::string>> inject(const SpanContext& ctx) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!ctx.valid()) return out;
  out.emplace_back("traceparent", format_traceparent(ctx));
  if (!ctx.trace_state.empty()) {
    if (auto state = ctx.trace_state.to_header(); !state.empty())
      out.emplace_back("tracestate", std::move(state));
  }
  return out;
}

std::optional<SpanContext> extract_from_mcp_params(const nlohmann::json& params) {
  if (!params.is_object()) return std::nullopt;
  const auto meta = params.find("_meta");
  if (meta == params.end() || !meta->is_object()) return std::nullopt;
  const auto tp = meta->find("traceparent");
  if (tp == meta->end() || !tp->is_string()) return std::nullopt;
  const std::string_view tp_value = tp->get_ref<const std::string&>();
  const std::string_view tp_values[] = {tp_value};
  std::vector<std::string_view> ts_values;
  if (const auto ts = meta->find("tracestate"); ts != meta->end() && ts->is_string()) {
    ts_values.push_back(ts->get_ref<const std::string&>());
  }
  return extract(tp_values, ts_values);
}

void inject_into_mcp_meta(const SpanContext& ctx, nlohmann::json& meta) {
  if (!ctx.valid()) return;
  if (meta.is_null()) meta = nlohmann::json::object();
  if (!meta.is_object()) return;
  for (auto& [name, value] : inject(ctx)) meta[name] = std::move(value);
}

}  // namespace taskman::tracing
