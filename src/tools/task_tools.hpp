#pragma once
// The task manager's MCP surface (docs/mcp.md#tools): tools, resources and prompts over the REST API.
// Thin adapters: arguments are checked against each tool's own inputSchema (naming the field),
// turned into one REST call, and the answer into structuredContent or an isError result that says
// what happened, what to do, and the request id.
#include <string>

#include "client/backend.hpp"
#include "mcp/server.hpp"

namespace taskman::tools {

using client::RestCall;
using client::RestResult;
using client::TaskBackend;

struct ToolsOptions {
  bool read_only = false;  // MCP_READ_ONLY: only read-only tools
  // Called once per tool call with outcome "ok" or "tool_error" (isError; the same values as
  // mcp_requests_total) and the seconds it took (metrics). May run on any thread.
  std::function<void(const std::string& tool, const char* outcome, double seconds)> on_call;
};

// Names of every tool, in listing order (bounded label set for metrics).
const std::vector<std::string>& tool_names();

void register_task_tools(mcp::Server& server, TaskBackend& backend, ToolsOptions options);

}  // namespace taskman::tools
