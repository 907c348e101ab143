#pragma once
// Shared set-up of the fault-injection tests: a real `taskman api` on SQLite and a real
// `taskman mcp` with small resilience budgets, both on 127.0.0.1 port 0 in a temporary directory.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/mcp_session.hpp"
#include "support/process.hpp"

namespace taskman::testing::fault {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// The MCP server's budgets in these tests (docs/resilience.md variables, passed as flags).
inline constexpr int kAttemptTimeoutMs = 300;  // BACKEND_TIMEOUT_MS
inline constexpr int kMaxRetries = 2;          // BACKEND_MAX_RETRIES
inline constexpr int kResetTimeoutMs = 300;    // CIRCUIT_BREAKER_RESET_TIMEOUT_MS
inline constexpr int kVolumeThreshold = 4;     // CIRCUIT_BREAKER_VOLUME_THRESHOLD
// The client's overall deadline is attempt timeout × attempts; the jittered backoff between attempts
// is at most 25 + 50 ms (RetryOptions' base 25 ms, doubling) and is spent inside that deadline.
inline constexpr int kCallBudgetMs = kAttemptTimeoutMs * (kMaxRetries + 1);
inline constexpr int kBackoffMs = 25 + 50;
// Room for the MCP hop, JSON work and a loaded two-core machine; still far below a hang.
inline constexpr int kMarginMs = 600;
inline constexpr int kMaxCallMs = kCallBudgetMs + kBackoffMs + kMarginMs;

Process::Options api_options(const TempDir& dir, int port = 0);
// `extra` flags are appended (a later flag wins over an earlier one).
Process::Options mcp_options(const TempDir& dir, const std::string& endpoint,
                             const std::vector<std::string>& extra = {});
std::string api_endpoint(int port);

// One MCP tool call and how long it took, measured around the whole HTTP exchange.
struct Timed {
  Json result;
  long long ms = 0;
};
Timed timed_call(McpSession& s, const std::string& tool, const Json& args);

bool is_error(const Json& result);
// Every text block of a CallToolResult, joined with newlines.
std::string text_of(const Json& result);
bool is_stale(const Json& result);

// Every task the API holds, read directly over HTTP (all pages).
std::vector<Json> api_tasks(int api_port);

// After SIGSTOP: waits until every thread of `pid` is stopped (kill() returns before the signal has
// taken effect). Linux offers no event for another process's stop that a non-parent can wait on, so
// this polls /proc/<pid>/task/*/stat, bounded by `timeout`. False on timeout.
bool wait_stopped(int pid, std::chrono::milliseconds timeout = std::chrono::seconds(5));

// A predicate for the breaker's warn line `"msg":"circuit breaker transition"` with `"to":to`.
std::function<bool(const std::string&)> breaker_transition_to(const std::string& to);
// Waits for a stderr line matching `pred` among those written after the first `skip` lines.
std::optional<std::string> wait_for_line_after(Process& p, std::size_t skip,
                                               const std::function<bool(const std::string&)>& pred,
                                               std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace taskman::testing::fault
