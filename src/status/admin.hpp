#pragma once
// The admin actions' pure rules: who may call them (loopback, or a bearer token of the service),
// and what their bodies mean. Envoy's admin interface and Hystrix's dashboard are the model:
// read-only views, mutations POST-only, nothing reachable from outside without a credential.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace taskman::status {

// 127.0.0.0/8, ::1, and those two mapped into IPv6 (::ffff:127.x.y.z). An empty address (unknown)
// is not loopback.
bool is_loopback(std::string_view address);

struct AdminCaller {
  bool allowed = false;
  int status = 200;    // 401 (no or a wrong token) or 403 (no token can help) when refused
  std::string reason;  // why refused, for the problem detail
  std::string who;     // "loopback" or "<tokens_var>[i]": the token's place in the list, never the token
};

// Loopback callers are admitted without a token; a caller that presents one anyway must present a
// valid one. Anyone else needs "Authorization: Bearer <one of tokens>" (compared in constant time);
// with no tokens configured, non-loopback callers are refused 403.
AdminCaller authorize_admin(std::string_view remote_address, std::optional<std::string_view> authorization,
                            const std::vector<std::string>& tokens, std::string_view tokens_var);

enum class BreakerCommand { kOpen, kClosed, kAuto };
const char* breaker_command_name(BreakerCommand c);  // "open" | "closed" | "auto"

// The action bodies. Errors are kInvalidArgument naming the field ("mode", "pattern", "level",
// or "body" when it is not a JSON object). An empty body counts as {}.
Result<BreakerCommand> parse_breaker_body(std::string_view body);
// {"pattern":"/tasks/*"} (a glob over cache keys, the API base path stripped) or {} / {"all":true}
// for everything: the pattern "*".
Result<std::string> parse_purge_body(std::string_view body);
// {"level":"debug"}: trace|debug|info|warn|error|off, case-insensitive; returns it lower-cased.
Result<std::string> parse_log_level_body(std::string_view body);
// {} or an empty body.
Status parse_empty_body(std::string_view body);

}  // namespace taskman::status
