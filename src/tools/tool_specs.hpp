#pragma once
// The nine task tools: name, description, input and output schema, annotations, and the REST call
// each one makes.
#include <functional>
#include <vector>

#include "tools/task_tools.hpp"

namespace taskman::tools {

struct ToolSpec {
  mcp::Tool tool;
  bool read_only;
  // Runs with arguments already checked against tool.input_schema.
  std::function<void(Backend&, const mcp::CallPtr&, const nlohmann::json&, mcp::Reply<nlohmann::json>)> run;
};

// Every tool, in listing order; built once.
const std::vector<ToolSpec>& specs();

}  // namespace taskman::tools
