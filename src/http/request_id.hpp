#pragma once
#include <string>
#include <string_view>

namespace taskman::http {

// SPEC §6: an incoming X-Request-ID is kept when it matches ^[A-Za-z0-9._:+/=-]{1,128}$.
bool valid_request_id(std::string_view id);
// A fresh id: 32 lowercase hex characters from a CSPRNG.
std::string new_request_id();

// Percent-decodes `s` ('+' is a space when `plus_is_space`); false on a malformed escape.
bool percent_decode(std::string_view s, std::string& out, bool plus_is_space);

}  // namespace taskman::http
