#include "store/model.hpp"

#include <limits>

namespace taskman::store {

const char* to_string(TaskStatus s) {
  switch (s) {
    case TaskStatus::kTodo:
      return "todo";
    case TaskStatus::kInProgress:
      return "in_progress";
    case TaskStatus::kBlocked:
      return "blocked";
    case TaskStatus::kDone:
      return "done";
    case TaskStatus::kCancelled:
      return "cancelled";
  }
  return "todo";
}

const char* to_string(Priority p) {
  switch (p) {
    case Priority::kUrgent:
      return "urgent";
    case Priority::kHigh:
      return "high";
    case Priority::kMedium:
      return "medium";
    case Priority::kLow:
      return "low";
  }
  return "medium";
}

std::optional<TaskStatus> parse_status(std::string_view s) {
  if (s == "todo") return TaskStatus::kTodo;
  if (s == "in_progress") return TaskStatus::kInProgress;
  if (s == "blocked") return TaskStatus::kBlocked;
  if (s == "done") return TaskStatus::kDone;
  if (s == "cancelled") return TaskStatus::kCancelled;
  return std::nullopt;
}

std::optional<Priority> parse_priority(std::string_view s) {
  if (s == "urgent") return Priority::kUrgent;
  if (s == "high") return Priority::kHigh;
  if (s == "medium") return Priority::kMedium;
  if (s == "low") return Priority::kLow;
  return std::nullopt;
}

std::int64_t task_sort_key(const Task& t, TaskSort sort, bool descending) {
  switch (sort) {
    case TaskSort::kCreatedAt:
      return t.created_at;
    case TaskSort::kUpdatedAt:
      return t.updated_at;
    case TaskSort::kPriority:
      return static_cast<std::int64_t>(t.priority);
    case TaskSort::kDueAt:
      if (t.due_at) return *t.due_at;
      return descending ? std::numeric_limits<std::int64_t>::min() : std::numeric_limits<std::int64_t>::max();
  }
  return 0;
}

}  // namespace taskman::store
