#pragma once
// Query strings of the list endpoints: filters, sort order and page requests, each checked and
// every bad parameter named.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "store/model.hpp"
#include "tasks/limits.hpp"

namespace taskman::tasks {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// A page request: limit and decoded cursor.
struct PageRequest {
  int limit = kDefaultLimit;
  std::optional<store::KeysetPosition> after;
};

struct TaskListRequest {
  store::TaskFilter filter;
  store::TaskSort sort = store::TaskSort::kCreatedAt;
  bool descending = false;
  PageRequest page;
};

struct NextTaskRequest {
  std::optional<std::string> project_id;
  std::optional<std::string> assignee;
};

// Unknown parameters, bad values, a repeated single-valued parameter or a cursor that is not ours
// (or was made for another sort) → 400 naming the parameter.
Result<TaskListRequest> parse_task_list(const QueryParams& params);
Result<PageRequest> parse_page(const QueryParams& params);
Result<NextTaskRequest> parse_next_task(const QueryParams& params);

}  // namespace taskman::tasks
