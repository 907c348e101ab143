#pragma once
// Decoding of project, task and comment bodies: every field is validated against the limits in
// tasks/limits.hpp and all bad fields are reported at once, each naming the field.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "tasks/types.hpp"

namespace taskman::tasks {

// Present-or-absent fields; for nullable fields the inner optional is the (possibly null) value.
struct ProjectInput {
  std::optional<std::string> name;
  std::optional<std::string> description;
};

struct TaskInput {
  std::optional<std::string> title;
  std::optional<std::string> description;
  std::optional<std::optional<std::string>> project_id;
  std::optional<std::optional<std::string>> parent_id;
  std::optional<TaskStatus> status;
  std::optional<Priority> priority;
  std::optional<std::optional<std::string>> assignee;
  std::optional<std::vector<std::string>> labels;
  std::optional<std::optional<TimeMs>> due_at;
  std::optional<std::vector<std::string>> depends_on;
};

struct CommentInput {
  std::string body;
  std::optional<std::string> author;
};

enum class Mode { kCreate, kPatch };

// Malformed JSON → 400 naming the parse position; not an object, unknown or read-only fields,
// wrong types, out-of-range values → 400 with one FieldError per problem.
Result<ProjectInput> decode_project(std::string_view body, Mode mode);
Result<TaskInput> decode_task(std::string_view body, Mode mode);
Result<CommentInput> decode_comment(std::string_view body);

}  // namespace taskman::tasks
