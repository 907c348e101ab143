#pragma once
// base64url (RFC 4648 §5) without padding: safe in URLs and query strings as is.
#include <optional>
#include <string>
#include <string_view>

namespace taskman {

std::string base64url_encode(std::string_view bytes);
// nullopt when `text` has a character outside the alphabet or an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace taskman
