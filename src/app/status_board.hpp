#pragma once
// One service's status page state (src/status renders it): it watches every HTTP request (a
// RequestObserver: per-route rate and latency, the last requests and errors), MCP calls and tool
// calls, breaker transitions and admin actions, and assembles a StatusSnapshot on demand with the
// live views the builders plug in (breaker, cache, bulkhead, sessions, exporter).
#include <chrono>
#include <functional>
#include <string>

#include "core/clock.hpp"
#include "http/server.hpp"
#include "mcp/server.hpp"
#include "status/recent.hpp"
#include "status/recorder.hpp"
#include "status/snapshot.hpp"

namespace taskman::app {

class StatusBoard final : public http::RequestObserver, public mcp::CallObserver {
 public:
  static constexpr std::size_t kRecentRequests = 50;
  static constexpr std::size_t kRecentErrors = 50;
  static constexpr std::size_t kTransitions = 20;
  static constexpr std::size_t kAdminActions = 50;

  StatusBoard(std::string service, std::string trace_ui_url, const Clock& clock = SteadyClock::instance());

  void on_request_start(http::Request&) override {}
  void on_request_end(const http::Request& req, int status, std::chrono::nanoseconds duration) override;
  // tools::ToolsOptions::on_call: per-tool rate and latency.
  void record_tool(const std::string& tool, const char* outcome, double seconds);
  // mcp::CallObserver: the MCP request in the recent lists with its request and trace ids.
  void on_call_end(const mcp::CallContext& ctx, const mcp::CallOutcome& outcome) override;
  void record_transition(const char* from, const char* to, const char* reason);
  void record_admin(std::string action, std::string detail, std::string remote, std::string who);

  // Adds the service's live views (breaker, cache, ...) to a snapshot. Set during wiring.
  void set_filler(std::function<void(status::StatusSnapshot&)> fill) { fill_ = std::move(fill); }
  status::StatusSnapshot snapshot() const;
  const Clock& clock() const { return clock_; }

 private:
  void add_call(status::CallRecord record);

  const std::string service_;
  const std::string trace_ui_url_;
  const Clock& clock_;
  const TimePoint started_;
  status::WindowRecorder routes_;
  status::WindowRecorder tools_;
  status::RecentList<status::CallRecord> requests_{kRecentRequests};
  status::RecentList<status::CallRecord> errors_{kRecentErrors};
  status::RecentList<status::TransitionRecord> transitions_{kTransitions};
  status::RecentList<status::AdminActionRecord> admin_{kAdminActions};
  std::function<void(status::StatusSnapshot&)> fill_;
};

}  // namespace taskman::app
