#include "config/config.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/enum_table.hpp"
#include "core/redact.hpp"
#include "core/text.hpp"
#include "store/store.hpp"

extern char** environ;

namespace taskman::config {
namespace {

// clang-format off
const std::vector<Var> kSchema = {
  {"APP_ENV", Type::kEnum, "development", "Deployment environment; production turns tracing on by default.", 0, 0, "development|production|test"},
  {"HOST", Type::kHost, "127.0.0.1", "Address the MCP HTTP server binds."},
  {"PORT", Type::kPort, "3000", "Port of the MCP HTTP server (0 picks a free port)."},
  {"API_HOST", Type::kHost, "127.0.0.1", "Address the backend API binds."},
  {"API_PORT", Type::kPort, "3001", "Port of the backend API (0 picks a free port)."},
  {"DATABASE_URL", Type::kDatabaseUrl, "sqlite:data/taskman.db", "Backend database: sqlite:<path> or postgres://user:password@host:port/db (libpq's PG* variables apply)."},
  {"TASK_MANAGER_API_ENDPOINT", Type::kUrl, "http://localhost:3001/api/v1", "Backend base URL the MCP server calls."},
  {"LOG_LEVEL", Type::kEnum, "info", "Least severe level written.", 0, 0, "trace|debug|info|warn|error|off"},
  {"LOG_FORMAT", Type::kEnum, "json", "json: one JSON object per line; pretty: for humans.", 0, 0, "json|pretty"},
  {"SHUTDOWN_TIMEOUT_MS", Type::kInt, "10000", "How long a graceful shutdown waits for in-flight requests.", 0, 600000},
  {"MAX_BODY_BYTES", Type::kInt, "1048576", "Largest request body accepted (larger: 413).", 1024, 67108864},
  {"MAX_HEADER_BYTES", Type::kInt, "16384", "Largest request header block accepted (larger: 431).", 1024, 1048576},
  {"HTTP_READ_TIMEOUT_MS", Type::kInt, "10000", "Time allowed to receive a whole request once it started (slowloris guard).", 100, 600000},
  {"HTTP_IDLE_TIMEOUT_MS", Type::kInt, "60000", "How long an idle keep-alive connection is kept.", 100, 3600000},
  {"ENABLE_METRICS", Type::kBool, "true", "Serve Prometheus metrics on /metrics."},
  {"ENABLE_TRACING", Type::kBool, "", "Export OpenTelemetry traces (default: true when APP_ENV=production)."},
  {"OTEL_EXPORTER_OTLP_ENDPOINT", Type::kUrl, "http://localhost:4318/v1/traces", "OTLP/HTTP collector; /v1/traces is appended unless already there."},
  {"OTEL_DEBUG", Type::kBool, "false", "Print finished spans to stderr."},
  {"CIRCUIT_BREAKER_ENABLED", Type::kBool, "true", "Guard backend calls with a circuit breaker."},
  {"CIRCUIT_BREAKER_ERROR_THRESHOLD", Type::kInt, "50", "Error percentage in the window at which the breaker opens.", 1, 100},
  {"CIRCUIT_BREAKER_RESET_TIMEOUT_MS", Type::kInt, "30000", "How long the breaker stays open before a probe.", 1, 3600000},
  {"CIRCUIT_BREAKER_VOLUME_THRESHOLD", Type::kInt, "10", "Calls needed in the window before the breaker may open.", 0, 1000000},
  {"CIRCUIT_BREAKER_ROLLING_WINDOW_MS", Type::kInt, "10000", "Length of the breaker's rolling window (10 buckets).", 10, 3600000},
  {"FALLBACK_CACHE_ENABLED", Type::kBool, "true", "Serve cached reads while the backend fails."},
  {"FALLBACK_CACHE_MAX_SIZE", Type::kInt, "1000", "Entries kept in the fallback cache.", 1, 1000000},
  {"FALLBACK_CACHE_TTL_MS", Type::kInt, "300000", "Oldest cached answer the fallback may serve.", 1, 86400000},
  {"BACKEND_TIMEOUT_MS", Type::kInt, "30000", "Per-attempt timeout of a backend call.", 1, 600000},
  {"BACKEND_MAX_RETRIES", Type::kInt, "3", "Retries of an idempotent backend call.", 0, 10},
  {"BACKEND_MAX_CONCURRENCY", Type::kInt, "100", "Backend calls in flight at once; excess is rejected at once.", 1, 100000},
  {"MCP_ALLOWED_ORIGINS", Type::kOrigins, "", "Extra Origins allowed on /mcp (comma-separated; localhost is always allowed)."},
  {"MCP_AUTH_TOKENS", Type::kTokens, "", "Bearer tokens accepted on /mcp (comma-separated, 16+ chars each).", 0, 0, {}, true},
  {"API_KEYS", Type::kTokens, "", "Bearer tokens accepted on /api/v1 (comma-separated, 16+ chars each).", 0, 0, {}, true},
  {"MCP_SESSION_TTL_MS", Type::kInt, "3600000", "Idle time after which an MCP session expires.", 1000, 604800000},
  {"MCP_MAX_SESSIONS", Type::kInt, "10000", "Most MCP sessions open at once.", 1, 1000000},
  {"MCP_READ_ONLY", Type::kBool, "false", "Expose only read-only tools."},
  {"MCP_STATELESS", Type::kBool, "false", "Streamable HTTP without sessions, so any instance behind a load balancer can answer any request (GET/DELETE /mcp: 405)."},
  {"TRACE_UI_URL", Type::kLinkUrl, "", "Trace view the status page links trace ids to; a trace_id placeholder in braces is replaced, else /trace/<id> is appended (Jaeger)."},
  {"TLS_CERT_FILE", Type::kFile, "", "PEM certificate chain of the MCP HTTP server; with TLS_KEY_FILE it serves HTTPS only. Reloaded on SIGHUP."},
  {"TLS_KEY_FILE", Type::kFile, "", "PEM private key of TLS_CERT_FILE."},
  {"API_TLS_CERT_FILE", Type::kFile, "", "PEM certificate chain of the backend API; with API_TLS_KEY_FILE it serves HTTPS only. Reloaded on SIGHUP."},
  {"API_TLS_KEY_FILE", Type::kFile, "", "PEM private key of API_TLS_CERT_FILE."},
  {"BACKEND_CA_FILE", Type::kFile, "", "PEM CA bundle that verifies an https:// TASK_MANAGER_API_ENDPOINT (default: the system store)."},
  {"BACKEND_CLIENT_CERT_FILE", Type::kFile, "", "PEM client certificate the MCP server presents to an https:// backend (mutual TLS)."},
  {"BACKEND_CLIENT_KEY_FILE", Type::kFile, "", "PEM private key of BACKEND_CLIENT_CERT_FILE."},
  {"OTEL_EXPORTER_OTLP_CERTIFICATE", Type::kFile, "", "PEM CA bundle that verifies an https:// collector (default: the system store); _TRACES_ form wins."},
  {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", Type::kFile, "", "PEM client certificate for an https:// collector; _TRACES_ form wins."},
  {"OTEL_EXPORTER_OTLP_CLIENT_KEY", Type::kFile, "", "PEM private key of the OTLP client certificate; _TRACES_ form wins."},
};

// Certificate and key variables that must be set together.
struct FilePair {
  std::string_view cert;
  std::string_view key;
};
constexpr FilePair kFilePairs[] = {
    {"TLS_CERT_FILE", "TLS_KEY_FILE"},
    {"API_TLS_CERT_FILE", "API_TLS_KEY_FILE"},
    {"BACKEND_CLIENT_CERT_FILE", "BACKEND_CLIENT_KEY_FILE"},
    {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_KEY"},
};
// Signal-specific forms read by the tracing layer (they win over the generic ones above).
constexpr std::string_view kTracesFileVars[] = {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
                                                "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
                                                "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY"};
// clang-format on

bool parse_int(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (*b == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && p == e;
}

bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  if (h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  for (char c : h) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':')) return false;
  }
  return true;
}

// scheme://host[:port][/path]: the subset of RFC 3986 a service endpoint needs.
bool valid_http_url(std::string_view u, bool allow_path) {
  std::string_view rest;
  if (u.starts_with("http://")) {
    rest = u.substr(7);
  } else if (u.starts_with("https://")) {
    rest = u.substr(8);
  } else {
    return false;
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos && !allow_path) return false;
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
  std::string_view host = authority;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(0, close + 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty()) {
      if (authority.front() != ':') return false;
      std::int64_t port;
      if (!parse_int(authority.substr(1), port) || port < 1 || port > 65535) return false;
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    std::int64_t port;
    if (!parse_int(authority.substr(colon + 1), port) || port < 1 || port > 65535) return false;
  }
  if (!valid_host(host)) return false;
  if (slash != std::string_view::npos) {
    for (char c : rest.substr(slash)) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '\\')
        return false;
    }
  }
  return true;
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const auto comma = s.find(',', pos);
    const auto item =
        trim(s.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace

const std::vector<Var>& schema() { return kSchema; }

const Var* find_var(std::string_view name) {
  for (const auto& v : kSchema) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

std::string flag_for(std::string_view name) {
  std::string out = "--";
  for (char c : name) out += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool parse_bool(std::string_view s, bool& out) {
  const std::string l = to_lower(s);
  if (l == "true" || l == "1" || l == "yes" || l == "on") {
    out = true;
    return true;
  }
  if (l == "false" || l == "0" || l == "no" || l == "off") {
    out = false;
    return true;
  }
  return false;
}

std::string describe_rule(const Var& var) {
  switch (var.type) {
    case Type::kString:
      return "a string";
    case Type::kInt:
      return "an integer from " + std::to_string(var.min) + " to " + std::to_string(var.max);
    case Type::kPort:
      return "a port number from 0 to 65535";
    case Type::kBool:
      return "true or false";
    case Type::kEnum:
      return "one of " + std::string(var.choices);
    case Type::kUrl:
      return "an http:// or https:// URL";
    case Type::kHost:
      return "a host name or IP address";
    case Type::kDatabaseUrl:
      return "sqlite:<path> or postgres://user:password@host:port/db";
    case Type::kOrigins:
      return "comma-separated origins like https://app.example.com";
    case Type::kTokens:
      return "comma-separated tokens of 16 or more printable characters without spaces";
    case Type::kLinkUrl:
      return "an http:// or https:// URL";
    case Type::kFile:
      return "the path of a readable file";
  }
  return "a value";
}

// A value as `config check` and errors show it: a database URL without its credentials.
std::string shown_value(const Var& var, std::string_view value) {
  return var.type == Type::kDatabaseUrl ? redact_url(value) : std::string(value);
}

std::optional<std::string> check_value(const Var& var, std::string_view value) {
  const std::string rule = "must be " + describe_rule(var);
  switch (var.type) {
    case Type::kString:
      return std::nullopt;
    case Type::kInt: {
      std::int64_t n;
      if (!parse_int(value, n) || n < var.min || n > var.max) return rule;
      return std::nullopt;
    }
    case Type::kPort: {
      std::int64_t n;
      if (!parse_int(value, n) || n < 0 || n > 65535) return rule;
      return std::nullopt;
    }
    case Type::kBool: {
      bool b;
      if (!parse_bool(value, b)) return rule;
      return std::nullopt;
    }
    case Type::kEnum: {
      const std::string l = to_lower(value);
      std::string_view choices = var.choices;
      while (!choices.empty()) {
        const auto bar = choices.find('|');
        if (choices.substr(0, bar) == l) return std::nullopt;
        if (bar == std::string_view::npos) break;
        choices.remove_prefix(bar + 1);
      }
      return rule;
    }
    case Type::kUrl:
      if (!valid_http_url(value, true)) return rule;
      return std::nullopt;
    case Type::kHost:
      if (!valid_host(value)) return rule;
      return std::nullopt;
    case Type::kDatabaseUrl:
      // The store refuses these too (a NUL would cut the URL short inside libpq or SQLite).
      for (char c : value) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return rule + " (no control characters)";
      }
      if (value.starts_with("sqlite:") && value.size() > 7) return std::nullopt;
      if ((value.starts_with("postgres://") || value.starts_with("postgresql://")) && value.size() > 13)
        return std::nullopt;
      return rule;
    case Type::kOrigins:
      for (const auto& item : split_list(value)) {
        if (!valid_http_url(item, false)) return rule + " (bad item: " + item + ")";
      }
      return std::nullopt;
    case Type::kTokens:
      for (const auto& item : split_list(value)) {
        if (item.size() < 16) return rule;
        for (char c : item) {
          if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return rule;
        }
      }
      return std::nullopt;
    case Type::kLinkUrl:
      if (!valid_http_url(value, true)) return rule;
      return std::nullopt;
    case Type::kFile:
      return std::nullopt;  // readability is checked with the rest of what this build can use
  }
  return rule;
}

const char* source_name(Source s) {
  static constexpr EnumName<Source> kNames[] = {{Source::kDefault, "default"},
                                                {Source::kEnvFile, ".env file"},
                                                {Source::kEnvironment, "environment"},
                                                {Source::kFlag, "flag"},
                                                {Source::kDerived, "derived"}};
  return enum_name(kNames, s, "default").data();  // the literals are NUL-terminated
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

Result<std::map<std::string, std::string>> parse_env_file(std::string_view text, std::string_view file_name) {
  std::map<std::string, std::string> out;
  std::vector<FieldError> errors;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("export ")) line = trim(line.substr(7));
    const auto where = std::string(file_name) + ":" + std::to_string(line_no);
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      errors.push_back({where, "expected KEY=VALUE"});
      continue;
    }
    const auto key = trim(line.substr(0, eq));
    bool key_ok = !key.empty() && !std::isdigit(static_cast<unsigned char>(key.front()));
    for (char c : key) key_ok = key_ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!key_ok) {
      errors.push_back({where, "invalid variable name"});
      continue;
    }
    std::string_view raw = trim(line.substr(eq + 1));
    std::string value;
    if (!raw.empty() && (raw.front() == '"' || raw.front() == '\'')) {
      const char q = raw.front();
      std::size_t i = 1;
      bool closed = false;
      for (; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == q) {
          closed = true;
          break;
        }
        if (q == '"' && c == '\\' && i + 1 < raw.size()) {
          const char n = raw[++i];
          value += n == 'n' ? '\n' : n == 't' ? '\t' : n;
        } else {
          value += c;
        }
      }
      const auto after = closed ? trim(raw.substr(i + 1)) : std::string_view{};
      if (!closed || !(after.empty() || after.front() == '#')) {
        errors.push_back({where, "unterminated or malformed quoted value"});
        continue;
      }
    } else {
      const auto hash = raw.find(" #");
      value = std::string(trim(raw.substr(0, hash)));
    }
    out[std::string(key)] = std::move(value);
  }
  if (!errors.empty()) {
    Error e{ErrorCode::kInvalidArgument, "invalid .env file " + std::string(file_name), std::move(errors)};
    return e;
  }
  return out;
}

Result<Config> Config::load(const Inputs& inputs) {
  Config cfg;
  std::vector<FieldError> errors;

  std::map<std::string, std::string> file_values;
  std::string file_name = inputs.env_file.value_or(inputs.default_env_file);
  std::ifstream in(file_name, std::ios::binary);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = parse_env_file(ss.str(), file_name);
    if (parsed) {
      file_values = std::move(parsed.value());
    } else {
      for (auto& f : parsed.error().fields) errors.push_back(f);
    }
  } else if (inputs.env_file) {
    errors.push_back({"--env-file", "cannot read " + file_name});
  }

  for (const auto& [k, v] : file_values) cfg.raw_[k] = v;
  for (const auto& [k, v] : inputs.environment) cfg.raw_[k] = v;
  for (const auto& [k, v] : inputs.flags) cfg.raw_[k] = v;

  for (const auto& var : kSchema) {
    Entry e;
    e.value = std::string(var.default_value);
    if (auto it = file_values.find(std::string(var.name)); it != file_values.end()) {
      e = {it->second, Source::kEnvFile, true};
    }
    if (auto it = inputs.environment.find(std::string(var.name)); it != inputs.environment.end()) {
      e = {it->second, Source::kEnvironment, true};
    }
    if (auto it = inputs.flags.find(std::string(var.name)); it != inputs.flags.end()) {
      e = {it->second, Source::kFlag, true};
    }
    const bool empty_means_unset = var.type == Type::kOrigins || var.type == Type::kTokens ||
                                   var.type == Type::kFile || var.type == Type::kLinkUrl;
    if (e.set && !(e.value.empty() && empty_means_unset)) {
      if (auto problem = check_value(var, e.value)) {
        std::string shown = var.secret ? "<redacted>" : json_quote(shown_value(var, e.value));
        errors.push_back({std::string(var.name), shown + ": " + *problem});
      }
      if (var.type == Type::kEnum) e.value = to_lower(e.value);
    }
    cfg.values_.emplace(std::string(var.name), std::move(e));
  }

  // Derived default: tracing is on by default in production (the seed's rule).
  auto& tracing = cfg.values_["ENABLE_TRACING"];
  if (!tracing.set) {
    tracing.value = cfg.values_["APP_ENV"].value == "production" ? "true" : "false";
    tracing.source = Source::kDerived;
  }

  if (!errors.empty()) {
    const std::string summary = "configuration is invalid (" + std::to_string(errors.size()) +
                                (errors.size() == 1 ? " problem)" : " problems)");
    return Error{ErrorCode::kInvalidArgument, summary, std::move(errors)};
  }
  return cfg;
}

Result<Config> Config::from_map(const std::map<std::string, std::string>& values) {
  Inputs inputs;
  inputs.flags = values;
  inputs.default_env_file = "/nonexistent/.env";
  return load(inputs);
}

const std::string& Config::str(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("undeclared configuration variable " + std::string(name));
  return it->second.value;
}

std::int64_t Config::integer(std::string_view name) const {
  std::int64_t n = 0;
  parse_int(str(name), n);
  return n;
}

bool Config::boolean(std::string_view name) const {
  bool b = false;
  parse_bool(str(name), b);
  return b;
}

std::vector<std::string> Config::list(std::string_view name) const { return split_list(str(name)); }

bool Config::is_set(std::string_view name) const {
  auto it = values_.find(name);
  return it != values_.end() && it->second.set;
}

Source Config::source(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? Source::kDefault : it->second.source;
}

std::optional<std::string> Config::raw(std::string_view name) const {
  auto it = raw_.find(name);
  if (it == raw_.end()) return std::nullopt;
  return it->second;
}

std::string Config::describe() const {
  std::size_t width = 0;
  for (const auto& var : kSchema) width = std::max(width, var.name.size());
  std::string out;
  for (const auto& var : kSchema) {
    const auto& e = values_.at(std::string(var.name));
    std::string shown;
    if (var.secret) {
      shown = e.value.empty() ? "(unset)" : "<redacted>";
    } else {
      shown = e.value.empty() ? "(unset)" : json_quote(shown_value(var, e.value));
    }
    out += std::string(var.name);
    out.append(width + 2 - var.name.size(), ' ');
    out += shown;
    out += "  [";
    out += source_name(e.source);
    out += "]\n";
  }
  return out;
}

std::optional<std::string> unsupported_reason(Type type, std::string_view value) {
  switch (type) {
    case Type::kFile: {
      if (value.empty()) return std::nullopt;
      std::error_code ec;
      if (std::filesystem::is_directory(std::string(value), ec)) return "is a directory, not a file";
      std::ifstream in{std::string(value), std::ios::binary};
      if (!in) return "cannot open the file for reading";
      return std::nullopt;
    }
    case Type::kDatabaseUrl:
      // The store factory knows which engines this build has: one rule for check and start-up.
      for (std::string_view prefix : store::supported_url_prefixes()) {
        if (value.starts_with(prefix)) return std::nullopt;
      }
      if (value.starts_with("postgres://") || value.starts_with("postgresql://")) {
        return "PostgreSQL is not implemented in this build; use sqlite:<path>";
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

Status check_supported(const Config& cfg) {
  std::vector<FieldError> errors;
  for (const auto& var : kSchema) {
    if (var.secret) continue;  // no secret variable has a build-dependent rule
    if (auto why = unsupported_reason(var.type, cfg.str(var.name))) {
      errors.push_back({std::string(var.name), redact_url(cfg.str(var.name)) + ": " + *why});
    }
  }
  // Read by the tracing layer, not declared here; each wins over its generic form.
  for (const auto name : kTracesFileVars) {
    if (auto v = cfg.raw(name); v && !trim(*v).empty()) {
      if (auto why = unsupported_reason(Type::kFile, trim(*v))) {
        errors.push_back({std::string(name), std::string(trim(*v)) + ": " + *why});
      }
    }
  }
  for (const auto& pair : kFilePairs) {
    const bool cert = !cfg.str(pair.cert).empty();
    const bool key = !cfg.str(pair.key).empty();
    if (cert != key) {
      errors.push_back(
          {std::string(cert ? pair.key : pair.cert),
           std::string("must be set together with ") + std::string(cert ? pair.cert : pair.key)});
    }
  }
  if (errors.empty()) return {};
  const std::string summary = "configuration cannot be used by this build (" + std::to_string(errors.size()) +
                              (errors.size() == 1 ? " problem)" : " problems)");
  return Error{ErrorCode::kInvalidArgument, summary, std::move(errors)};
}

std::string markdown_table() {
  auto cell = [](std::string_view text) {
    std::string out;
    for (char c : text) {
      if (c == '|') out += '\\';
      out += c;
    }
    return out;
  };
  std::string out = "| variable | default | rule | flag | description |\n|---|---|---|---|---|\n";
  for (const auto& var : kSchema) {
    std::string def = var.default_value.empty() ? "—" : "`" + std::string(var.default_value) + "`";
    if (var.name == "ENABLE_TRACING") def = "`true` if `APP_ENV=production`, else `false`";
    out += "| `" + std::string(var.name) + "` | " + def + " | " + cell(describe_rule(var)) +
           (var.secret ? " (secret)" : "") + " | `" + flag_for(var.name) + "` | " + cell(var.doc) + " |\n";
  }
  return out;
}

}  // namespace taskman::config
