// The bad-input matrix: hostile HTTP, hostile JSON and odd JSON-RPC/MCP messages sent as raw bytes
// to the real `taskman serve`, on both surfaces (the REST API under /api/v1, every route, and MCP
// on /mcp). Each row names the bytes and the answer they deserve. After every row the server must
// still be ready on both ports and the data untouched (row counts and the seed task's version);
// at the end the server must exit cleanly and `PRAGMA integrity_check` must say ok.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "hardening/bad_input_rows.hpp"
#include "hardening/raw_http.hpp"
#include "support/mcp_session.hpp"
#include "support/process.hpp"

namespace taskman::testing::bad_input {
namespace {

using nlohmann::json;

// The JSON-RPC message in a JSON or SSE body.
json rpc_body(const RawResponse& r) {
  if (header_value(r.head, "content-type").find("text/event-stream") == std::string::npos) {
    return json::parse(r.body, nullptr, false);
  }
  std::size_t pos = 0;
  while (pos < r.body.size()) {
    auto eol = r.body.find('\n', pos);
    if (eol == std::string::npos) eol = r.body.size();
    const std::string line = r.body.substr(pos, eol - pos);
    if (line.rfind("data:", 0) == 0) {
      auto j = json::parse(line.substr(5), nullptr, false);
      if (j.is_object() && (j.contains("result") || j.contains("error"))) return j;
    }
    pos = eol + 1;
  }
  return json::value_t::discarded;
}

// One `taskman serve` for the whole matrix (hundreds of rows), seeded with a project, a task in
// it and a comment.
class BadInput : public ::testing::TestWithParam<Row> {
 public:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    auto opts = serve_options(*dir_);
    opts.env["HTTP_READ_TIMEOUT_MS"] = "1500";  // short: rows that send half a request end quickly
    server_ = std::make_unique<Process>(opts);
    seed_.api_port = server_->wait_for_port("taskman-api");
    seed_.mcp_port = server_->wait_for_port("taskman-mcp");
    ASSERT_GT(seed_.api_port, 0) << server_->stderr_text();
    ASSERT_GT(seed_.mcp_port, 0) << server_->stderr_text();
    auto p = http(seed_.api_port, "POST", "/api/v1/projects", {{"Content-Type", "application/json"}},
                  R"({"name":"seed"})");
    ASSERT_EQ(p.status, 201) << p.body;
    seed_.project_id = json::parse(p.body)["id"];
    auto t = http(seed_.api_port, "POST", "/api/v1/tasks", {{"Content-Type", "application/json"}},
                  json{{"title", "seed"}, {"project_id", seed_.project_id}}.dump());
    ASSERT_EQ(t.status, 201) << t.body;
    seed_.task_id = json::parse(t.body)["id"];
    auto c = http(seed_.api_port, "POST", "/api/v1/tasks/" + seed_.task_id + "/comments",
                  {{"Content-Type", "application/json"}}, R"({"body":"seed"})");
    ASSERT_EQ(c.status, 201) << c.body;
    seed_.comment_id = json::parse(c.body)["id"];
    seed_.session_id = McpSession::open(seed_.mcp_port).id();
    baseline_ = snapshot();
  }

  static void TearDownTestSuite() {
    if (!server_) return;
    server_->signal(SIGTERM);
    const auto status = server_->wait_exit(std::chrono::seconds(30));
    EXPECT_EQ(status, std::optional<int>(0)) << server_->stderr_text();
    server_.reset();
    const std::string cmd =
        std::string(SQLITE3_PATH) + " '" + dir_->path() + "/t.db' 'PRAGMA integrity_check'";
    std::string out;
    if (FILE* f = ::popen(cmd.c_str(), "r")) {
      char buf[256];
      while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
      ::pclose(f);
    }
    EXPECT_EQ(out, "ok\n");
    dir_.reset();
  }

 protected:
  // Row counts and the seed task's version: what no bad input may change.
  static std::string snapshot() {
    auto count = [](const std::string& target) {
      auto r = http(seed_.api_port, "GET", target);
      if (r.status != 200) return std::string("HTTP ") + std::to_string(r.status);
      auto j = json::parse(r.body);
      return std::to_string(j["items"].size()) + (j["next_cursor"].is_null() ? "" : "+");
    };
    auto task = http(seed_.api_port, "GET", "/api/v1/tasks/" + seed_.task_id);
    return "projects=" + count("/api/v1/projects?limit=100") + " tasks=" + count("/api/v1/tasks?limit=100") +
           " comments=" + count("/api/v1/tasks/" + seed_.task_id + "/comments?limit=100") +
           " seed_etag=" + task.headers["etag"];
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<Process> server_;
  static inline Seed seed_;
  static inline std::string baseline_;
};

TEST_P(BadInput, AnswersRightStaysHealthyKeepsData) {
  ASSERT_TRUE(server_) << "the server did not start";
  const Row& row = GetParam();
  const int port = row.port == Port::kApi ? seed_.api_port : seed_.mcp_port;
  const auto ex = raw_exchange(port, row.bytes(seed_), row.want.size());
  EXPECT_FALSE(ex.timed_out) << "no answer and no close within the deadline";
  if (row.want.empty()) {
    EXPECT_TRUE(ex.closed);
  }
  ASSERT_EQ(ex.responses.size(), row.want.size())
      << "closed=" << ex.closed << " leftover=" << ex.leftover.substr(0, 300);
  for (std::size_t i = 0; i < row.want.size(); ++i) {
    const auto& got = ex.responses[i];
    const auto& want = row.want[i];
    SCOPED_TRACE("response " + std::to_string(i) + ": " + got.head + "\n" + got.body.substr(0, 500));
    EXPECT_LT(got.status, 500);
    if (want.status < 10) {
      EXPECT_EQ(got.status / 100, want.status);
    } else {
      EXPECT_EQ(got.status, want.status);
    }
    if (want.rpc_error || want.tool_error) {
      const json rpc = rpc_body(got);
      ASSERT_TRUE(rpc.is_object()) << "not a JSON-RPC message";
      if (want.rpc_error) {
        ASSERT_TRUE(rpc.contains("error"));
        EXPECT_EQ(rpc["error"].value("code", 0), *want.rpc_error);
        EXPECT_FALSE(rpc["error"].value("message", std::string()).empty());
      }
      if (want.tool_error) {
        ASSERT_TRUE(rpc.contains("result")) << "a tool's bad arguments are a CallToolResult with isError";
        EXPECT_EQ(rpc["result"].value("isError", false), true);
        EXPECT_FALSE(rpc["result"]["content"].empty());
      }
    }
  }
  for (int p : {seed_.api_port, seed_.mcp_port}) {
    auto ready = http(p, "GET", "/health/ready");
    EXPECT_EQ(ready.status, 200) << "port " << p << ": " << ready.body << "\n" << server_->stderr_text();
  }
  EXPECT_EQ(snapshot(), baseline_);
}

std::vector<Row> all_rows() {
  auto rows = api_rows();
  for (auto& r : mcp_rows()) rows.push_back(std::move(r));
  return rows;
}

INSTANTIATE_TEST_SUITE_P(Matrix, BadInput, ::testing::ValuesIn(all_rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

}  // namespace
}  // namespace taskman::testing::bad_input
