#pragma once
// Tool arguments to the parts of a REST call: a JSON body without the arguments that go elsewhere,
// and query parameters.
#include <initializer_list>
#include <string>

#include "tools/task_tools.hpp"

namespace taskman::tools {

// `args` without the named members (those that travel in the path or a header).
nlohmann::json body_without(const nlohmann::json& args, std::initializer_list<const char*> drop);
// Adds args[name] to the query when present and not null; an array adds one parameter per item.
void add_query(RestCall& call, const nlohmann::json& args, const std::string& name);

}  // namespace taskman::tools
