#include "tasks/validation.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "core/text.hpp"
#include "tasks/checks.hpp"
#include "tasks/ids.hpp"
#include "tasks/limits.hpp"

namespace taskman::tasks {
namespace {

using detail::blank;
using detail::utf8_length;
using nlohmann::json;

using Errors = FieldErrors;

Result<json> parse_object(std::string_view body) {
  if (json_nesting_exceeds(body)) {
    return Error::invalid("body", "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  json j;
  try {
    j = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 9: ..."; keep the
    // human part, which names the position.
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return Error{ErrorCode::kInvalidArgument,
                 "malformed JSON (byte " + std::to_string(e.byte) + "): " + what,
                 {{"body", "malformed JSON at byte " + std::to_string(e.byte)}}};
  } catch (const json::out_of_range& e) {
    // A number no double can hold (1e400) is reported as out_of_range, not as a parse error.
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return Error{ErrorCode::kInvalidArgument, "malformed JSON: " + what, {{"body", what}}};
  }
  if (!j.is_object()) return Error::invalid("body", "must be a JSON object");
  return j;
}

std::string type_name(const json& v) { return v.type_name(); }

// A string field with a code-point length range; a range with min > 0 also rejects whitespace-only.
std::optional<std::string> text_field(const json& v, const std::string& field, LengthRange range,
                                      Errors& errs) {
  if (!v.is_string()) {
    errs.add(field, "must be a string, got " + type_name(v));
    return std::nullopt;
  }
  const auto& s = v.get_ref<const std::string&>();
  const std::size_t n = utf8_length(s);
  if (range.min > 0 && (n == 0 || blank(s))) {
    errs.add(field, "must not be empty");
    return std::nullopt;
  }
  if (n < range.min || n > range.max) {
    errs.add(field, "must be " + detail::range_text(range) + " characters, got " + std::to_string(n));
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> id_field(const json& v, const std::string& field, Errors& errs) {
  if (!v.is_string()) {
    errs.add(field, "must be a string id, got " + type_name(v));
    return std::nullopt;
  }
  const auto& s = v.get_ref<const std::string&>();
  if (!valid_id(s)) {
    errs.add(field, "is not a valid id");
    return std::nullopt;
  }
  return s;
}

std::optional<std::vector<std::string>> id_list(const json& v, const std::string& field, Errors& errs) {
  if (!v.is_array()) {
    errs.add(field, "must be an array of task ids, got " + type_name(v));
    return std::nullopt;
  }
  if (v.size() > kDependsOnMax) {
    errs.add(field, "must have at most " + std::to_string(kDependsOnMax) + " items, got " +
                        std::to_string(v.size()));
    return std::nullopt;
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  bool ok = true;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string item_field = field + "[" + std::to_string(i) + "]";
    auto id = id_field(v[i], item_field, errs);
    if (!id) {
      ok = false;
      continue;
    }
    if (!seen.insert(*id).second) {
      errs.add(item_field, "duplicate id " + *id);
      ok = false;
      continue;
    }
    out.push_back(*id);
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> labels_field(const json& v, Errors& errs) {
  if (!v.is_array()) {
    errs.add("labels", "must be an array of strings, got " + type_name(v));
    return std::nullopt;
  }
  if (v.size() > kLabelsMax) {
    errs.add("labels",
             "must have at most " + std::to_string(kLabelsMax) + " items, got " + std::to_string(v.size()));
    return std::nullopt;
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  bool ok = true;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string f = "labels[" + std::to_string(i) + "]";
    auto s = text_field(v[i], f, kLabel, errs);
    if (!s) {
      ok = false;
      continue;
    }
    if (!seen.insert(*s).second) {
      errs.add(f, "duplicate label " + *s);
      ok = false;
      continue;
    }
    out.push_back(*s);
  }
  if (!ok) return std::nullopt;
  return out;
}

bool read_only_field(std::string_view k) {
  return k == "id" || k == "created_at" || k == "updated_at" || k == "completed_at" || k == "version" ||
         k == "task_id";
}

void reject_field(const std::string& k, Errors& errs) {
  errs.add(k, read_only_field(k) ? "is read-only" : "unknown field");
}

}  // namespace

Result<ProjectInput> decode_project(std::string_view body, Mode mode) {
  auto j = parse_object(body);
  if (!j) return j.take_error();
  Errors errs;
  ProjectInput in;
  for (const auto& [k, v] : j->items()) {
    if (k == "name") {
      in.name = text_field(v, k, kProjectName, errs);
    } else if (k == "description") {
      in.description = text_field(v, k, kProjectDescription, errs);
    } else {
      reject_field(k, errs);
    }
  }
  if (mode == Mode::kCreate && !j->contains("name")) errs.add("name", "is required");
  if (!errs.empty()) return std::move(errs).to_error();
  return in;
}

Result<TaskInput> decode_task(std::string_view body, Mode mode) {
  auto j = parse_object(body);
  if (!j) return j.take_error();
  Errors errs;
  TaskInput in;
  auto nullable_id = [&](const json& v, const std::string& k) -> std::optional<std::optional<std::string>> {
    if (v.is_null()) return std::optional<std::string>();
    auto id = id_field(v, k, errs);
    if (!id) return std::nullopt;
    return std::optional<std::string>(std::move(*id));
  };
  for (const auto& [k, v] : j->items()) {
    if (k == "title") {
      in.title = text_field(v, k, kTitle, errs);
    } else if (k == "description") {
      in.description = text_field(v, k, kTaskDescription, errs);
    } else if (k == "project_id") {
      in.project_id = nullable_id(v, k);
    } else if (k == "parent_id") {
      in.parent_id = nullable_id(v, k);
    } else if (k == "status") {
      if (!v.is_string() || !store::parse_status(v.get_ref<const std::string&>())) {
        errs.add(k, "must be one of " + detail::joined(kStatusNames));
      } else {
        in.status = store::parse_status(v.get_ref<const std::string&>());
      }
    } else if (k == "priority") {
      if (!v.is_string() || !store::parse_priority(v.get_ref<const std::string&>())) {
        errs.add(k, "must be one of " + detail::joined(kPriorityNames));
      } else {
        in.priority = store::parse_priority(v.get_ref<const std::string&>());
      }
    } else if (k == "assignee") {
      if (v.is_null()) {
        in.assignee = std::optional<std::string>();
      } else if (auto s = text_field(v, k, kAssignee, errs)) {
        in.assignee = std::optional<std::string>(std::move(*s));
      }
    } else if (k == "labels") {
      in.labels = labels_field(v, errs);
    } else if (k == "due_at") {
      if (v.is_null()) {
        in.due_at = std::optional<TimeMs>();
      } else if (!v.is_string()) {
        errs.add(k, "must be an RFC 3339 date-time string or null, got " + type_name(v));
      } else if (auto t = detail::parse_time_ms(v.get_ref<const std::string&>())) {
        in.due_at = std::optional<TimeMs>(*t);
      } else {
        errs.add(k, "must be an RFC 3339 date-time such as 2026-12-01T17:00:00Z");
      }
    } else if (k == "depends_on") {
      in.depends_on = id_list(v, k, errs);
    } else {
      reject_field(k, errs);
    }
  }
  if (mode == Mode::kCreate && !j->contains("title")) errs.add("title", "is required");
  if (!errs.empty()) return std::move(errs).to_error();
  return in;
}

Result<CommentInput> decode_comment(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return j.take_error();
  Errors errs;
  CommentInput in;
  bool has_body = false;
  for (const auto& [k, v] : j->items()) {
    if (k == "body") {
      has_body = true;
      if (auto s = text_field(v, k, kCommentBody, errs)) in.body = std::move(*s);
    } else if (k == "author") {
      if (!v.is_null()) in.author = text_field(v, k, kAuthor, errs);
    } else {
      reject_field(k, errs);
    }
  }
  if (!has_body) errs.add("body", "is required");
  if (!errs.empty()) return std::move(errs).to_error();
  return in;
}

}  // namespace taskman::tasks
