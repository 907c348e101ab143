#pragma once
// JSON Schema pieces of the task tools: argument shapes built from the task limits
// (tasks/limits.hpp) and the shapes of tasks, projects and comments in structured results.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tasks/limits.hpp"

namespace taskman::tools::schema {

using Json = nlohmann::json;

// A string; minLength/maxLength only when given (0 = none).
Json str(std::string description, std::size_t min_len = 0, std::size_t max_len = 0);
// A string limited to `range`, described as "<what> (1..200 characters)." or "(at most 2000 characters)."
Json text(const std::string& what, tasks::LengthRange range);
// `schema` or null.
Json nullable(Json schema);
Json nullable_str(std::string description, std::size_t max_len = 0);
Json with_description(Json j, std::string description);
Json id_array(std::string description);
Json labels();
Json date_time(std::string description);
Json status();
Json priority();
// The task fields a caller may pick (list_tasks fields).
Json task_field();
// Page size of the list tools.
Json limit(std::string description);

Json task();
Json partial_task();  // only id required (list_tasks with fields)
Json comment();
Json project();

// A closed object: unknown arguments are refused.
Json object(Json properties, std::vector<std::string> required);
// {"items": [item], "next_cursor": string|null}
Json page(Json item);
Json annotations(bool read_only, bool destructive, bool idempotent, std::string title);
// The fields create_task and update_task may set.
Json task_writable_properties();

// "todo, in_progress, ..." for descriptions.
std::string status_list();

}  // namespace taskman::tools::schema
