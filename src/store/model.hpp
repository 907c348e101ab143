#pragma once
// The task manager's records as stored: plain data shared by the storage layer and the domain.
// Times are milliseconds since the Unix epoch (UTC); the domain formats them as RFC 3339.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace taskman::store {

using TimeMs = std::int64_t;

enum class TaskStatus { kTodo, kInProgress, kBlocked, kDone, kCancelled };
// Declared in urgency order: the numeric value is the rank used by sort=priority (urgent first).
enum class Priority { kUrgent = 0, kHigh = 1, kMedium = 2, kLow = 3 };

const char* to_string(TaskStatus s);
const char* to_string(Priority p);
std::optional<TaskStatus> parse_status(std::string_view s);
std::optional<Priority> parse_priority(std::string_view s);

struct Project {
  std::string id;
  std::string name;
  std::string description;
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
};

struct Task {
  std::string id;
  std::optional<std::string> project_id;
  std::optional<std::string> parent_id;
  std::string title;
  std::string description;
  TaskStatus status = TaskStatus::kTodo;
  Priority priority = Priority::kMedium;
  std::optional<std::string> assignee;
  std::vector<std::string> labels;
  std::optional<TimeMs> due_at;
  std::vector<std::string> depends_on;
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
  std::optional<TimeMs> completed_at;
  std::int64_t version = 1;
};

struct Comment {
  std::string id;
  std::string task_id;
  std::optional<std::string> author;
  std::string body;
  TimeMs created_at = 0;
};

// A stored answer to an Idempotency-Key request (draft-ietf-httpapi-idempotency-key-header).
struct IdempotencyRecord {
  std::string key;
  std::string fingerprint;  // of method + path + body: a reuse with another payload is a 422
  int status = 0;
  std::string body;
  std::string headers_json;  // JSON object of response headers to replay (Location, ETag)
  TimeMs created_at = 0;
  TimeMs expires_at = 0;
};

// Keyset pagination: every list is ordered by (an integer sort key, id), so a cursor is just the
// last item's pair and concurrent inserts can neither shift nor repeat items (no OFFSET).
enum class TaskSort { kCreatedAt, kUpdatedAt, kPriority, kDueAt };
struct KeysetPosition {
  std::int64_t key = 0;
  std::string id;
};
// The integer a task sorts by. Missing due dates sort last in either direction.
std::int64_t task_sort_key(const Task& t, TaskSort sort, bool descending);

struct TaskFilter {
  std::optional<std::string> project_id;
  std::vector<TaskStatus> statuses;  // any of
  std::optional<Priority> priority;
  std::optional<std::string> assignee;
  std::optional<std::string> label;
  std::optional<std::string> parent_id;
  std::optional<TimeMs> due_before;  // due_at < due_before
  std::optional<TimeMs> due_after;   // due_at > due_after
  std::optional<std::string> q;      // full-text over title + description (plain words, all must match)
};

struct TaskListQuery {
  TaskFilter filter;
  TaskSort sort = TaskSort::kCreatedAt;
  bool descending = false;
  std::optional<KeysetPosition> after;
  int limit = 50;  // rows to return; callers ask for one more to learn whether a next page exists
};

// Lists ordered by (created_at, id) ascending: projects, comments.
struct PageQuery {
  std::optional<KeysetPosition> after;
  int limit = 50;
};

}  // namespace taskman::store
