#pragma once
// Ids of projects, tasks and comments: how the server makes them and what it accepts from outside.
#include <string>
#include <string_view>

#include "tasks/types.hpp"

namespace taskman::tasks {

// Server-side ids are syntactically simple; anything else from outside is rejected before use.
bool valid_id(std::string_view id);
// Time-sortable id (28 hex digits), strictly increasing within the process.
std::string new_id(TimeMs now);

}  // namespace taskman::tasks
