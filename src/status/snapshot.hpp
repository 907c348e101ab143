#pragma once
// What the status page shows, as plain values: the app layer fills it from the live components
// (breaker, cache, bulkhead, MCP transport, exporter, recorders) and the renderers turn it into
// JSON and HTML. No component types here, so rendering is tested with hand-made snapshots.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "status/recorder.hpp"

namespace taskman::status {

// One finished HTTP request or MCP call. `at_ms` is on the status clock (ages are rendered).
struct CallRecord {
  std::int64_t at_ms = 0;
  std::string kind;     // "http" | "mcp"
  std::string method;   // "POST" | "tools/call" ...
  std::string target;   // route template or tool name (bounded: never a raw path)
  std::string outcome;  // HTTP status code, or the MCP outcome (ok, tool_error, error, cancelled)
  bool error = false;
  double duration_ms = -1;  // < 0: not measured
  std::string request_id;
  std::string trace_id;  // "" when not traced
};

struct TransitionRecord {
  std::int64_t at_ms = 0;
  std::string from, to, reason;
};

struct AdminActionRecord {
  std::int64_t at_ms = 0;
  std::string action;  // breaker | cache_purge | log_level | drain
  std::string detail;  // "mode=open", "pattern=/tasks/* purged=3", ...
  std::string remote;  // the caller's address
  std::string who;     // "loopback" or the token's hint ("MCP_AUTH_TOKENS[0]"), never the token
};

struct BreakerView {
  std::string state, mode;
  bool enabled = true;
  double error_percent = 0;
  std::int64_t calls_in_window = 0, failures_in_window = 0;
  std::int64_t window_ms = 0;
  int threshold_percent = 0;
  std::optional<std::int64_t> time_until_half_open_ms;
  std::vector<TransitionRecord> transitions;  // newest first
};

struct CacheView {
  bool enabled = true;
  std::size_t entries = 0, max_size = 0;
  std::uint64_t hits = 0, misses = 0, stale = 0;
  std::optional<std::int64_t> oldest_age_ms;
  std::int64_t ttl_ms = 0;
  std::map<std::string, std::uint64_t> evictions;  // by reason
};

struct BulkheadView {
  std::size_t in_flight = 0, capacity = 0;
  std::uint64_t rejected = 0;
};

struct RevisionView {
  std::string revision;  // "" for sessions not yet initialized
  std::size_t sessions = 0, open_streams = 0;
};

struct McpView {
  std::size_t sessions = 0;
  std::vector<RevisionView> revisions;
};

struct ExporterView {
  bool enabled = false;
  std::size_t queue_size = 0;
  std::uint64_t exported = 0, dropped = 0, export_failed = 0;
};

struct StatusSnapshot {
  std::string service, version, revision, build_type;
  std::int64_t now_ms = 0;  // the status clock at the snapshot, for ages
  double uptime_s = 0;
  std::string log_level;
  std::string database;  // redacted DATABASE_URL (the API service); "" when none
  std::vector<LatencyStats> routes;
  std::vector<LatencyStats> tools;  // MCP only
  std::optional<BreakerView> breaker;
  std::optional<CacheView> cache;
  std::optional<BulkheadView> bulkhead;
  std::optional<McpView> mcp;
  ExporterView exporter;
  std::vector<CallRecord> recent_requests;  // newest first
  std::vector<CallRecord> recent_errors;
  std::vector<AdminActionRecord> admin_actions;
  std::string trace_ui_url;  // TRACE_UI_URL, "" when unset
};

}  // namespace taskman::status
