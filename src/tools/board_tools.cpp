#include "tools/board_tools.hpp"

#include <array>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "tasks/limits.hpp"
#include "tools/board/board_html.hpp"
#include "tools/schemas.hpp"
#include "tools/tool_results.hpp"

namespace taskman::tools {

namespace {

constexpr int kPageSize = tasks::kMaxLimit;
// Three pages (300 tasks) keep the view's result far below what hosts pass to a view whole (Claude
// swaps results over ~150,000 characters for a file pointer); the rest is a project filter away.
constexpr int kMaxTaskPages = 3;
constexpr std::size_t kMaxListedInText = 25;
// What a card shows; description and timestamps the view does not need stay out of the result.
constexpr std::array<const char*, 12> kCardFields = {"id",         "project_id", "title",      "status",
                                                     "priority",   "assignee",   "labels",     "due_at",
                                                     "depends_on", "created_at", "updated_at", "version"};

Json link_meta() {
  // _meta.ui.resourceUri is the extension's key; hosts written for earlier drafts read "ui/resourceUri".
  return {{"ui", {{"resourceUri", kBoardUri}}}, {"ui/resourceUri", kBoardUri}};
}

Json view_meta() {
  // Empty domain lists: the view loads nothing and connects nowhere; its data comes through the host.
  return {{"ui",
           {{"csp",
             {{"connectDomains", Json::array()},
              {"resourceDomains", Json::array()},
              {"frameDomains", Json::array()},
              {"baseUriDomains", Json::array()}}},
            {"prefersBorder", true}}}};
}

// The task schema of the other tools, narrowed to the card fields.
Json card_schema() {
  const Json task = schema::task();
  Json card = {{"type", "object"}, {"properties", Json::object()}, {"required", Json::array()}};
  for (const char* f : kCardFields) {
    if (task["properties"].contains(f)) card["properties"][f] = task["properties"][f];
  }
  for (const auto& r : task["required"]) {
    if (card["properties"].contains(r.get<std::string>())) card["required"].push_back(r);
  }
  return card;
}

Json output_schema() {
  const Json project = {{"type", "object"},
                        {"properties", {{"id", {{"type", "string"}}}, {"name", {{"type", "string"}}}}},
                        {"required", {"id", "name"}}};
  return schema::object(
      {{"project_id", schema::nullable({{"type", "string"}})},
       {"projects", {{"type", "array"}, {"items", project}}},
       {"tasks", {{"type", "array"}, {"items", card_schema()}}},
       {"truncated", {{"type", "boolean"}, {"description", "More tasks exist than the board holds."}}}},
      {"project_id", "projects", "tasks", "truncated"});
}

mcp::Tool show_board_tool() {
  mcp::Tool t;
  t.name = "show_board";
  t.title = "Show task board";
  t.description =
      "Show the user an interactive task board: one column per status, with priority, assignee, labels, due "
      "date and dependencies on each card; the user can move cards and open tasks there. Optionally only one "
      "project. Returns a short summary for you and the board data for the view (at most " +
      std::to_string(kPageSize * kMaxTaskPages) + " tasks, most recently changed first).";
  t.input_schema = schema::object({{"project_id", schema::str("Only this project's tasks.", 1)}}, {});
  t.output_schema = output_schema();
  t.annotations = schema::annotations(true, false, true, t.title);
  t.meta = link_meta();
  return t;
}

mcp::Resource board_resource() {
  mcp::Resource r;
  r.uri = kBoardUri;
  r.name = "taskman-board";
  r.title = "Task board";
  r.description = "Interactive task board (MCP App view) for show_board and list_tasks results.";
  r.mime_type = kAppMimeType;
  r.meta = view_meta();
  return r;
}

// One show_board call: the projects, then up to kMaxTaskPages pages of tasks, then the answer.
struct BoardCall : std::enable_shared_from_this<BoardCall> {
  Backend& backend;
  mcp::CallPtr ctx;
  mcp::Reply<Json> reply;
  std::string project_id;
  Json projects = Json::array();
  Json tasks = Json::array();
  bool truncated = false;
  RestResult freshness;  // stale, age_ms and retry_hint of the oldest answer used

  BoardCall(Backend& b, mcp::CallPtr c, mcp::Reply<Json> r, std::string pid)
      : backend(b), ctx(std::move(c)), reply(std::move(r)), project_id(std::move(pid)) {}

  void fail(std::string text) { reply(error_result(std::move(text), request_id_of(ctx))); }

  // Runs `on_ok` with a 2xx answer; anything else ends the call with the tools' isError texts.
  void get(RestCall call, std::function<void(const RestResult&)> on_ok) {
    auto self = shared_from_this();
    auto shared_call = std::make_shared<RestCall>(call);
    backend.call(ctx->request_context(), std::move(call),
                 [self, shared_call, on_ok = std::move(on_ok)](Result<RestResult> r) {
                   if (!r) return self->fail(explain_unavailable(r.error()));
                   if (r->status < 200 || r->status >= 300)
                     return self->fail(explain_status(*r, *shared_call));
                   if (r->stale && r->age_ms >= self->freshness.age_ms) {
                     self->freshness.stale = true;
                     self->freshness.age_ms = r->age_ms;
                     self->freshness.retry_hint = r->retry_hint;
                   }
                   on_ok(*r);
                 });
  }

  void start() {
    auto self = shared_from_this();
    get({"GET", "/projects", {{"limit", std::to_string(kPageSize)}}, std::nullopt, std::nullopt, false},
        [self](const RestResult& r) {
          for (const auto& p : r.body.value("items", Json::array())) {
            self->projects.push_back({{"id", p.value("id", "")}, {"name", p.value("name", "")}});
          }
          const bool all_projects = r.body.value("next_cursor", Json()).is_null();
          if (!self->project_id.empty() && all_projects && !self->knows_project()) {
            return self->fail(
                "Not found: project " + self->project_id +
                ". Call list_projects for the existing ids, or omit project_id for all projects.");
          }
          self->next_page("", 0);
        });
  }

  bool knows_project() const {
    for (const auto& p : projects) {
      if (p["id"] == project_id) return true;
    }
    return false;
  }

  void next_page(const std::string& cursor, int page) {
    RestCall call{"GET",        "/tasks",     {{"limit", std::to_string(kPageSize)}, {"sort", "-updated_at"}},
                  std::nullopt, std::nullopt, false};
    if (!project_id.empty()) call.query.emplace_back("project_id", project_id);
    if (!cursor.empty()) call.query.emplace_back("cursor", cursor);
    auto self = shared_from_this();
    get(std::move(call), [self, page](const RestResult& r) {
      for (const auto& t : r.body.value("items", Json::array())) {
        Json card = Json::object();
        for (const char* f : kCardFields) {
          if (t.contains(f)) card[f] = t[f];
        }
        self->tasks.push_back(std::move(card));
      }
      const Json next = r.body.value("next_cursor", Json());
      if (next.is_string() && page + 1 < kMaxTaskPages)
        return self->next_page(next.get<std::string>(), page + 1);
      self->truncated = next.is_string();
      self->finish();
    });
  }

  std::string summary() const {
    std::map<std::string, int> counts;
    for (const auto& t : tasks) counts[t.value("status", "")]++;
    std::string scope = "all projects";
    for (const auto& p : projects) {
      if (p["id"] == project_id) scope = "project \"" + p["name"].get<std::string>() + "\"";
    }
    std::string text = "Task board (" + scope + "): " + std::to_string(tasks.size()) + " task" +
                       (tasks.size() == 1 ? "" : "s") + (truncated ? " shown, more exist" : "") + " —";
    for (std::size_t i = 0; i < tasks::kStatusNames.size(); ++i) {
      const std::string status(tasks::kStatusNames[i]);
      text += std::string(i ? "," : "") + " " + status + " " + std::to_string(counts[status]);
    }
    text += ". The board is shown to the user, who can move cards between columns there.";
    std::size_t listed = 0;
    for (const auto& t : tasks) {
      const std::string status = t.value("status", "");
      if (status == "done" || status == "cancelled") continue;
      if (listed++ == kMaxListedInText) {
        text += "\n- …";
        break;
      }
      text += "\n- [" + t.value("priority", "") + "] " + t.value("title", "") + " — " + status;
      if (t.contains("assignee") && t["assignee"].is_string())
        text += ", @" + t["assignee"].get<std::string>();
      text += " (id " + t.value("id", "") + ")";
    }
    return text;
  }

  void finish() {
    Json structured = {{"project_id", project_id.empty() ? Json() : Json(project_id)},
                       {"projects", projects},
                       {"tasks", tasks},
                       {"truncated", truncated}};
    // The other tools' result shape (with the cache note when stale), the model's text a summary.
    Json result = finish_structured(std::move(structured), freshness);
    result["content"][0] = mcp::text_content(summary());
    reply(std::move(result));
  }
};

}  // namespace

bool renders_apps(const Json& client_capabilities) {
  if (!client_capabilities.is_object() || !client_capabilities.contains("extensions")) return false;
  const Json& ext = client_capabilities["extensions"];
  if (!ext.is_object() || !ext.contains(kUiExtension)) return false;
  const Json& ui = ext[std::string(kUiExtension)];
  if (!ui.is_object() || !ui.contains("mimeTypes") || !ui["mimeTypes"].is_array()) return false;
  for (const auto& m : ui["mimeTypes"]) {
    if (m == kAppMimeType) return true;
  }
  return false;
}

ToolSpec board_tool_spec() {
  ToolSpec spec{show_board_tool(), true,
                [](Backend& backend, const mcp::CallPtr& ctx, const Json& args, mcp::Reply<Json> reply) {
                  auto call = std::make_shared<BoardCall>(backend, ctx, std::move(reply),
                                                          args.value("project_id", std::string()));
                  call->start();
                }};
  spec.audience = renders_apps;
  return spec;
}

void register_board_view(mcp::Server& server) {
  server.add_resource(
      board_resource(),
      [](mcp::CallPtr, std::string uri, mcp::Reply<Json> reply) {
        reply(Json::array({{{"uri", uri},
                            {"mimeType", kAppMimeType},
                            {"text", std::string(board::html())},
                            {"_meta", view_meta()}}}));
      },
      renders_apps);
  server.add_tool_meta("list_tasks", link_meta(), renders_apps);
}

}  // namespace taskman::tools
