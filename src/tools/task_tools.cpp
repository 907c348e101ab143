#include "tools/task_tools.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include "core/text.hpp"
#include "mcp/types.hpp"
#include "tools/board_tools.hpp"

namespace taskman::tools {

using Json = nlohmann::json;

using client::encode_segment;

namespace {

// ---- schemas --------------------------------------------------------------------------------

const Json kStatus = {{"type", "string"}, {"enum", {"todo", "in_progress", "blocked", "done", "cancelled"}}};
const Json kPriority = {{"type", "string"}, {"enum", {"low", "medium", "high", "urgent"}}};
const std::vector<std::string> kTaskFields = {"id",       "project_id", "parent_id",  "title",      "description",
                                              "status",   "priority",   "assignee",   "labels",     "due_at",
                                              "depends_on", "created_at", "updated_at", "completed_at", "version"};

Json str(std::string description, int min_len = 0, int max_len = 0) {
  Json j = {{"type", "string"}, {"description", std::move(description)}};
  if (min_len > 0) j["minLength"] = min_len;
  if (max_len > 0) j["maxLength"] = max_len;
  return j;
}

// Nullable as anyOf with single-type branches: `"type": [..]` arrays are legal JSON Schema but less
// portable (clients that map schemas onto a single-type dialect reject or drop them).
Json nullable(Json schema) { return {{"anyOf", {std::move(schema), {{"type", "null"}}}}}; }

Json nullable_str(std::string description, int max_len = 0) {
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
  return {{"type", "array"}, {"items", {{"type", "string"}, {"minLength", 1}}}, {"description", std::move(description)}};
}

Json labels_schema() {
  return {{"type", "array"},
          {"items", {{"type", "string"}, {"minLength", 1}, {"maxLength", 50}}},
          {"maxItems", 20},
          {"description", "Free-form labels (at most 20, each 1..50 characters)."}};
}

Json date_time(std::string description) {
  Json j = nullable({{"type", "string"}, {"format", "date-time"}});
  j["description"] = std::move(description);
  return j;
}

Json task_schema() {
  return {{"type", "object"},
          {"properties",
           {{"id", {{"type", "string"}}},
            {"project_id", nullable({{"type", "string"}})},
            {"parent_id", nullable({{"type", "string"}})},
            {"title", {{"type", "string"}}},
            {"description", {{"type", "string"}}},
            {"status", kStatus},
            {"priority", kPriority},
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

Json partial_task_schema() {
  Json s = task_schema();
  s["required"] = {"id"};
  return s;
}

Json comment_schema() {
  return {{"type", "object"},
          {"properties",
           {{"id", {{"type", "string"}}},
            {"task_id", {{"type", "string"}}},
            {"author", nullable({{"type", "string"}})},
            {"body", {{"type", "string"}}},
            {"created_at", {{"type", "string"}}}}},
          {"required", {"id", "task_id", "body", "created_at"}}};
}

Json project_schema() {
  return {{"type", "object"},
          {"properties",
           {{"id", {{"type", "string"}}},
            {"name", {{"type", "string"}}},
            {"description", {{"type", "string"}}},
            {"created_at", {{"type", "string"}}},
            {"updated_at", {{"type", "string"}}}}},
          {"required", {"id", "name", "created_at", "updated_at"}}};
}

Json object_schema(Json properties, std::vector<std::string> required) {
  Json j = {{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty()) j["required"] = required;
  return j;
}

Json page_schema(Json item) {
  return object_schema({{"items", {{"type", "array"}, {"items", std::move(item)}}},
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
  return {{"title", str("Short summary of the work (1..200 characters).", 1, 200)},
          {"description", str("Details, acceptance criteria, links (at most 10000 characters).", 0, 10000)},
          {"project_id", nullable_str("Project the task belongs to (see list_projects); null for none.")},
          {"parent_id", nullable_str("Parent task id for a sub-task; null for none. A task cannot be its own parent.")},
          {"status", with_description(kStatus, "Workflow state; completed_at is set when it becomes done.")},
          {"priority", with_description(kPriority, "How urgent the task is; next_task picks urgent first.")},
          {"assignee", nullable_str("Who works on it (at most 100 characters); null for nobody.", 100)},
          {"labels", labels_schema()},
          {"due_at", date_time("Deadline as RFC 3339 date-time (e.g. 2026-12-01T17:00:00Z); null for none.")},
          {"depends_on", id_array("Ids of tasks that must be done before this one is actionable. Cycles are "
                                  "rejected.")}};
}

// ---- argument validation ----------------------------------------------------------------------

bool type_matches(const std::string& type, const Json& v) {
  if (type == "string") return v.is_string();
  if (type == "integer") return v.is_number_integer();
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  if (type == "array") return v.is_array();
  if (type == "object") return v.is_object();
  if (type == "null") return v.is_null();
  return false;
}

void check(const Json& schema, const Json& v, const std::string& path, std::vector<FieldError>& errors) {
  if (schema.contains("anyOf")) {
    // Valid when one branch accepts it. Otherwise report the branch of the value's own type (its
    // message is the precise one), or else which types would do.
    std::string types;
    for (const auto& branch : schema["anyOf"]) {
      std::vector<FieldError> e;
      check(branch, v, path, e);
      if (e.empty()) return;
      const std::string t = branch.value("type", std::string("value"));
      types += (types.empty() ? "" : " or ") + t;
      if (branch.contains("type") && type_matches(t, v)) {
        errors.insert(errors.end(), e.begin(), e.end());
        return;
      }
    }
    errors.push_back({path, "must be " + types});
    return;
  }
  if (schema.contains("type")) {
    const auto& t = schema["type"];
    bool ok = false;
    std::string expected;
    for (const auto& one : t.is_array() ? t : Json::array({t})) {
      ok = ok || type_matches(one.get<std::string>(), v);
      expected += (expected.empty() ? "" : " or ") + one.get<std::string>();
    }
    if (!ok) {
      errors.push_back({path, "must be " + expected});
      return;
    }
  }
  if (schema.contains("enum")) {
    if (std::find(schema["enum"].begin(), schema["enum"].end(), v) == schema["enum"].end()) {
      std::string options;
      for (const auto& e : schema["enum"]) options += (options.empty() ? "" : ", ") + e.get<std::string>();
      errors.push_back({path, "must be one of " + options});
      return;
    }
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (schema.contains("minLength") && s.size() < schema["minLength"].get<std::size_t>()) {
      errors.push_back({path, s.empty() ? "must not be empty" : "is too short"});
    }
  }
  if (v.is_number_integer()) {
    const auto n = v.get<std::int64_t>();
    if (schema.contains("minimum") && n < schema["minimum"].get<std::int64_t>()) {
      errors.push_back({path, "must be at least " + schema["minimum"].dump()});
    }
    if (schema.contains("maximum") && n > schema["maximum"].get<std::int64_t>()) {
      errors.push_back({path, "must be at most " + schema["maximum"].dump()});
    }
  }
  if (v.is_array()) {
    if (schema.contains("maxItems") && v.size() > schema["maxItems"].get<std::size_t>()) {
      errors.push_back({path, "must have at most " + schema["maxItems"].dump() + " items"});
    }
    if (schema.contains("items")) {
      for (std::size_t i = 0; i < v.size(); ++i) check(schema["items"], v[i], path + "[" + std::to_string(i) + "]", errors);
    }
  }
  if (v.is_object() && schema.contains("properties")) {
    const auto& props = schema["properties"];
    for (const auto& [k, val] : v.items()) {
      const std::string sub = path.empty() ? k : path + "." + k;
      if (props.contains(k)) {
        check(props[k], val, sub, errors);
      } else if (schema.value("additionalProperties", true) == false) {
        errors.push_back({sub, "is not a known argument"});
      }
    }
    if (schema.contains("required")) {
      for (const auto& r : schema["required"]) {
        if (!v.contains(r.get<std::string>())) {
          const std::string sub = path.empty() ? r.get<std::string>() : path + "." + r.get<std::string>();
          errors.push_back({sub, "is required"});
        }
      }
    }
  }
}

}  // namespace

Status validate_arguments(const Json& schema, const Json& args) {
  std::vector<FieldError> errors;
  check(schema, args, "", errors);
  if (errors.empty()) return {};
  std::string summary = "invalid arguments: ";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    summary += (i ? "; " : "") + errors[i].field + " " + errors[i].message;
  }
  return Error{ErrorCode::kInvalidArgument, summary, std::move(errors)};
}

namespace {

// ---- answers ---------------------------------------------------------------------------------

std::string request_id_of(const mcp::CallPtr& ctx) { return ctx->request_context().request_id; }

std::string with_request_id(std::string text, const std::string& request_id) {
  if (!request_id.empty()) text += " (request_id: " + request_id + ")";
  return text;
}

Json error_result(std::string text, const std::string& request_id) {
  return mcp::tool_error_result(with_request_id(std::move(text), request_id));
}

std::string problem_text(const RestResult& r) {
  std::string detail;
  if (r.body.is_object()) {
    detail = r.body.value("detail", std::string());
    if (detail.empty()) detail = r.body.value("title", std::string());
    if (r.body.contains("errors") && r.body["errors"].is_array()) {
      std::string fields;
      for (const auto& e : r.body["errors"]) {
        if (!e.is_object()) continue;
        fields += (fields.empty() ? "" : "; ") + e.value("field", std::string("?")) + ": " +
                  e.value("message", std::string("invalid"));
      }
      if (!fields.empty() && detail.find(fields) == std::string::npos) detail += (detail.empty() ? "" : " — ") + fields;
    }
  }
  if (detail.empty()) detail = "HTTP " + std::to_string(r.status);
  return detail;
}

// What an agent should read when the backend said no.
std::string explain_status(const RestResult& r, const RestCall& call) {
  const std::string detail = problem_text(r);
  switch (r.status) {
    case 400:
      return "Invalid arguments: " + detail + ". Fix the named fields and call the tool again.";
    case 404:
      return "Not found: " + detail + ". Check the id (list_tasks and list_projects show existing ones).";
    case 409:
      return "Conflict: " + detail + ".";
    case 412:
      return "Conflict: the task was changed by someone else" +
             (call.if_match ? " (you expected version " + std::to_string(*call.if_match) + ")" : std::string()) +
             ": " + detail + ". Call get_task for the current version, then retry with that expected_version.";
    case 413:
      return "Too large: " + detail + ". Send less data.";
    case 422:
      return "Rejected: " + detail + ". Change the arguments and call the tool again.";
    default:
      if (r.status == 429 || r.status >= 500) {
        // Said as answered (a gateway in front of the backend answers 502/503/504 with no problem body).
        std::string text = "The backend answered " + client::describe_status(r.status);
        if (r.attempts > 1) text += " (" + std::to_string(r.attempts) + " attempts)";
        if (detail != "HTTP " + std::to_string(r.status)) text += ": " + detail;
        if (r.retry_after_ms < 0) return text + ". Retry later.";
        return text + ". Retry in " + std::to_string((r.retry_after_ms + 999) / 1000) + " s.";
      }
      return "Unexpected answer from the backend (HTTP " + std::to_string(r.status) + "): " + detail + ".";
  }
}

std::string explain_unavailable(const Error& e) {
  std::string text = "Backend unavailable: " + e.message;
  if (e.retry_after_ms >= 0) {
    const auto secs = (e.retry_after_ms + 999) / 1000;
    text += ", retry in " + std::to_string(secs) + " s";
  } else {
    text += "; retry later";
  }
  text += ".";
  return text;
}

Json finish_structured(Json structured, const RestResult& r) {
  Json result = mcp::structured_result(std::move(structured));
  if (r.stale) {
    result["_meta"] = {{"taskman/stale", true}, {"taskman/age_ms", r.age_ms}};
    std::string note = "Note: the backend is unavailable";
    if (!r.retry_hint.empty()) note += " (" + r.retry_hint + ")";
    note += "; this answer comes from the cache and is " + std::to_string(r.age_ms) + " ms old.";
    result["content"].push_back(mcp::text_content(note));
  }
  return result;
}

using OnOk = std::function<void(const RestResult&, mcp::Reply<Json>)>;

// One REST call; non-2xx and transport failures become isError results, 2xx goes to on_ok.
void call_backend(Backend& backend, const mcp::CallPtr& ctx, RestCall call, mcp::Reply<Json> reply, OnOk on_ok) {
  auto shared_call = std::make_shared<RestCall>(call);
  backend.call(ctx->request_context(), std::move(call),
               [ctx, shared_call, reply = std::move(reply), on_ok = std::move(on_ok)](Result<RestResult> r) {
                 const std::string rid = request_id_of(ctx);
                 if (!r) {
                   reply(error_result(explain_unavailable(r.error()), rid));
                   return;
                 }
                 if (r->status < 200 || r->status >= 300) {
                   reply(error_result(explain_status(*r, *shared_call), rid));
                   return;
                 }
                 on_ok(*r, reply);
               });
}

// Passes a 2xx body through as {key: body}.
OnOk wrap_as(std::string key) {
  return [key = std::move(key)](const RestResult& r, mcp::Reply<Json> reply) {
    reply(finish_structured(Json{{key, r.body}}, r));
  };
}

Json body_without(const Json& args, std::initializer_list<const char*> drop) {
  Json body = args;
  for (const char* k : drop) body.erase(k);
  return body;
}

void add_query(RestCall& call, const Json& args, const char* name) {
  if (!args.contains(name) || args[name].is_null()) return;
  const auto& v = args[name];
  if (v.is_array()) {
    for (const auto& item : v) call.query.emplace_back(name, item.is_string() ? item.get<std::string>() : item.dump());
  } else {
    call.query.emplace_back(name, v.is_string() ? v.get<std::string>() : v.dump());
  }
}

struct ToolSpec {
  mcp::Tool tool;
  bool read_only;
  std::function<void(Backend&, const mcp::CallPtr&, const Json&, mcp::Reply<Json>)> run;
};

std::vector<ToolSpec> build_specs() {
  std::vector<ToolSpec> specs;
  auto add = [&](std::string name, std::string title, std::string description, Json input, Json output, Json ann,
                 bool read_only, decltype(ToolSpec::run) run) {
    mcp::Tool t;
    t.name = std::move(name);
    t.title = std::move(title);
    t.description = std::move(description);
    t.input_schema = std::move(input);
    t.output_schema = std::move(output);
    t.annotations = std::move(ann);
    specs.push_back({std::move(t), read_only, std::move(run)});
  };
  const Json task_out = object_schema({{"task", task_schema()}}, {"task"});

  Json create_props = task_writable_properties();
  add("create_task", "Create task",
      "Create a task. Only title is required; status defaults to todo and priority to medium. Use depends_on "
      "for tasks that must be done first and parent_id for sub-tasks. Each call creates a new task, so do not "
      "repeat a call that succeeded. Returns the created task with its id.",
      object_schema(create_props, {"title"}), task_out, annotations(false, false, false, "Create task"), false,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        RestCall c{"POST", "/tasks", {}, args, std::nullopt, true};
        call_backend(b, ctx, std::move(c), std::move(reply), wrap_as("task"));
      });

  add("get_task", "Get task",
      "Fetch one task by id, optionally with its comments (include_comments: true, up to 100, oldest first).",
      object_schema({{"id", str("Task id.", 1)},
                     {"include_comments", {{"type", "boolean"}, {"description", "Also return the task's comments."}}}},
                    {"id"}),
      object_schema({{"task", task_schema()}, {"comments", {{"type", "array"}, {"items", comment_schema()}}}},
                    {"task"}),
      annotations(true, false, true, "Get task"), true,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        const std::string id = encode_segment(args["id"].get<std::string>());
        const bool with_comments = args.value("include_comments", false);
        RestCall c{"GET", "/tasks/" + id, {}, std::nullopt, std::nullopt, false};
        call_backend(b, ctx, std::move(c), std::move(reply),
                     [&b, ctx, id, with_comments](const RestResult& r, mcp::Reply<Json> reply) {
                       if (!with_comments) {
                         reply(finish_structured(Json{{"task", r.body}}, r));
                         return;
                       }
                       RestCall cc{"GET", "/tasks/" + id + "/comments", {{"limit", "100"}}, std::nullopt,
                                   std::nullopt, false};
                       auto task = std::make_shared<RestResult>(r);
                       call_backend(b, ctx, std::move(cc), std::move(reply),
                                    [task](const RestResult& cr, mcp::Reply<Json> reply) {
                                      RestResult merged = *task;
                                      merged.stale = task->stale || cr.stale;
                                      merged.age_ms = std::max(task->age_ms, cr.age_ms);
                                      Json comments = cr.body.is_object() && cr.body.contains("items")
                                                          ? cr.body["items"]
                                                          : Json::array();
                                      reply(finish_structured(Json{{"task", task->body}, {"comments", comments}},
                                                              merged));
                                    });
                     });
      });

  Json field_enum = {{"type", "string"}, {"enum", kTaskFields}};
  add("list_tasks", "List tasks",
      "List tasks, oldest first unless sort says otherwise, with optional filters (all combined with AND). "
      "Results are paginated: pass next_cursor back as cursor for the next page (null means last page). "
      "Use fields to return only some task fields (id is always included) and save tokens.",
      object_schema(
          {{"project_id", str("Only tasks of this project.")},
           {"status", {{"anyOf", {kStatus, {{"type", "array"}, {"items", kStatus}}}},
                       {"description", "Only tasks in this status, or in any of these statuses."}}},
           {"priority", with_description(kPriority, "Only tasks of this priority.")},
           {"assignee", str("Only tasks assigned to this person.")},
           {"label", str("Only tasks carrying this label.")},
           {"parent_id", str("Only sub-tasks of this task.")},
           {"due_before", {{"type", "string"}, {"format", "date-time"}, {"description", "Due before this time."}}},
           {"due_after", {{"type", "string"}, {"format", "date-time"}, {"description", "Due after this time."}}},
           {"q", str("Full-text search over title and description.")},
           {"sort", {{"type", "string"},
                     {"enum", {"created_at", "-created_at", "updated_at", "-updated_at", "priority", "due_at"}},
                     {"description", "Order: created_at, -updated_at (recently changed first), priority (urgent "
                                     "first) or due_at (soonest first)."}}},
           {"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}, {"description", "Page size (default 50)."}}},
           {"cursor", str("next_cursor from the previous page.")},
           {"fields", {{"type", "array"}, {"items", field_enum}, {"description", "Task fields to return."}}}},
          {}),
      page_schema(partial_task_schema()), annotations(true, false, true, "List tasks"), true,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        RestCall c{"GET", "/tasks", {}, std::nullopt, std::nullopt, false};
        for (const char* q : {"project_id", "status", "priority", "assignee", "label", "parent_id", "due_before",
                              "due_after", "q", "sort", "limit", "cursor"}) {
          add_query(c, args, q);
        }
        std::optional<std::set<std::string>> fields;
        if (args.contains("fields")) {
          fields.emplace();
          fields->insert("id");
          for (const auto& f : args["fields"]) fields->insert(f.get<std::string>());
        }
        call_backend(b, ctx, std::move(c), std::move(reply), [fields](const RestResult& r, mcp::Reply<Json> reply) {
          Json items = r.body.value("items", Json::array());
          if (fields) {
            for (auto& item : items) {
              Json trimmed = Json::object();
              for (const auto& f : *fields) {
                if (item.contains(f)) trimmed[f] = item[f];
              }
              item = std::move(trimmed);
            }
          }
          reply(finish_structured(Json{{"items", items}, {"next_cursor", r.body.value("next_cursor", Json())}}, r));
        });
      });

  Json update_props = task_writable_properties();
  update_props["id"] = str("Id of the task to change.", 1);
  update_props["expected_version"] = {
      {"type", "integer"},
      {"minimum", 1},
      {"description", "The task version you last saw; the update is refused if it changed since."}};
  add("update_task", "Update task",
      "Change some fields of a task (only the ones you pass). Set status to move it through the workflow "
      "(todo, in_progress, blocked, done, cancelled). Pass expected_version to avoid overwriting someone "
      "else's change. Returns the updated task.",
      object_schema(update_props, {"id"}), task_out, annotations(false, true, true, "Update task"), false,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        RestCall c{"PATCH", "/tasks/" + encode_segment(args["id"].get<std::string>()), {},
                   body_without(args, {"id", "expected_version"}), std::nullopt, false};
        if (args.contains("expected_version")) c.if_match = args["expected_version"].get<std::int64_t>();
        call_backend(b, ctx, std::move(c), std::move(reply), wrap_as("task"));
      });

  add("delete_task", "Delete task", "Delete a task by id, with its comments. This cannot be undone.",
      object_schema({{"id", str("Id of the task to delete.", 1)}}, {"id"}),
      object_schema({{"deleted", {{"type", "boolean"}}}, {"id", {{"type", "string"}}}}, {"deleted", "id"}),
      annotations(false, true, true, "Delete task"), false,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        const std::string id = args["id"].get<std::string>();
        RestCall c{"DELETE", "/tasks/" + encode_segment(id), {}, std::nullopt, std::nullopt, false};
        call_backend(b, ctx, std::move(c), std::move(reply), [id](const RestResult& r, mcp::Reply<Json> reply) {
          reply(finish_structured(Json{{"deleted", true}, {"id", id}}, r));
        });
      });

  add("next_task", "Next task",
      "What to work on next: the most urgent actionable task (status todo and every dependency done), "
      "optionally within a project or for an assignee. Returns task: null when nothing is actionable.",
      object_schema({{"project_id", str("Only consider this project.")},
                     {"assignee", str("Only consider tasks assigned to this person.")}},
                    {}),
      object_schema({{"task", {{"anyOf", {task_schema(), {{"type", "null"}}}}}}}, {"task"}),
      annotations(true, false, true, "Next task"), true,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        RestCall c{"GET", "/tasks/next", {}, std::nullopt, std::nullopt, false};
        add_query(c, args, "project_id");
        add_query(c, args, "assignee");
        call_backend(b, ctx, std::move(c), std::move(reply), [](const RestResult& r, mcp::Reply<Json> reply) {
          reply(finish_structured(Json{{"task", r.status == 204 ? Json() : r.body}}, r));
        });
      });

  add("add_comment", "Add comment", "Add a comment to a task: progress notes, questions, decisions.",
      object_schema({{"task_id", str("Task to comment on.", 1)},
                     {"body", str("The comment (1..10000 characters).", 1, 10000)},
                     {"author", nullable_str("Who writes it (e.g. the agent's name).")}},
                    {"task_id", "body"}),
      object_schema({{"comment", comment_schema()}}, {"comment"}), annotations(false, false, false, "Add comment"),
      false,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        RestCall c{"POST", "/tasks/" + encode_segment(args["task_id"].get<std::string>()) + "/comments", {},
                   body_without(args, {"task_id"}), std::nullopt, true};
        call_backend(b, ctx, std::move(c), std::move(reply), wrap_as("comment"));
      });

  add("list_projects", "List projects",
      "List projects (paginated: pass next_cursor back as cursor; null means last page).",
      object_schema({{"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}, {"description", "Page size."}}},
                     {"cursor", str("next_cursor from the previous page.")}},
                    {}),
      page_schema(project_schema()), annotations(true, false, true, "List projects"), true,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        RestCall c{"GET", "/projects", {}, std::nullopt, std::nullopt, false};
        add_query(c, args, "limit");
        add_query(c, args, "cursor");
        call_backend(b, ctx, std::move(c), std::move(reply), [](const RestResult& r, mcp::Reply<Json> reply) {
          reply(finish_structured(
              Json{{"items", r.body.value("items", Json::array())}, {"next_cursor", r.body.value("next_cursor", Json())}},
              r));
        });
      });

  add("create_project", "Create project", "Create a project to group tasks. Names are unique (1..100 characters).",
      object_schema({{"name", str("Unique project name (1..100 characters).", 1, 100)},
                     {"description", str("What the project is about (at most 2000 characters).", 0, 2000)}},
                    {"name"}),
      object_schema({{"project", project_schema()}}, {"project"}), annotations(false, false, false, "Create project"),
      false,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        RestCall c{"POST", "/projects", {}, args, std::nullopt, true};
        call_backend(b, ctx, std::move(c), std::move(reply), wrap_as("project"));
      });
  return specs;
}

const std::vector<ToolSpec>& specs() {
  static const std::vector<ToolSpec> kSpecs = build_specs();
  return kSpecs;
}

// ---- resources, prompts, completions ----------------------------------------------------------

void read_json_resource(Backend& b, const mcp::CallPtr& ctx, std::string uri, std::string path,
                        mcp::Reply<Json> reply) {
  RestCall c{"GET", std::move(path), {}, std::nullopt, std::nullopt, false};
  if (c.path == "/projects") c.query = {{"limit", "100"}};
  b.call(ctx->request_context(), std::move(c), [uri, reply = std::move(reply)](Result<RestResult> r) {
    if (!r) {
      Error e = r.take_error();
      e.message = "backend unavailable: " + e.message;
      reply(std::move(e));
      return;
    }
    if (r->status == 404) {
      reply(Error::make(ErrorCode::kNotFound, "resource not found: " + uri));
      return;
    }
    if (r->status < 200 || r->status >= 300) {
      reply(Error::make(ErrorCode::kUnavailable, "backend answered HTTP " + std::to_string(r->status)));
      return;
    }
    reply(Json::array({{{"uri", uri}, {"mimeType", "application/json"}, {"text", r->body.dump()}}}));
  });
}

std::string user_text(const Json& args, const char* name) {
  if (!args.is_object() || !args.contains(name) || !args[name].is_string()) return {};
  return args[name].get<std::string>();
}

Json user_message(std::string text) {
  return {{"role", "user"}, {"content", {{"type", "text"}, {"text", std::move(text)}}}};
}

}  // namespace

const std::vector<std::string>& tool_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> n;
    for (const auto& s : specs()) n.push_back(s.tool.name);
    return n;
  }();
  return kNames;
}

void register_task_tools(mcp::Server& server, Backend& backend, ToolsOptions options) {
  for (const auto& spec : specs()) {
    if (options.read_only && !spec.read_only) continue;
    const Json schema = spec.tool.input_schema;
    auto run = spec.run;
    auto on_call = options.on_call;
    const std::string name = spec.tool.name;
    server.add_tool(spec.tool, [&backend, schema, run, on_call, name](mcp::CallPtr ctx, Json args,
                                                                    mcp::Reply<Json> reply) {
      if (on_call) {
        const auto started = std::chrono::steady_clock::now();
        reply = [reply = std::move(reply), on_call, name, started](Result<Json> r) {
          const bool failed = !r.ok() || r->value("isError", false);
          on_call(name, failed ? "tool_error" : "ok",
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
          reply(std::move(r));
        };
      }
      if (args.is_null()) args = Json::object();
      if (auto ok = validate_arguments(schema, args); !ok) {
        std::string problems;
        for (const auto& f : ok.error().fields) problems += (problems.empty() ? "" : "; ") + f.field + " " + f.message;
        reply(error_result("Invalid arguments: " + problems + ". Fix the named fields and call the tool again.",
                           request_id_of(ctx)));
        return;
      }
      run(backend, ctx, args, std::move(reply));
    });
  }

  mcp::Resource projects;
  projects.uri = "taskman://projects";
  projects.name = "projects";
  projects.title = "Projects";
  projects.description = "Every project (first 100), as JSON.";
  projects.mime_type = "application/json";
  server.add_resource(projects, [&backend](mcp::CallPtr ctx, std::string uri, mcp::Reply<Json> reply) {
    read_json_resource(backend, ctx, std::move(uri), "/projects", std::move(reply));
  });
  // taskman://<kind>/{id} reads GET /<kind>/{id}.
  auto add_template = [&](std::string kind, std::string name, std::string title, std::string description) {
    mcp::ResourceTemplate tpl;
    tpl.uri_template = "taskman://" + kind + "/{id}";
    tpl.name = std::move(name);
    tpl.title = std::move(title);
    tpl.description = std::move(description);
    tpl.mime_type = "application/json";
    server.add_resource_template(tpl, [&backend, kind](mcp::CallPtr ctx, std::string uri,
                                                       std::vector<std::pair<std::string, std::string>> vars,
                                                       mcp::Reply<Json> reply) {
      read_json_resource(backend, ctx, std::move(uri), "/" + kind + "/" + encode_segment(vars.at(0).second),
                         std::move(reply));
    });
  };
  add_template("projects", "project", "Project", "One project by id, as JSON.");
  add_template("tasks", "task", "Task", "One task by id, as JSON.");

  mcp::Prompt plan;
  plan.name = "plan_project";
  plan.title = "Plan a project";
  plan.description = "Turn a goal into a project's tasks, with priorities and dependencies.";
  plan.arguments = {{"goal", "What the project should achieve.", true},
                    {"project_id", "Existing project to add the tasks to (else create one).", false}};
  server.add_prompt(plan, [](mcp::CallPtr, Json args, mcp::Reply<Json> reply) {
    const std::string goal = user_text(args, "goal");
    if (goal.empty()) {
      reply(Error::invalid("goal", "is required"));
      return;
    }
    const std::string project_id = user_text(args, "project_id");
    std::string text = "Plan the work for this goal:\n\n" + goal +
                       "\n\nBreak it into concrete tasks of a few hours each. For each task choose a short title, "
                       "a description with acceptance criteria, a priority (urgent, high, medium, low) and the "
                       "tasks it depends on. ";
    text += project_id.empty()
                ? "First create a project with create_project, then create the tasks in it with create_task "
                  "(project_id), earliest dependencies first so their ids can go into depends_on."
                : "Create the tasks with create_task in project " + project_id +
                      ", earliest dependencies first so their ids can go into depends_on.";
    text += " Finish by calling next_task to show what to start with.";
    reply(Json{{"description", "Plan tasks for: " + goal}, {"messages", Json::array({user_message(text)})}});
  });

  mcp::Prompt standup;
  standup.name = "standup";
  standup.title = "Stand-up summary";
  standup.description = "Summarise a project's recent changes: done, in progress, blocked, next.";
  standup.arguments = {{"project_id", "The project to summarise.", true}};
  server.add_prompt(standup, [&backend](mcp::CallPtr ctx, Json args, mcp::Reply<Json> reply) {
    const std::string project_id = user_text(args, "project_id");
    if (project_id.empty()) {
      reply(Error::invalid("project_id", "is required"));
      return;
    }
    RestCall c{"GET", "/tasks", {{"project_id", project_id}, {"sort", "-updated_at"}, {"limit", "50"}},
               std::nullopt, std::nullopt, false};
    backend.call(ctx->request_context(), std::move(c), [project_id, reply = std::move(reply)](Result<RestResult> r) {
      if (!r) {
        Error e = r.take_error();
        e.message = "backend unavailable: " + e.message;
        reply(std::move(e));
        return;
      }
      if (r->status != 200) {
        reply(Error::make(r->status == 404 ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                          "cannot list tasks of project " + project_id + ": HTTP " + std::to_string(r->status)));
        return;
      }
      std::string lines;
      for (const auto& t : r->body.value("items", Json::array())) {
        lines += "- [" + t.value("status", std::string("?")) + "] " + t.value("title", std::string()) + " (" +
                 t.value("priority", std::string("?")) + ", updated " + t.value("updated_at", std::string()) +
                 ", id " + t.value("id", std::string()) + ")\n";
      }
      if (lines.empty()) lines = "(no tasks yet)\n";
      std::string text = "Write a short stand-up for project " + project_id +
                         ": what was done, what is in progress, what is blocked and why, and what comes next. "
                         "Recently changed tasks, newest first:\n\n" + lines;
      reply(Json{{"description", "Stand-up for project " + project_id},
                 {"messages", Json::array({user_message(text)})}});
    });
  });

  server.set_completion_handler([&backend](mcp::CallPtr ctx, Json params, mcp::Reply<Json> reply) {
    const Json& arg = params.contains("argument") ? params["argument"] : Json();
    const std::string name = arg.is_object() ? arg.value("name", std::string()) : std::string();
    const std::string prefix = arg.is_object() ? arg.value("value", std::string()) : std::string();
    if (name != "project_id") {
      reply(Json{{"values", Json::array()}});
      return;
    }
    RestCall c{"GET", "/projects", {{"limit", "100"}}, std::nullopt, std::nullopt, false};
    backend.call(ctx->request_context(), std::move(c), [prefix, reply = std::move(reply)](Result<RestResult> r) {
      Json values = Json::array();
      if (r && r->status == 200) {
        for (const auto& p : r->body.value("items", Json::array())) {
          const std::string id = p.value("id", std::string());
          const std::string pname = p.value("name", std::string());
          if (id.starts_with(prefix) || to_lower(pname).starts_with(to_lower(prefix))) values.push_back(id);
        }
      }
      reply(Json{{"values", values}, {"total", values.size()}, {"hasMore", false}});
    });
  });

  register_board(server, backend);  // the MCP App, for clients that announce the extension
}

}  // namespace taskman::tools
