#pragma once
// JSON and query-string codec of the task domain: decoding validates every field against the
// SPEC §3 limits and reports all bad fields at once (each naming the field); encoding writes
// RFC 3339 UTC times. Transport-neutral: the REST adapter and tests use it; no HTTP types here.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "store/model.hpp"

namespace taskman::tasks {

using store::Comment;
using store::Priority;
using store::Project;
using store::Task;
using store::TaskStatus;
using store::TimeMs;

// Limits from SPEC §3.
inline constexpr std::size_t kProjectNameMax = 100;
inline constexpr std::size_t kProjectDescriptionMax = 2000;
inline constexpr std::size_t kTitleMax = 200;
inline constexpr std::size_t kTaskDescriptionMax = 10000;
inline constexpr std::size_t kAssigneeMax = 100;
inline constexpr std::size_t kLabelsMax = 20;
inline constexpr std::size_t kLabelMax = 50;
inline constexpr std::size_t kDependsOnMax = 100;
inline constexpr std::size_t kCommentBodyMax = 10000;
inline constexpr std::size_t kAuthorMax = 100;
inline constexpr std::size_t kQueryMax = 500;
inline constexpr int kDefaultLimit = 50;
inline constexpr int kMaxLimit = 100;

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

std::string encode_project(const Project& p);
std::string encode_task(const Task& t);
std::string encode_comment(const Comment& c);
// {"items":[...],"next_cursor":...} from already-encoded items.
std::string encode_page(const std::vector<std::string>& encoded_items,
                        const std::optional<std::string>& next_cursor);
std::string format_time(TimeMs ms);

// Server-side ids are syntactically simple; anything else from outside is rejected before use.
bool valid_id(std::string_view id);
// Time-sortable id (28 hex digits), strictly increasing within the process.
std::string new_id(TimeMs now);

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

// Opaque cursor: base64url of "v1|<sort tag>|<key>|<id>".
std::string make_cursor(std::string_view sort_tag, const store::KeysetPosition& pos);
std::string sort_tag(store::TaskSort sort, bool descending);
inline constexpr std::string_view kCreatedTag = "created_at";

// Helpers for replaying stored responses: headers as a JSON object.
std::string encode_headers(const std::vector<std::pair<std::string, std::string>>& headers);
std::vector<std::pair<std::string, std::string>> decode_headers(std::string_view json);

}  // namespace taskman::tasks
