#include "core/encoding.hpp"

namespace taskman {
namespace {

constexpr char kLowerHex[] = "0123456789abcdef";
constexpr char kUpperHex[] = "0123456789ABCDEF";

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

}  // namespace

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_hex_byte(std::string& out, unsigned char byte, bool upper) {
  const char* digits = upper ? kUpperHex : kLowerHex;
  out += digits[byte >> 4];
  out += digits[byte & 0xF];
}

std::string hex_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) append_hex_byte(out, static_cast<unsigned char>(c));
  return out;
}

bool percent_decode(std::string_view s, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return false;
      const int hi = hex_digit_value(s[i + 1]);
      const int lo = hex_digit_value(s[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return true;
}

std::string normalize_percent_escapes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const int hi = s[i] == '%' && i + 2 < s.size() ? hex_digit_value(s[i + 1]) : -1;
    const int lo = hi >= 0 ? hex_digit_value(s[i + 2]) : -1;
    if (lo < 0) {
      out += s[i];
      continue;
    }
    const auto c = static_cast<unsigned char>(hi * 16 + lo);
    if (is_unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      append_hex_byte(out, c, true);
    }
    i += 2;
  }
  return out;
}

}  // namespace taskman
