#include "app/exposure.hpp"

namespace taskman::app {

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

std::vector<std::string> unauthenticated_exposures(const Invocation& inv, const config::Config& cfg) {
  std::vector<std::string> problems;
  if (inv.insecure_allow_unauthenticated) return problems;
  const bool want_api = inv.command == "serve" || inv.command == "api";
  const bool want_mcp_http = (inv.command == "serve" || inv.command == "mcp") && !inv.stdio;
  if (want_api && !is_loopback(cfg.str("API_HOST")) && cfg.list("API_KEYS").empty()) {
    problems.push_back("API_HOST=" + cfg.str("API_HOST") + " is not loopback and API_KEYS is empty");
  }
  if (want_mcp_http && !is_loopback(cfg.str("HOST")) && cfg.list("MCP_AUTH_TOKENS").empty()) {
    problems.push_back("HOST=" + cfg.str("HOST") + " is not loopback and MCP_AUTH_TOKENS is empty");
  }
  return problems;
}

}  // namespace taskman::app
