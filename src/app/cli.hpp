#pragma once
// Command-line parsing and help texts. Every configuration variable is also a flag
// (--api-port for API_PORT); flags win over the environment and the .env file.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace taskman::app {

// Exit codes (documented in the README).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;         // a runtime failure: cannot bind, database error, ...
inline constexpr int kExitUsage = 2;           // bad command line or invalid configuration
inline constexpr int kExitNotImplemented = 3;  // the command exists but is not built yet

struct Invocation {
  std::string command;  // serve | api | mcp | migrate | config check | config docs | bench | version | help
  bool help = false;
  bool stdio = false;
  bool insecure_allow_unauthenticated = false;
  std::optional<std::string> env_file;
  std::map<std::string, std::string> config_flags;  // NAME -> value
  std::vector<std::string> command_args;            // bench: its own options, parsed by the bench
};

Result<Invocation> parse_args(const std::vector<std::string>& args);
std::string help_text(const std::string& command);

}  // namespace taskman::app
