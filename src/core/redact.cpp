#include "core/redact.hpp"

namespace taskman {

std::string redact_url(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const auto authority_begin = scheme + 3;
  // The authority ends at the first '/', '?' or '#' (RFC 3986 §3.2); a '@' after it is path data.
  const auto authority_end = url.find_first_of("/?#", authority_begin);
  const auto authority =
      url.substr(authority_begin, authority_end == std::string_view::npos ? std::string_view::npos
                                                                          : authority_end - authority_begin);
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, authority_begin)) + "REDACTED" +
         std::string(url.substr(authority_begin + at));
}

}  // namespace taskman
