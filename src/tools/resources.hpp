#pragma once
// The task manager's MCP resources: taskman://projects and the templates taskman://projects/{id}
// and taskman://tasks/{id}, each read through one GET of the REST API.
#include "tools/task_tools.hpp"

namespace taskman::tools {

void register_resources(mcp::Server& server, Backend& backend);

}  // namespace taskman::tools
