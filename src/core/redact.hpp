#pragma once
// Credentials never reach a log line: every place that logs or prints a URL from the configuration
// (DATABASE_URL above all) passes it through here first.
#include <string>
#include <string_view>

namespace taskman {

// "postgres://user:secret@host/db" -> "postgres://REDACTED@host/db". Only the userinfo of the
// authority is replaced; URLs without one ("sqlite:data/a@b.db", "http://host/p@th") are unchanged.
std::string redact_url(std::string_view url);

}  // namespace taskman
