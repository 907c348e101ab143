#pragma once
// Small checks shared by body validation and query parsing (internal to src/tasks).
#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/text.hpp"
#include "tasks/limits.hpp"
#include "tasks/types.hpp"

namespace taskman::tasks::detail {

// Code points, not bytes: the limits are about text a person reads.
inline std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

inline bool blank(std::string_view s) { return trim(s).empty(); }

inline std::string range_text(LengthRange r) { return std::to_string(r.min) + ".." + std::to_string(r.max); }

// "a, b, c" for "must be one of ..." messages.
template <typename Names>
std::string joined(const Names& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// "a, b or c".
template <typename Names>
std::string joined_or(const Names& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

inline std::optional<TimeMs> parse_time_ms(std::string_view s) {
  auto t = parse_rfc3339(s);
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

inline std::optional<std::int64_t> parse_i64(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace taskman::tasks::detail
