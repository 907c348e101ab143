// The board App against a scripted backend: who is offered it (per initialize capabilities), the
// exact shapes the extension asks for, and how show_board maps to REST calls and answers.
#include "tools/board_tools.hpp"

#include <gtest/gtest.h>

#include <deque>

#include "tools/board/board_html.hpp"
#include "tools/task_tools.hpp"

namespace taskman::tools {
namespace {

using Json = nlohmann::json;
using client::RestCall;
using client::RestResult;

class ScriptedBackend : public client::Backend {
 public:
  void call(const RequestContext&, RestCall c, std::function<void(Result<RestResult>)> done) override {
    calls.push_back(c);
    if (answers.empty()) return done(Error::make(ErrorCode::kUnavailable, "no scripted answer"));
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

const Json kApps = Json::parse(
    R"({"extensions": {"io.modelcontextprotocol/ui": {"mimeTypes": ["text/html;profile=mcp-app"]}}})");

class BoardToolsTest : public ::testing::Test {
 protected:
  void start(Json capabilities) {
    server_ = std::make_unique<mcp::Server>(mcp::ServerOptions{});
    register_task_tools(*server_, backend_, ToolsOptions{});
    session_ = server_->open_session("s");
    rpc("initialize", {{"protocolVersion", "2025-11-25"},
                       {"capabilities", std::move(capabilities)},
                       {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
    auto m = mcp::to_message(Json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    server_->handle(session_, std::get<mcp::Message>(m), nullptr);
  }
  Json rpc(const std::string& method, Json params) {
    auto m = mcp::to_message(mcp::make_request(next_id_++, method, std::move(params)));
    auto ex = std::make_shared<Capture>();
    server_->handle(session_, std::get<mcp::Message>(m), ex, RequestContext{});
    EXPECT_TRUE(ex->response.has_value());
    return ex->response.value_or(Json());
  }
  Json tool(const std::string& name) {
    const Json tools = rpc("tools/list", Json::object())["result"]["tools"];
    for (const auto& t : tools) {
      if (t["name"] == name) return t;
    }
    return nullptr;
  }
  Json show_board(Json args) {
    return rpc("tools/call", {{"name", "show_board"}, {"arguments", std::move(args)}})["result"];
  }
  static Result<RestResult> ok(Json body) { return RestResult{200, std::move(body)}; }
  static Json page(int first, int n, Json next) {
    Json items = Json::array();
    for (int i = first; i < first + n; ++i) {
      items.push_back({{"id", "t" + std::to_string(i)},
                       {"title", "Task " + std::to_string(i)},
                       {"status", "todo"},
                       {"priority", "medium"},
                       {"version", 1},
                       {"description", "not for the board"}});
    }
    return {{"items", items}, {"next_cursor", std::move(next)}};
  }
  static std::string query(const RestCall& c, const std::string& key) {
    for (const auto& [k, v] : c.query) {
      if (k == key) return v;
    }
    return "<absent>";
  }

  ScriptedBackend backend_;
  std::unique_ptr<mcp::Server> server_;
  std::shared_ptr<mcp::Session> session_;
  int next_id_ = 1;
};

TEST(RendersApps, NeedsTheExtensionWithTheAppMimeType) {
  EXPECT_TRUE(renders_apps(kApps));
  EXPECT_FALSE(renders_apps(Json::object()));
  EXPECT_FALSE(renders_apps(Json{{"extensions", Json::object()}}));
  for (const char* caps :
       {R"({"extensions": {"io.modelcontextprotocol/ui": {}}})",
        R"({"extensions": {"io.modelcontextprotocol/ui": {"mimeTypes": ["text/html"]}}})",
        R"({"extensions": {"io.modelcontextprotocol/ui": {"mimeTypes": "text/html;profile=mcp-app"}}})",
        R"({"extensions": {"io.example/other": {"mimeTypes": ["text/html;profile=mcp-app"]}}})",
        R"({"extensions": "io.modelcontextprotocol/ui"})"}) {
    EXPECT_FALSE(renders_apps(Json::parse(caps))) << caps;
  }
}

TEST_F(BoardToolsTest, AnnouncingClientGetsToolViewAndLinks) {
  start(kApps);
  const Json link = {{"ui", {{"resourceUri", "ui://taskman/board"}}},
                     {"ui/resourceUri", "ui://taskman/board"}};
  EXPECT_EQ(tool("show_board")["_meta"], link);
  EXPECT_EQ(tool("list_tasks")["_meta"], link);
  EXPECT_FALSE(tool("get_task").contains("_meta"));

  const Json csp = {{"connectDomains", Json::array()},
                    {"resourceDomains", Json::array()},
                    {"frameDomains", Json::array()},
                    {"baseUriDomains", Json::array()}};
  const Json view_meta = {{"ui", {{"csp", csp}, {"prefersBorder", true}}}};
  int views = 0;
  const Json resources = rpc("resources/list", Json::object())["result"]["resources"];
  for (const auto& r : resources) {
    if (r["uri"] != "ui://taskman/board") continue;
    ++views;
    EXPECT_EQ(r["mimeType"], "text/html;profile=mcp-app");
    EXPECT_EQ(r["_meta"], view_meta);
  }
  EXPECT_EQ(views, 1);
  const Json contents = rpc("resources/read", {{"uri", "ui://taskman/board"}})["result"]["contents"];
  ASSERT_EQ(contents.size(), 1u);
  EXPECT_EQ(contents[0]["mimeType"], "text/html;profile=mcp-app");
  EXPECT_EQ(contents[0]["text"], std::string(board::html()));
  EXPECT_EQ(contents[0]["_meta"], view_meta);
}

TEST_F(BoardToolsTest, OtherClientsSeeNothingOfIt) {
  start(Json::parse(
      R"({"extensions": {"io.modelcontextprotocol/ui": {"mimeTypes": ["text/html+skybridge"]}}})"));
  EXPECT_TRUE(tool("show_board").is_null());
  EXPECT_FALSE(tool("list_tasks").contains("_meta"));
  const Json resources = rpc("resources/list", Json::object())["result"]["resources"];
  for (const auto& r : resources) {
    EXPECT_NE(r["uri"], "ui://taskman/board");
  }
  EXPECT_EQ(rpc("resources/read", {{"uri", "ui://taskman/board"}})["error"]["code"], -32002);
  const Json call = rpc("tools/call", {{"name", "show_board"}, {"arguments", Json::object()}});
  EXPECT_EQ(call["error"]["code"], -32602);
  EXPECT_TRUE(backend_.calls.empty());
}

TEST_F(BoardToolsTest, ShowBoardPagesTasksOfOneProjectIntoCards) {
  start(kApps);
  backend_.answers.push_back(
      ok({{"items", {{{"id", "p1"}, {"name", "Launch"}, {"description", "x"}}}}, {"next_cursor", nullptr}}));
  backend_.answers.push_back(ok(page(0, 100, "c1")));
  backend_.answers.push_back(ok(page(100, 100, "c2")));
  backend_.answers.push_back(ok(page(200, 100, "c3")));  // the third page is the last the board takes
  const Json r = show_board({{"project_id", "p1"}});
  ASSERT_FALSE(r.value("isError", false)) << r.dump();
  ASSERT_EQ(backend_.calls.size(), 4u);
  EXPECT_EQ(backend_.calls[0].path, "/projects");
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(backend_.calls[i].path, "/tasks");
    EXPECT_EQ(query(backend_.calls[i], "project_id"), "p1");
    EXPECT_EQ(query(backend_.calls[i], "sort"), "-updated_at");
    EXPECT_EQ(query(backend_.calls[i], "limit"), "100");
  }
  EXPECT_EQ(query(backend_.calls[1], "cursor"), "<absent>");
  EXPECT_EQ(query(backend_.calls[3], "cursor"), "c2");
  const Json& sc = r["structuredContent"];
  EXPECT_EQ(sc["tasks"].size(), 300u);
  EXPECT_TRUE(sc["truncated"].get<bool>());
  EXPECT_EQ(sc["project_id"], "p1");
  EXPECT_EQ(sc["projects"], Json::parse(R"([{"id":"p1","name":"Launch"}])"));
  EXPECT_FALSE(sc["tasks"][0].contains("description"));
  const std::string text = r["content"][0]["text"];
  EXPECT_NE(text.find("project \"Launch\"): 300 tasks shown, more exist — todo 300"), std::string::npos)
      << text;
  EXPECT_NE(text.find("- …"), std::string::npos) << "the list for the model is capped";
}

TEST_F(BoardToolsTest, ShowBoardFromTheCacheSaysHowOld) {
  start(kApps);
  backend_.answers.push_back(ok({{"items", Json::array()}, {"next_cursor", nullptr}}));
  RestResult cached{200, page(0, 2, nullptr), true, 1234, "backend unavailable: refused"};
  backend_.answers.push_back(cached);
  const Json r = show_board(Json::object());
  EXPECT_EQ(r["_meta"], Json::parse(R"({"taskman/stale": true, "taskman/age_ms": 1234})"));
  ASSERT_EQ(r["content"].size(), 2u);
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("2 tasks"), std::string::npos);
  EXPECT_NE(r["content"][1]["text"].get<std::string>().find("1234 ms old"), std::string::npos);
}

TEST_F(BoardToolsTest, ShowBoardNamesBadInputAndBackendTrouble) {
  start(kApps);
  Json r = show_board({{"status", "todo"}});
  EXPECT_TRUE(r["isError"].get<bool>());
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("status is not a known argument"),
            std::string::npos);
  EXPECT_TRUE(backend_.calls.empty());

  backend_.answers.push_back(ok({{"items", Json::array()}, {"next_cursor", nullptr}}));
  r = show_board({{"project_id", "nope"}});
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("Not found: project nope"), std::string::npos);

  r = show_board(Json::object());  // no scripted answer: the backend is unreachable
  EXPECT_TRUE(r["isError"].get<bool>());
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("Backend unavailable"), std::string::npos);
}

}  // namespace
}  // namespace taskman::tools
