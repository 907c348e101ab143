#pragma once
// The task manager's MCP prompts (plan_project, standup) and the completion of their project_id
// argument from the project list.
#include "tools/task_tools.hpp"

namespace taskman::tools {

void register_prompts(mcp::Server& server, Backend& backend);
void register_completions(mcp::Server& server, Backend& backend);

}  // namespace taskman::tools
