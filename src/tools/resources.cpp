#include "tools/resources.hpp"

#include <string>
#include <utility>
#include <vector>

#include "tasks/limits.hpp"

namespace taskman::tools {
namespace {

using Json = nlohmann::json;
using client::encode_segment;

void read_json_resource(Backend& b, const mcp::CallPtr& ctx, std::string uri, std::string path,
                        mcp::Reply<Json> reply) {
  RestCall c{"GET", std::move(path), {}, std::nullopt, std::nullopt, false};
  if (c.path == "/projects") c.query = {{"limit", std::to_string(tasks::kMaxLimit)}};
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

}  // namespace

void register_resources(mcp::Server& server, Backend& backend) {
  mcp::Resource projects;
  projects.uri = "taskman://projects";
  projects.name = "projects";
  projects.title = "Projects";
  projects.description = "Every project (first " + std::to_string(tasks::kMaxLimit) + "), as JSON.";
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
    server.add_resource_template(
        tpl, [&backend, kind](mcp::CallPtr ctx, std::string uri,
                              std::vector<std::pair<std::string, std::string>> vars, mcp::Reply<Json> reply) {
          read_json_resource(backend, ctx, std::move(uri),
                             "/" + kind + "/" + encode_segment(vars.at(0).second), std::move(reply));
        });
  };
  add_template("projects", "project", "Project", "One project by id, as JSON.");
  add_template("tasks", "task", "Task", "One task by id, as JSON.");
}

}  // namespace taskman::tools
