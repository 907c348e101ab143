#include "status/admin.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "core/text.hpp"

namespace taskman::status {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxPattern = 512;

bool ipv4_loopback(std::string_view a) {
  if (!a.starts_with("127.")) return false;
  int dots = 0;
  for (char c : a) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dots == 3;
}

bool token_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The body as an object whose members are all in `allowed`; {} for an empty body.
Result<Json> object_body(std::string_view body, std::initializer_list<std::string_view> allowed,
                         std::string_view example) {
  const std::string example_text = "the body must be a JSON object like " + std::string(example);
  if (std::all_of(body.begin(), body.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
    return Json::object();
  }
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error::invalid("body", example_text);
  for (const auto& [key, v] : j.items()) {
    (void)v;
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string known;
      for (auto a : allowed) known += (known.empty() ? "" : ", ") + std::string(a);
      return Error::invalid(
          key, "is not a field of this action (known: " + (known.empty() ? "none" : known) + ")");
    }
  }
  return j;
}

}  // namespace

bool is_loopback(std::string_view a) {
  if (a == "::1" || a == "0:0:0:0:0:0:0:1") return true;
  for (std::string_view mapped : {"::ffff:", "::FFFF:"}) {
    if (a.starts_with(mapped)) return ipv4_loopback(a.substr(mapped.size()));
  }
  return ipv4_loopback(a);
}

AdminCaller authorize_admin(std::string_view remote, std::optional<std::string_view> authorization,
                            const std::vector<std::string>& tokens, std::string_view tokens_var) {
  AdminCaller c;
  const bool loopback = is_loopback(remote);
  if (authorization) {
    std::string_view h = *authorization;
    if (h.size() > 7 && iequals(h.substr(0, 7), "Bearer ")) {
      const std::string_view presented = h.substr(7);
      // Every token is compared, so the time taken does not say which one (or whether any) matched.
      std::optional<std::size_t> match;
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (token_equal(presented, tokens[i]) && !match) match = i;
      }
      if (match) {
        c.allowed = true;
        c.who = std::string(tokens_var) + "[" + std::to_string(*match) + "]";
        return c;
      }
    }
    c.status = 401;
    c.reason = tokens.empty() ? "this service has no bearer tokens (" + std::string(tokens_var) +
                                    " is unset), so none can be accepted; call from loopback without one"
                              : "the bearer token is not one of " + std::string(tokens_var);
    return c;
  }
  if (loopback) {
    c.allowed = true;
    c.who = "loopback";
    return c;
  }
  if (tokens.empty()) {
    c.status = 403;
    c.reason = "admin actions and the status page are served to loopback callers only (set " +
               std::string(tokens_var) + " to allow others with a bearer token)";
    return c;
  }
  c.status = 401;
  c.reason = "a bearer token of " + std::string(tokens_var) + " is required from a non-loopback address";
  return c;
}

const char* breaker_command_name(BreakerCommand c) {
  switch (c) {
    case BreakerCommand::kOpen:
      return "open";
    case BreakerCommand::kClosed:
      return "closed";
    case BreakerCommand::kAuto:
      return "auto";
  }
  return "auto";
}

Result<BreakerCommand> parse_breaker_body(std::string_view body) {
  auto j = object_body(body, {"mode"}, R"({"mode":"open"})");
  if (!j) return j.take_error();
  const std::string rule = "must be one of open, closed, auto";
  if (!j->contains("mode")) return Error::invalid("mode", "is required: " + rule);
  const Json& m = (*j)["mode"];
  if (!m.is_string()) return Error::invalid("mode", rule);
  const std::string v = to_lower(m.get<std::string>());
  if (v == "open") return BreakerCommand::kOpen;
  if (v == "closed") return BreakerCommand::kClosed;
  if (v == "auto") return BreakerCommand::kAuto;
  return Error::invalid("mode", rule + " (got \"" + m.get<std::string>().substr(0, 40) + "\")");
}

Result<std::string> parse_purge_body(std::string_view body) {
  auto j = object_body(body, {"pattern", "all"}, R"({"pattern":"/tasks/*"} or {"all":true})");
  if (!j) return j.take_error();
  if (j->contains("all")) {
    const Json& a = (*j)["all"];
    if (!a.is_boolean() || !a.get<bool>()) return Error::invalid("all", "must be true (or leave it out)");
    if (j->contains("pattern")) return Error::invalid("pattern", "give either pattern or all, not both");
    return std::string("*");
  }
  if (!j->contains("pattern")) return std::string("*");
  const Json& p = (*j)["pattern"];
  if (!p.is_string() || p.get<std::string>().empty()) {
    return Error::invalid("pattern", "must be a non-empty string, a glob over cache keys like /tasks/*");
  }
  const std::string pattern = p.get<std::string>();
  if (pattern.size() > kMaxPattern) {
    return Error::invalid("pattern", "must be at most " + std::to_string(kMaxPattern) + " characters");
  }
  return pattern;
}

Result<std::string> parse_log_level_body(std::string_view body) {
  auto j = object_body(body, {"level"}, R"({"level":"debug"})");
  if (!j) return j.take_error();
  const std::string rule = "must be one of trace, debug, info, warn, error, off";
  if (!j->contains("level")) return Error::invalid("level", "is required: " + rule);
  const Json& l = (*j)["level"];
  if (!l.is_string()) return Error::invalid("level", rule);
  const std::string v = to_lower(l.get<std::string>());
  for (const char* ok : {"trace", "debug", "info", "warn", "error", "off"}) {
    if (v == ok) return v;
  }
  return Error::invalid("level", rule + " (got \"" + l.get<std::string>().substr(0, 40) + "\")");
}

Status parse_empty_body(std::string_view body) {
  auto j = object_body(body, {}, "{}");
  if (!j) return j.take_error();
  return {};
}

}  // namespace taskman::status
