#pragma once
// GET /status (HTML) and /status.json, and the POST-only admin actions of one service:
//   POST /admin/breaker     {"mode":"open"|"closed"|"auto"}       (taskman-mcp)
//   POST /admin/cache/purge {"pattern":"/tasks/*"} | {} for all    (taskman-mcp)
//   POST /admin/log-level   {"level":"debug"}
//   POST /admin/drain       {}: the graceful shutdown SIGTERM starts
// Served to loopback callers, or to others with a bearer token of the service (see
// status/admin.hpp); GET on an action answers 405 with Allow: POST (the router's rule). Each action
// is logged at warn with who and what, listed on the status page and counted in
// admin_actions_total{action}.
#include <functional>
#include <string>
#include <vector>

#include "app/status_board.hpp"
#include "http/router.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "resilience/circuit_breaker.hpp"
#include "resilience/fallback_cache.hpp"

namespace prometheus {
class Counter;
template <class T>
class Family;
}  // namespace prometheus

namespace taskman::app {

struct AdminTargets {
  log::Sink* sink = nullptr;                      // log level
  log::Logger* logger = nullptr;                  // the warn line of each action
  resilience::CircuitBreaker* breaker = nullptr;  // null: no /admin/breaker (taskman-api)
  resilience::FallbackCache* cache = nullptr;     // null: no /admin/cache/purge
  std::function<void()> drain;                    // starts the graceful shutdown
  std::vector<std::string> tokens;                // the service's bearer tokens
  std::string tokens_var;                         // their variable, for hints: MCP_AUTH_TOKENS | API_KEYS
  metrics::Metrics* registry = nullptr;           // null when metrics are off
};

void register_status_routes(http::Router& router, StatusBoard& board, AdminTargets targets);

}  // namespace taskman::app
