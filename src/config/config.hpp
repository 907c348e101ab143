#pragma once
// Configuration declared once (docs/configuration.md): every variable's name, type, rule, default, secrecy
// and documentation live in one table (schema()). Sources, lowest to highest precedence: defaults, the .env
// file, the real environment, command-line flags (--port for PORT, and so on). Validation reports every bad
// variable at once.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace taskman::config {

// kLinkUrl: an http(s) URL the process never connects to (a link it shows), so https is fine in any build.
enum class Type {
  kString,
  kInt,
  kPort,
  kBool,
  kEnum,
  kUrl,
  kHost,
  kDatabaseUrl,
  kOrigins,
  kTokens,
  kLinkUrl,
  kFile
};

struct Var {
  std::string_view name;
  Type type;
  std::string_view default_value;  // empty: unset unless given
  std::string_view doc;
  std::int64_t min = 0;           // kInt
  std::int64_t max = 0;           // kInt
  std::string_view choices = {};  // kEnum: "a|b|c"
  bool secret = false;
};

// The declaration: every variable the program reads.
const std::vector<Var>& schema();
const Var* find_var(std::string_view name);
// "--backend-timeout-ms" for BACKEND_TIMEOUT_MS.
std::string flag_for(std::string_view name);
// The human-readable rule ("an integer from 1 to 100", "one of json|pretty").
std::string describe_rule(const Var& var);
// Markdown table of the schema for the README.
std::string markdown_table();

enum class Source { kDefault, kEnvFile, kEnvironment, kFlag, kDerived };
const char* source_name(Source s);

struct Inputs {
  std::map<std::string, std::string> environment;  // the process environment
  std::optional<std::string> env_file;             // --env-file PATH (must exist); else ./.env if present
  std::string default_env_file = ".env";
  std::map<std::string, std::string> flags;  // NAME -> value, from command-line flags
};

// Reads `environ` into a map.
std::map<std::string, std::string> process_environment();

class Config {
 public:
  // Error.fields lists every problem: field = variable name (or the .env file), message = the rule.
  static Result<Config> load(const Inputs& inputs);
  // For tests: defaults overridden by `values`, no files, no environment.
  static Result<Config> from_map(const std::map<std::string, std::string>& values);

  const std::string& str(std::string_view name) const;
  std::int64_t integer(std::string_view name) const;
  bool boolean(std::string_view name) const;
  std::vector<std::string> list(std::string_view name) const;  // comma-separated, trimmed, non-empty
  bool is_set(std::string_view name) const;
  Source source(std::string_view name) const;
  // Every declared variable with its effective value, secrets redacted, for `config check`.
  std::string describe() const;
  // Any variable from the sources, declared or not (e.g. OTEL_* read by a later layer).
  std::optional<std::string> raw(std::string_view name) const;

 private:
  struct Entry {
    std::string value;
    Source source = Source::kDefault;
    bool set = false;
  };
  std::map<std::string, Entry, std::less<>> values_;
  std::map<std::string, std::string, std::less<>> raw_;
};

// Parses .env text: KEY=VALUE lines, optional `export `, # comments, single or double quotes.
// Errors name the line.
Result<std::map<std::string, std::string>> parse_env_file(std::string_view text, std::string_view file_name);

// Validates one value against its variable's rule; returns the rule text on failure.
std::optional<std::string> check_value(const Var& var, std::string_view value);

bool parse_bool(std::string_view s, bool& out);

// What this build can run, beyond the syntax rules above: a DATABASE_URL of an engine the store
// factory does not have, and every file a kFile variable names (TLS certificates, keys, CA
// bundles) must be readable, and certificates come with their keys. One rule
// for `config check` and for start-up, so whatever `config check` accepts also starts; both report
// a failure as invalid configuration (exit 2), every problem at once.
Status check_supported(const Config& cfg);
// The per-value part of that rule (nullopt: supported). Variables not in the schema
// (the _TRACES_ certificate files) are checked by their type.
std::optional<std::string> unsupported_reason(Type type, std::string_view value);

}  // namespace taskman::config
