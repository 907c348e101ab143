#pragma once
// The task tools: name, description, input and output schema, annotations, and the REST call each
// one makes; the last, show_board, belongs to the board App (board_tools.hpp) and has an audience.
#include <functional>
#include <vector>

#include "tools/task_tools.hpp"

namespace taskman::tools {

struct ToolSpec {
  mcp::Tool tool;
  bool read_only;
  // Runs with arguments already checked against tool.input_schema.
  std::function<void(TaskBackend&, const mcp::CallPtr&, const nlohmann::json&, mcp::Reply<nlohmann::json>)>
      run;
  mcp::Audience audience = {};  // empty: every client; else only the clients it accepts
};

// Every tool, in listing order; built once.
const std::vector<ToolSpec>& specs();

}  // namespace taskman::tools
