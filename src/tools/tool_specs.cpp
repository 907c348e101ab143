#include "tools/tool_specs.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "tasks/limits.hpp"
#include "tools/board_tools.hpp"
#include "tools/rest_args.hpp"
#include "tools/schemas.hpp"
#include "tools/tool_results.hpp"

namespace taskman::tools {
namespace {

using client::encode_segment;

// The largest page the backend gives: what get_task fetches of a task's comments.
std::string max_page() { return std::to_string(tasks::kMaxLimit); }

std::vector<ToolSpec> build_specs() {
  std::vector<ToolSpec> specs;
  auto add = [&](std::string name, std::string title, std::string description, Json input, Json output,
                 Json ann, bool read_only, decltype(ToolSpec::run) run) {
    mcp::Tool t;
    t.name = std::move(name);
    t.title = std::move(title);
    t.description = std::move(description);
    t.input_schema = std::move(input);
    t.output_schema = std::move(output);
    t.annotations = std::move(ann);
    specs.push_back({std::move(t), read_only, std::move(run)});
  };
  const Json task_out = schema::object({{"task", schema::task()}}, {"task"});

  Json create_props = schema::task_writable_properties();
  add("create_task", "Create task",
      "Create a task. Only title is required; status defaults to todo and priority to medium. Use depends_on "
      "for tasks that must be done first and parent_id for sub-tasks. Each call creates a new task, so do "
      "not "
      "repeat a call that succeeded. Returns the created task with its id.",
      schema::object(create_props, {"title"}), task_out,
      schema::annotations(false, false, false, "Create task"), false,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        RestCall c{"POST", "/tasks", {}, args, std::nullopt, true};
        call_backend(b, ctx, std::move(c), std::move(reply), wrap_as("task"));
      });

  add("get_task", "Get task",
      "Fetch one task by id, optionally with its comments (include_comments: true, up to " + max_page() +
          ", oldest first).",
      schema::object(
          {{"id", schema::str("Task id.", 1)},
           {"include_comments", {{"type", "boolean"}, {"description", "Also return the task's comments."}}}},
          {"id"}),
      schema::object(
          {{"task", schema::task()}, {"comments", {{"type", "array"}, {"items", schema::comment()}}}},
          {"task"}),
      schema::annotations(true, false, true, "Get task"), true,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        const std::string id = encode_segment(args["id"].get<std::string>());
        const bool with_comments = args.value("include_comments", false);
        RestCall c{"GET", "/tasks/" + id, {}, std::nullopt, std::nullopt, false};
        call_backend(
            b, ctx, std::move(c), std::move(reply),
            [&b, ctx, id, with_comments](RestResult& r, mcp::Reply<Json> reply) {
              if (!with_comments) {
                reply(finish_structured(object_of("task", std::move(r.body)), r));
                return;
              }
              RestCall cc{
                  "GET", "/tasks/" + id + "/comments", {{"limit", max_page()}}, std::nullopt, std::nullopt,
                  false};
              auto task = std::make_shared<RestResult>(std::move(r));
              call_backend(
                  b, ctx, std::move(cc), std::move(reply),
                  [task](const RestResult& cr, mcp::Reply<Json> reply) {
                    RestResult merged = *task;
                    merged.stale = task->stale || cr.stale;
                    merged.age_ms = std::max(task->age_ms, cr.age_ms);
                    Json comments =
                        cr.body.is_object() && cr.body.contains("items") ? cr.body["items"] : Json::array();
                    reply(finish_structured(Json{{"task", task->body}, {"comments", comments}}, merged));
                  });
            });
      });

  add("list_tasks", "List tasks",
      "List tasks, oldest first unless sort says otherwise, with optional filters (all combined with AND). "
      "Results are paginated: pass next_cursor back as cursor for the next page (null means last page). "
      "Use fields to return only some task fields (id is always included) and save tokens.",
      schema::object(
          {{"project_id", schema::str("Only tasks of this project.")},
           {"status",
            {{"anyOf", {schema::status(), {{"type", "array"}, {"items", schema::status()}}}},
             {"description", "Only tasks in this status, or in any of these statuses."}}},
           {"priority", schema::with_description(schema::priority(), "Only tasks of this priority.")},
           {"assignee", schema::str("Only tasks assigned to this person.")},
           {"label", schema::str("Only tasks carrying this label.")},
           {"parent_id", schema::str("Only sub-tasks of this task.")},
           {"due_before",
            {{"type", "string"}, {"format", "date-time"}, {"description", "Due before this time."}}},
           {"due_after",
            {{"type", "string"}, {"format", "date-time"}, {"description", "Due after this time."}}},
           {"q", schema::str("Full-text search over title and description.")},
           {"sort",
            {{"type", "string"},
             {"enum", {"created_at", "-created_at", "updated_at", "-updated_at", "priority", "due_at"}},
             {"description",
              "Order: created_at, -updated_at (recently changed first), priority (urgent "
              "first) or due_at (soonest first)."}}},
           {"limit", schema::limit("Page size (default " + std::to_string(tasks::kDefaultLimit) + ").")},
           {"cursor", schema::str("next_cursor from the previous page.")},
           {"fields",
            {{"type", "array"}, {"items", schema::task_field()}, {"description", "Task fields to return."}}}},
          {}),
      schema::page(schema::partial_task()), schema::annotations(true, false, true, "List tasks"), true,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        RestCall c{"GET", "/tasks", {}, std::nullopt, std::nullopt, false};
        for (std::string_view q : tasks::kTaskListParams) add_query(c, args, std::string(q));
        std::optional<std::set<std::string>> fields;
        if (args.contains("fields")) {
          fields.emplace();
          fields->insert("id");
          for (const auto& f : args["fields"]) fields->insert(f.get<std::string>());
        }
        call_backend(b, ctx, std::move(c), std::move(reply),
                     [fields](const RestResult& r, mcp::Reply<Json> reply) {
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
                       reply(finish_structured(
                           Json{{"items", items}, {"next_cursor", r.body.value("next_cursor", Json())}}, r));
                     });
      });

  Json update_props = schema::task_writable_properties();
  update_props["id"] = schema::str("Id of the task to change.", 1);
  update_props["expected_version"] = {
      {"type", "integer"},
      {"minimum", 1},
      {"description", "The task version you last saw; the update is refused if it changed since."}};
  add("update_task", "Update task",
      "Change some fields of a task (only the ones you pass). Set status to move it through the workflow "
      "(" +
          schema::status_list() +
          "). Pass expected_version to avoid overwriting someone "
          "else's change. Returns the updated task.",
      schema::object(update_props, {"id"}), task_out, schema::annotations(false, true, true, "Update task"),
      false, [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        RestCall c{"PATCH",      "/tasks/" + encode_segment(args["id"].get<std::string>()),
                   {},           body_without(args, {"id", "expected_version"}),
                   std::nullopt, false};
        if (args.contains("expected_version")) c.if_match = args["expected_version"].get<std::int64_t>();
        call_backend(b, ctx, std::move(c), std::move(reply), wrap_as("task"));
      });

  add("delete_task", "Delete task", "Delete a task by id, with its comments. This cannot be undone.",
      schema::object({{"id", schema::str("Id of the task to delete.", 1)}}, {"id"}),
      schema::object({{"deleted", {{"type", "boolean"}}}, {"id", {{"type", "string"}}}}, {"deleted", "id"}),
      schema::annotations(false, true, true, "Delete task"), false,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        const std::string id = args["id"].get<std::string>();
        RestCall c{"DELETE", "/tasks/" + encode_segment(id), {}, std::nullopt, std::nullopt, false};
        call_backend(b, ctx, std::move(c), std::move(reply),
                     [id](const RestResult& r, mcp::Reply<Json> reply) {
                       reply(finish_structured(Json{{"deleted", true}, {"id", id}}, r));
                     });
      });

  add("next_task", "Next task",
      "What to work on next: the most urgent actionable task (status todo and every dependency done), "
      "optionally within a project or for an assignee. Returns task: null when nothing is actionable.",
      schema::object({{"project_id", schema::str("Only consider this project.")},
                      {"assignee", schema::str("Only consider tasks assigned to this person.")}},
                     {}),
      schema::object({{"task", {{"anyOf", {schema::task(), {{"type", "null"}}}}}}}, {"task"}),
      schema::annotations(true, false, true, "Next task"), true,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        RestCall c{"GET", "/tasks/next", {}, std::nullopt, std::nullopt, false};
        add_query(c, args, "project_id");
        add_query(c, args, "assignee");
        call_backend(b, ctx, std::move(c), std::move(reply), [](const RestResult& r, mcp::Reply<Json> reply) {
          reply(finish_structured(Json{{"task", r.status == 204 ? Json() : r.body}}, r));
        });
      });

  add("add_comment", "Add comment", "Add a comment to a task: progress notes, questions, decisions.",
      schema::object({{"task_id", schema::str("Task to comment on.", 1)},
                      {"body", schema::text("The comment", tasks::kCommentBody)},
                      {"author", schema::nullable_str("Who writes it (e.g. the agent's name).")}},
                     {"task_id", "body"}),
      schema::object({{"comment", schema::comment()}}, {"comment"}),
      schema::annotations(false, false, false, "Add comment"), false,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        RestCall c{"POST",       "/tasks/" + encode_segment(args["task_id"].get<std::string>()) + "/comments",
                   {},           body_without(args, {"task_id"}),
                   std::nullopt, true};
        call_backend(b, ctx, std::move(c), std::move(reply), wrap_as("comment"));
      });

  add("list_projects", "List projects",
      "List projects (paginated: pass next_cursor back as cursor; null means last page).",
      schema::object({{"limit", schema::limit("Page size.")},
                      {"cursor", schema::str("next_cursor from the previous page.")}},
                     {}),
      schema::page(schema::project()), schema::annotations(true, false, true, "List projects"), true,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        RestCall c{"GET", "/projects", {}, std::nullopt, std::nullopt, false};
        add_query(c, args, "limit");
        add_query(c, args, "cursor");
        call_backend(b, ctx, std::move(c), std::move(reply), [](const RestResult& r, mcp::Reply<Json> reply) {
          reply(finish_structured(Json{{"items", r.body.value("items", Json::array())},
                                       {"next_cursor", r.body.value("next_cursor", Json())}},
                                  r));
        });
      });

  add("create_project", "Create project",
      "Create a project to group tasks. Names are unique (" + std::to_string(tasks::kProjectName.min) + ".." +
          std::to_string(tasks::kProjectName.max) + " characters).",
      schema::object({{"name", schema::text("Unique project name", tasks::kProjectName)},
                      {"description", schema::text("What the project is about", tasks::kProjectDescription)}},
                     {"name"}),
      schema::object({{"project", schema::project()}}, {"project"}),
      schema::annotations(false, false, false, "Create project"), false,
      [](Backend& b, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
        RestCall c{"POST", "/projects", {}, args, std::nullopt, true};
        call_backend(b, ctx, std::move(c), std::move(reply), wrap_as("project"));
      });
  specs.push_back(board_tool_spec());
  return specs;
}

}  // namespace

const std::vector<ToolSpec>& specs() {
  static const std::vector<ToolSpec> kSpecs = build_specs();
  return kSpecs;
}

}  // namespace taskman::tools
