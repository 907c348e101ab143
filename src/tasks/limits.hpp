#pragma once
// The task domain's limits and vocabularies, once: the REST codec validates against them and the
// MCP tools publish them in their input schemas, so the two cannot drift apart. Header-only and free
// of store types, so the tools can use it without linking the domain or a storage engine.
#include <array>
#include <cstddef>
#include <string_view>

namespace taskman::tasks {

// A text length range in code points (the limits are about text a person reads, not bytes).
struct LengthRange {
  std::size_t min;
  std::size_t max;
};

inline constexpr LengthRange kProjectName{1, 100};
inline constexpr LengthRange kProjectDescription{0, 2000};
inline constexpr LengthRange kTitle{1, 200};
inline constexpr LengthRange kTaskDescription{0, 10000};
inline constexpr LengthRange kAssignee{1, 100};
inline constexpr LengthRange kLabel{1, 50};
inline constexpr LengthRange kCommentBody{1, 10000};
inline constexpr LengthRange kAuthor{1, 100};
inline constexpr LengthRange kQuery{1, 500};  // q, the full-text search words

inline constexpr std::size_t kLabelsMax = 20;      // labels per task
inline constexpr std::size_t kDependsOnMax = 100;  // dependencies per task
inline constexpr std::size_t kIdMax = 64;          // characters of an id

// Page size of every list.
inline constexpr int kMinLimit = 1;
inline constexpr int kMaxLimit = 100;
inline constexpr int kDefaultLimit = 50;

// Wire names, in the order they are listed to callers.
inline constexpr std::array<std::string_view, 5> kStatusNames = {"todo", "in_progress", "blocked", "done",
                                                                 "cancelled"};
inline constexpr std::array<std::string_view, 4> kPriorityNames = {"low", "medium", "high", "urgent"};
// Sort keys of GET /tasks; each may be prefixed with '-' for descending order.
inline constexpr std::array<std::string_view, 4> kSortKeys = {"created_at", "updated_at", "priority",
                                                              "due_at"};
// Query parameters of GET /tasks.
inline constexpr std::array<std::string_view, 12> kTaskListParams = {
    "project_id", "status",    "priority", "assignee", "label", "parent_id",
    "due_before", "due_after", "q",        "sort",     "limit", "cursor"};
// Fields of a task as encoded, in encoding order.
inline constexpr std::array<std::string_view, 15> kTaskFields = {
    "id",     "project_id", "parent_id",  "title",      "description", "status",       "priority", "assignee",
    "labels", "due_at",     "depends_on", "created_at", "updated_at",  "completed_at", "version"};

}  // namespace taskman::tasks
