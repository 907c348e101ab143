#pragma once
// Small text utilities shared by every layer: JSON string escaping that always yields valid
// JSON (invalid UTF-8 becomes U+FFFD), RFC 3339 timestamps, random ids.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace taskman {

// Appends `s` to `out` as the inside of a JSON string: quotes, backslashes and every control
// character escaped, invalid UTF-8 replaced by U+FFFD. The result never contains a raw newline.
void append_json_escaped(std::string& out, std::string_view s);
std::string json_quote(std::string_view s);

// The deepest array/object nesting taken from outside. Copying or printing a JSON value recurses once
// per level, so a body of a million '[' overflowed a thread's stack and killed the server.
inline constexpr std::size_t kMaxJsonDepth = 64;
// True when `text` opens more than `max_depth` arrays/objects inside each other (strings and their
// escapes are skipped; the text need not be valid JSON). A cheap scan to run before parsing.
bool json_nesting_exceeds(std::string_view text, std::size_t max_depth = kMaxJsonDepth);

// RFC 3339 UTC with milliseconds: 2026-11-27T02:45:48.123Z
std::string format_rfc3339_ms(std::chrono::system_clock::time_point t);
// RFC 3339 parse (any offset, optional fraction); nullopt when malformed or outside what system_clock
// can hold (years 1678 to 2261).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s);

// Lowercase hex of `n` cryptographically random bytes (OpenSSL RAND_bytes).
std::string random_hex(std::size_t n_bytes);

std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view s);

}  // namespace taskman
