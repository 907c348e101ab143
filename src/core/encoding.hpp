#pragma once
// Hex and percent-encoding (RFC 3986 §2.1), written once for every layer: ids, digests, query
// strings, cache keys.
#include <string>
#include <string_view>

namespace taskman {

// The value of one hex digit (either case), or -1.
int hex_digit_value(char c);
// Appends the two hex digits of `byte` (lowercase unless `upper`).
void append_hex_byte(std::string& out, unsigned char byte, bool upper = false);
// Lowercase hex of every byte of `bytes`.
std::string hex_encode(std::string_view bytes);

// Decodes %XX escapes ('+' is a space when `plus_is_space`, as in form-encoded query strings);
// false on a malformed escape (a '%' without two hex digits after it).
bool percent_decode(std::string_view s, std::string& out, bool plus_is_space = false);
// RFC 3986 §6.2.2.1-2 normalisation: escaped unreserved characters are decoded (%7e -> ~), other
// escapes get uppercase hex (%2f -> %2F); a malformed escape is kept as it is.
std::string normalize_percent_escapes(std::string_view s);

}  // namespace taskman
