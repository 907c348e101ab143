#include "tools/prompts.hpp"

#include <string>
#include <utility>

#include "core/text.hpp"
#include "tasks/limits.hpp"

namespace taskman::tools {
namespace {

using Json = nlohmann::json;

std::string user_text(const Json& args, const char* name) {
  if (!args.is_object() || !args.contains(name) || !args[name].is_string()) return {};
  return args[name].get<std::string>();
}

Json user_message(std::string text) {
  return {{"role", "user"}, {"content", {{"type", "text"}, {"text", std::move(text)}}}};
}

}  // namespace

void register_prompts(mcp::Server& server, Backend& backend) {
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
    std::string text =
        "Plan the work for this goal:\n\n" + goal +
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
    RestCall c{
        "GET",        "/tasks",     {{"project_id", project_id}, {"sort", "-updated_at"}, {"limit", "50"}},
        std::nullopt, std::nullopt, false};
    backend.call(
        ctx->request_context(), std::move(c), [project_id, reply = std::move(reply)](Result<RestResult> r) {
          if (!r) {
            Error e = r.take_error();
            e.message = "backend unavailable: " + e.message;
            reply(std::move(e));
            return;
          }
          if (r->status != 200) {
            reply(Error::make(
                r->status == 404 ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                "cannot list tasks of project " + project_id + ": HTTP " + std::to_string(r->status)));
            return;
          }
          std::string lines;
          for (const auto& t : r->body.value("items", Json::array())) {
            lines += "- [" + t.value("status", std::string("?")) + "] " + t.value("title", std::string()) +
                     " (" + t.value("priority", std::string("?")) + ", updated " +
                     t.value("updated_at", std::string()) + ", id " + t.value("id", std::string()) + ")\n";
          }
          if (lines.empty()) lines = "(no tasks yet)\n";
          std::string text =
              "Write a short stand-up for project " + project_id +
              ": what was done, what is in progress, what is blocked and why, and what comes next. "
              "Recently changed tasks, newest first:\n\n" +
              lines;
          reply(Json{{"description", "Stand-up for project " + project_id},
                     {"messages", Json::array({user_message(text)})}});
        });
  });
}

void register_completions(mcp::Server& server, Backend& backend) {
  server.set_completion_handler([&backend](mcp::CallPtr ctx, Json params, mcp::Reply<Json> reply) {
    const Json& arg = params.contains("argument") ? params["argument"] : Json();
    const std::string name = arg.is_object() ? arg.value("name", std::string()) : std::string();
    const std::string prefix = arg.is_object() ? arg.value("value", std::string()) : std::string();
    if (name != "project_id") {
      reply(Json{{"values", Json::array()}});
      return;
    }
    RestCall c{"GET",        "/projects",  {{"limit", std::to_string(tasks::kMaxLimit)}},
               std::nullopt, std::nullopt, false};
    backend.call(ctx->request_context(), std::move(c),
                 [prefix, reply = std::move(reply)](Result<RestResult> r) {
                   Json values = Json::array();
                   if (r && r->status == 200) {
                     for (const auto& p : r->body.value("items", Json::array())) {
                       const std::string id = p.value("id", std::string());
                       const std::string pname = p.value("name", std::string());
                       if (id.starts_with(prefix) || to_lower(pname).starts_with(to_lower(prefix)))
                         values.push_back(id);
                     }
                   }
                   reply(Json{{"values", values}, {"total", values.size()}, {"hasMore", false}});
                 });
  });
}

}  // namespace taskman::tools
