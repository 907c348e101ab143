// The task tools against a scripted backend (no network): argument checks, REST mapping, error texts.
#include "tools/task_tools.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <set>

namespace taskman::tools {
namespace {

using Json = nlohmann::json;

class ScriptedBackend : public TaskBackend {
 public:
  void call(const RequestContext&, RestCall c, std::function<void(Result<RestResult>)> done) override {
    calls.push_back(c);
    if (answers.empty()) {
      done(Error::make(ErrorCode::kUnavailable, "no scripted answer"));
      return;
    }
    auto a = std::move(answers.front());
    answers.pop_front();
    done(std::move(a));
  }
  std::vector<RestCall> calls;
  std::deque<Result<RestResult>> answers;
};

class Capture : public mcp::Exchange {
 public:
  void send_related(const Json&) override {}
  void finish(std::optional<Json> r) override { response = std::move(r); }
  std::optional<Json> response;
};

class TaskToolsTest : public ::testing::Test {
 protected:
  void SetUp() override { init(false); }
  void init(bool read_only) {
    server_ = std::make_unique<mcp::Server>(mcp::ServerOptions{});
    register_task_tools(*server_, backend_, ToolsOptions{read_only});
    session_ = server_->open_session("s");
    rpc("initialize", {{"protocolVersion", "2025-11-25"},
                       {"capabilities", Json::object()},
                       {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
    auto m = mcp::to_message(Json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    server_->handle(session_, std::get<mcp::Message>(m), nullptr);
  }
  Json rpc(const std::string& method, Json params) {
    auto m = mcp::to_message(mcp::make_request(next_id_++, method, std::move(params)));
    auto ex = std::make_shared<Capture>();
    RequestContext ctx;
    ctx.request_id = "rid-1";
    server_->handle(session_, std::get<mcp::Message>(m), ex, ctx);
    EXPECT_TRUE(ex->response.has_value());
    return ex->response.value_or(Json());
  }
  Json call_tool(const std::string& name, Json args) {
    return rpc("tools/call", {{"name", name}, {"arguments", std::move(args)}})["result"];
  }
  static Result<RestResult> ok(int status, Json body) { return RestResult{status, std::move(body)}; }

  ScriptedBackend backend_;
  std::unique_ptr<mcp::Server> server_;
  std::shared_ptr<mcp::Session> session_;
  int next_id_ = 1;
};

const Json kTask = {{"id", "t1"},
                    {"title", "Write"},
                    {"status", "todo"},
                    {"priority", "medium"},
                    {"version", 1},
                    {"labels", Json::array()},
                    {"created_at", "2026-11-27T00:00:00.000Z"},
                    {"updated_at", "2026-11-27T00:00:00.000Z"}};

TEST_F(TaskToolsTest, ListsEveryToolWithSchemasAndAnnotations) {
  auto tools = rpc("tools/list", Json::object())["result"]["tools"];
  ASSERT_EQ(tools.size(), 9u);
  for (const auto& t : tools) {
    EXPECT_FALSE(t["description"].get<std::string>().empty()) << t["name"];
    EXPECT_FALSE(t["title"].get<std::string>().empty());
    EXPECT_EQ(t["inputSchema"]["type"], "object");
    EXPECT_EQ(t["outputSchema"]["type"], "object");
    EXPECT_EQ(t["annotations"]["openWorldHint"], false);
  }
}

TEST_F(TaskToolsTest, ReadOnlyModeHidesWriters) {
  init(true);
  auto tools = rpc("tools/list", Json::object())["result"]["tools"];
  std::set<std::string> names;
  for (const auto& t : tools) names.insert(t["name"]);
  EXPECT_EQ(names, (std::set<std::string>{"get_task", "list_tasks", "next_task", "list_projects"}));
}

TEST_F(TaskToolsTest, CreateSendsPostWithIdempotencyKeyAndReturnsStructuredTask) {
  backend_.answers.push_back(ok(201, kTask));
  auto r = call_tool("create_task", {{"title", "Write"}, {"labels", {"a"}}});
  ASSERT_EQ(backend_.calls.size(), 1u);
  EXPECT_EQ(backend_.calls[0].method, "POST");
  EXPECT_EQ(backend_.calls[0].path, "/tasks");
  EXPECT_TRUE(backend_.calls[0].idempotency_key);
  EXPECT_EQ((*backend_.calls[0].body)["labels"], Json({"a"}));
  EXPECT_FALSE(r.value("isError", false));
  EXPECT_EQ(r["structuredContent"]["task"]["id"], "t1");
  EXPECT_EQ(Json::parse(r["content"][0]["text"].get<std::string>()), r["structuredContent"]);
}

TEST_F(TaskToolsTest, ArgumentProblemsNameTheFieldWithoutCallingTheBackend) {
  auto r = call_tool("create_task", {{"title", 5}, {"priority", "asap"}, {"colour", "red"}});
  EXPECT_TRUE(r["isError"]);
  const std::string text = r["content"][0]["text"];
  EXPECT_NE(text.find("title must be string"), std::string::npos) << text;
  EXPECT_NE(text.find("priority must be one of"), std::string::npos) << text;
  EXPECT_NE(text.find("colour is not a known argument"), std::string::npos) << text;
  EXPECT_NE(text.find("rid-1"), std::string::npos) << text;
  EXPECT_TRUE(backend_.calls.empty());
  auto nullable = call_tool("create_task", {{"title", "x"}, {"assignee", 5}, {"status", "later"}});
  const std::string ntext = nullable["content"][0]["text"];
  EXPECT_NE(ntext.find("assignee must be string or null"), std::string::npos) << ntext;
  EXPECT_NE(ntext.find("status must be one of"), std::string::npos) << ntext;
  auto list = call_tool("list_tasks", {{"status", {"todo", "someday"}}});
  EXPECT_NE(list["content"][0]["text"].get<std::string>().find("status[1] must be one of"), std::string::npos)
      << list.dump();
  auto missing = call_tool("get_task", Json::object());
  EXPECT_NE(missing["content"][0]["text"].get<std::string>().find("id is required"), std::string::npos);
}

TEST_F(TaskToolsTest, UpdateSendsIfMatchAndExplainsConflicts) {
  backend_.answers.push_back(ok(412, {{"title", "Precondition Failed"}, {"detail", "current version is 4"}}));
  auto r = call_tool("update_task", {{"id", "a/b"}, {"status", "done"}, {"expected_version", 3}});
  ASSERT_EQ(backend_.calls.size(), 1u);
  EXPECT_EQ(backend_.calls[0].method, "PATCH");
  EXPECT_EQ(backend_.calls[0].path, "/tasks/a%2Fb");
  EXPECT_EQ(backend_.calls[0].if_match, 3);
  EXPECT_EQ(*backend_.calls[0].body, Json({{"status", "done"}}));
  EXPECT_TRUE(r["isError"]);
  const std::string text = r["content"][0]["text"];
  EXPECT_NE(text.find("expected version 3"), std::string::npos) << text;
  EXPECT_NE(text.find("current version is 4"), std::string::npos) << text;
}

TEST_F(TaskToolsTest, ValidationErrorsFromTheBackendNameFields) {
  backend_.answers.push_back(ok(
      400, {{"title", "Bad Request"}, {"errors", {{{"field", "due_at"}, {"message", "must be RFC 3339"}}}}}));
  auto r = call_tool("create_task", {{"title", "x"}, {"due_at", "tomorrow"}});
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("due_at: must be RFC 3339"), std::string::npos);
}

TEST_F(TaskToolsTest, UnavailableBackendSaysWhenToRetry) {
  Error e = Error::make(ErrorCode::kUnavailable, "circuit open");
  e.retry_after_ms = 11'200;
  backend_.answers.push_back(e);
  auto r = call_tool("create_task", {{"title", "x"}});
  const std::string text = r["content"][0]["text"];
  EXPECT_NE(text.find("Backend unavailable: circuit open, retry in 12 s"), std::string::npos) << text;
  EXPECT_NE(text.find("request_id: rid-1"), std::string::npos);
}

TEST_F(TaskToolsTest, StaleAnswersAreMarked) {
  RestResult stale{200, kTask};
  stale.stale = true;
  stale.age_ms = 1500;
  backend_.answers.push_back(stale);
  auto r = call_tool("get_task", {{"id", "t1"}});
  EXPECT_EQ(r["_meta"]["taskman/stale"], true);
  EXPECT_EQ(r["_meta"]["taskman/age_ms"], 1500);
  EXPECT_NE(r["content"].back()["text"].get<std::string>().find("1500 ms old"), std::string::npos);
}

TEST_F(TaskToolsTest, ListTasksPassesFiltersAndTrimsFields) {
  backend_.answers.push_back(ok(200, {{"items", {kTask}}, {"next_cursor", "c2"}}));
  auto r = call_tool("list_tasks", {{"status", {"todo", "blocked"}}, {"limit", 10}, {"fields", {"title"}}});
  const auto& q = backend_.calls[0].query;
  EXPECT_EQ(q, (std::vector<std::pair<std::string, std::string>>{
                   {"status", "todo"}, {"status", "blocked"}, {"limit", "10"}}));
  EXPECT_EQ(r["structuredContent"]["items"][0], Json({{"id", "t1"}, {"title", "Write"}}));
  EXPECT_EQ(r["structuredContent"]["next_cursor"], "c2");
  auto bad = call_tool("list_tasks", {{"limit", 500}});
  EXPECT_NE(bad["content"][0]["text"].get<std::string>().find("limit must be at most 100"),
            std::string::npos);
}

TEST_F(TaskToolsTest, NextTaskNullWhenNothingIsActionable) {
  backend_.answers.push_back(ok(204, nullptr));
  auto r = call_tool("next_task", Json::object());
  EXPECT_TRUE(r["structuredContent"]["task"].is_null());
}

TEST_F(TaskToolsTest, GetTaskWithComments) {
  backend_.answers.push_back(ok(200, kTask));
  backend_.answers.push_back(
      ok(200, {{"items", {{{"id", "c1"}, {"body", "hi"}}}}, {"next_cursor", nullptr}}));
  auto r = call_tool("get_task", {{"id", "t1"}, {"include_comments", true}});
  ASSERT_EQ(backend_.calls.size(), 2u);
  EXPECT_EQ(backend_.calls[1].path, "/tasks/t1/comments");
  EXPECT_EQ(r["structuredContent"]["comments"][0]["id"], "c1");
}

TEST_F(TaskToolsTest, DeleteAnswersDeletedTrue) {
  backend_.answers.push_back(ok(204, nullptr));
  auto r = call_tool("delete_task", {{"id", "t1"}});
  EXPECT_EQ(r["structuredContent"], Json({{"deleted", true}, {"id", "t1"}}));
  backend_.answers.push_back(ok(404, {{"detail", "task t1 not found"}}));
  auto again = call_tool("delete_task", {{"id", "t1"}});
  EXPECT_NE(again["content"][0]["text"].get<std::string>().find("Not found: task t1 not found"),
            std::string::npos);
}

TEST_F(TaskToolsTest, PromptsAndCompletions) {
  auto plan = rpc("prompts/get", {{"name", "plan_project"}, {"arguments", {{"goal", "ship v1"}}}});
  EXPECT_NE(plan["result"]["messages"][0]["content"]["text"].get<std::string>().find("ship v1"),
            std::string::npos);
  backend_.answers.push_back(
      ok(200, {{"items", {{{"id", "p-alpha"}, {"name", "Alpha"}}, {{"id", "p-beta"}, {"name", "Beta"}}}}}));
  auto c = rpc("completion/complete", {{"ref", {{"type", "ref/prompt"}, {"name", "standup"}}},
                                       {"argument", {{"name", "project_id"}, {"value", "p-a"}}}});
  EXPECT_EQ(c["result"]["completion"]["values"], Json({"p-alpha"}));
}

}  // namespace
}  // namespace taskman::tools
