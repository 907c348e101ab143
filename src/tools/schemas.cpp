#include "tools/schemas.hpp"

#include <string_view>
#include <utility>

namespace taskman::tools::schema {
namespace {

template <typename Names>
Json string_enum(const Names& names) {
  Json values = Json::array();
  for (std::string_view n : names) values.push_back(std::string(n));
  return {{"type", "string"}, {"enum", std::move(values)}};
}

}  // namespace

Json str(std::string description, std::size_t min_len, std::size_t max_len) {
  Json j = {{"type", "string"}, {"description", std::move(description)}};
  if (min_len > 0) j["minLength"] = min_len;
  if (max_len > 0) j["maxLength"] = max_len;
  return j;
}

Json text(const std::string& what, tasks::LengthRange range) {
  const std::string bounds =
      range.min > 0 ? std::to_string(range.min) + ".." + std::to_string(range.max) + " characters"
                    : "at most " + std::to_string(range.max) + " characters";
  return str(what + " (" + bounds + ").", range.min, range.max);
}

// Nullable as anyOf with single-type branches: `"type": [..]` arrays are legal JSON Schema but less
// portable (clients that map schemas onto a single-type dialect reject or drop them).
Json nullable(Json schema) { return {{"anyOf", {std::move(schema), {{"type", "null"}}}}}; }

Json nullable_str(std::string description, std::size_t max_len) {
  Json inner = {{"type", "string"}};
  if (max_len > 0) inner["maxLength"] = max_len;
  Json j = nullable(std::move(inner));
  j["description"] = std::move(description);
  return j;
}

Json with_description(Json j, std::string description) {
  j["description"] = std::move(description);
  return j;
}

Json id_array(std::string description) {
  return {{"type", "array"},
          {"items", {{"type", "string"}, {"minLength", 1}}},
          {"description", std::move(description)}};
}

Json labels() {
  using tasks::kLabel;
  using tasks::kLabelsMax;
  return {
      {"type", "array"},
      {"items", {{"type", "string"}, {"minLength", kLabel.min}, {"maxLength", kLabel.max}}},
      {"maxItems", kLabelsMax},
      {"description", "Free-form labels (at most " + std::to_string(kLabelsMax) + ", each " +
                          std::to_string(kLabel.min) + ".." + std::to_string(kLabel.max) + " characters)."}};
}

Json date_time(std::string description) {
  Json j = nullable({{"type", "string"}, {"format", "date-time"}});
  j["description"] = std::move(description);
  return j;
}

Json status() { return string_enum(tasks::kStatusNames); }

Json priority() { return string_enum(tasks::kPriorityNames); }

Json task_field() { return string_enum(tasks::kTaskFields); }

Json limit(std::string description) {
  return {{"type", "integer"},
          {"minimum", tasks::kMinLimit},
          {"maximum", tasks::kMaxLimit},
          {"description", std::move(description)}};
}

std::string status_list() {
  std::string out;
  for (std::string_view n : tasks::kStatusNames) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

Json task() {
  return {{"type", "object"},
          {"properties",
           {{"id", {{"type", "string"}}},
            {"project_id", nullable({{"type", "string"}})},
            {"parent_id", nullable({{"type", "string"}})},
            {"title", {{"type", "string"}}},
            {"description", {{"type", "string"}}},
            {"status", status()},
            {"priority", priority()},
            {"assignee", nullable({{"type", "string"}})},
            {"labels", {{"type", "array"}, {"items", {{"type", "string"}}}}},
            {"due_at", nullable({{"type", "string"}})},
            {"depends_on", {{"type", "array"}, {"items", {{"type", "string"}}}}},
            {"created_at", {{"type", "string"}}},
            {"updated_at", {{"type", "string"}}},
            {"completed_at", nullable({{"type", "string"}})},
            {"version", {{"type", "integer"}}}}},
          {"required", {"id", "title", "status", "priority", "created_at", "updated_at", "version"}}};
}

Json partial_task() {
  Json s = task();
  s["required"] = {"id"};
  return s;
}

Json comment() {
  return {{"type", "object"},
          {"properties",
           {{"id", {{"type", "string"}}},
            {"task_id", {{"type", "string"}}},
            {"author", nullable({{"type", "string"}})},
            {"body", {{"type", "string"}}},
            {"created_at", {{"type", "string"}}}}},
          {"required", {"id", "task_id", "body", "created_at"}}};
}

Json project() {
  return {{"type", "object"},
          {"properties",
           {{"id", {{"type", "string"}}},
            {"name", {{"type", "string"}}},
            {"description", {{"type", "string"}}},
            {"created_at", {{"type", "string"}}},
            {"updated_at", {{"type", "string"}}}}},
          {"required", {"id", "name", "created_at", "updated_at"}}};
}

Json object(Json properties, std::vector<std::string> required) {
  Json j = {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty()) j["required"] = required;
  return j;
}

Json page(Json item) {
  return object({{"items", {{"type", "array"}, {"items", std::move(item)}}},
                 {"next_cursor", with_description(nullable({{"type", "string"}}),
                                                  "Pass as cursor to get the next page; null on the last.")}},
                {"items", "next_cursor"});
}

Json annotations(bool read_only, bool destructive, bool idempotent, std::string title) {
  Json a = {{"title", std::move(title)}, {"readOnlyHint", read_only}, {"openWorldHint", false}};
  if (!read_only) {
    a["destructiveHint"] = destructive;
    a["idempotentHint"] = idempotent;
  }
  return a;
}

Json task_writable_properties() {
  return {{"title", text("Short summary of the work", tasks::kTitle)},
          {"description", text("Details, acceptance criteria, links", tasks::kTaskDescription)},
          {"project_id", nullable_str("Project the task belongs to (see list_projects); null for none.")},
          {"parent_id",
           nullable_str("Parent task id for a sub-task; null for none. A task cannot be its own parent.")},
          {"status", with_description(status(), "Workflow state; completed_at is set when it becomes done.")},
          {"priority", with_description(priority(), "How urgent the task is; next_task picks urgent first.")},
          {"assignee", nullable_str("Who works on it (at most " + std::to_string(tasks::kAssignee.max) +
                                        " characters); null for nobody.",
                                    tasks::kAssignee.max)},
          {"labels", labels()},
          {"due_at", date_time("Deadline as RFC 3339 date-time (e.g. 2026-12-01T17:00:00Z); null for none.")},
          {"depends_on", id_array("Ids of tasks that must be done before this one is actionable. Cycles are "
                                  "rejected.")}};
}

}  // namespace taskman::tools::schema
