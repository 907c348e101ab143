// The foundation through the real binary: CLI, configuration, HTTP middleware, shutdown.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/mcp_session.hpp"
#include "support/process.hpp"

namespace taskman::testing {
namespace {

using nlohmann::json;

TEST(Cli, VersionAndHelp) {
  Process::Options o;
  o.args = {"version"};
  o.capture_stdout = true;
  Process v(o);
  auto line = v.read_stdout_line();
  ASSERT_TRUE(line);
  EXPECT_NE(line->find("taskman "), std::string::npos);
  EXPECT_NE(line->find("revision"), std::string::npos);
  EXPECT_EQ(v.wait_exit(), 0);

  o.args = {"serve", "--help"};
  Process h(o);
  auto first = h.read_stdout_line();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->rfind("usage: taskman serve", 0), 0u);
  EXPECT_EQ(h.wait_exit(), 0);
}

TEST(Cli, UnknownCommandOrOptionIsAUsageError) {
  Process::Options o;
  o.args = {"frobnicate"};
  Process p(o);
  EXPECT_EQ(p.wait_exit(), 2);
  EXPECT_NE(p.stderr_text().find("unknown command 'frobnicate'"), std::string::npos);

  o.args = {"api", "--prot", "3000"};
  Process q(o);
  EXPECT_EQ(q.wait_exit(), 2);
  EXPECT_NE(q.stderr_text().find("--prot"), std::string::npos);
}

TEST(ConfigCheck, NamesEveryProblemAndExitsNonZero) {
  Process::Options o;
  o.args = {"config", "check"};
  o.env = {{"FALLBACK_CACHE_MAX_SIZE", "-1"},
           {"CIRCUIT_BREAKER_ERROR_THRESHOLD", "500"},
           {"OTEL_EXPORTER_OTLP_ENDPOINT", "not-a-uri"}};
  TempDir dir;
  o.cwd = dir.path();
  Process p(o);
  EXPECT_EQ(p.wait_exit(), 2);
  const auto err = p.stderr_text();
  EXPECT_NE(err.find("3 problems"), std::string::npos) << err;
  EXPECT_NE(err.find("FALLBACK_CACHE_MAX_SIZE: \"-1\""), std::string::npos) << err;
  EXPECT_NE(err.find("CIRCUIT_BREAKER_ERROR_THRESHOLD: \"500\""), std::string::npos) << err;
  EXPECT_NE(err.find("OTEL_EXPORTER_OTLP_ENDPOINT: \"not-a-uri\""), std::string::npos) << err;
}

TEST(ConfigCheck, ReadsDotEnvAndRedactsSecrets) {
  TempDir dir;
  std::ofstream(dir.path() + "/.env") << "PORT=4100\nAPI_KEYS=abcdefghijklmnopqrstuvwxyz\n";
  Process::Options o;
  o.args = {"config", "check", "--api-port", "4101"};
  o.env = {{"LOG_LEVEL", "debug"}};
  o.cwd = dir.path();
  o.capture_stdout = true;
  Process p(o);
  EXPECT_EQ(p.wait_exit(), 0);
  std::string out;
  while (auto l = p.read_stdout_line(std::chrono::seconds(1))) out += *l + "\n";
  EXPECT_NE(out.find("PORT"), std::string::npos);
  EXPECT_NE(out.find("\"4100\"  [.env file]"), std::string::npos) << out;
  EXPECT_NE(out.find("\"4101\"  [flag]"), std::string::npos) << out;
  EXPECT_NE(out.find("\"debug\"  [environment]"), std::string::npos) << out;
  EXPECT_EQ(out.find("abcdefghijklmnop"), std::string::npos) << out;
}

TEST(ConfigCheck, InvalidConfigurationBindsNoPort) {
  TempDir dir;
  Process::Options o = serve_options(dir);
  o.env = {{"BACKEND_MAX_RETRIES", "eleven"}};
  Process p(o);
  EXPECT_EQ(p.wait_exit(), 2);
  const auto err = p.stderr_text();
  EXPECT_NE(err.find("BACKEND_MAX_RETRIES"), std::string::npos);
  EXPECT_EQ(err.find("listening"), std::string::npos);
}

// What `config check` accepts also starts: a TLS file that cannot be read is refused by the check
// itself (exit 2, with the reason), and start-up applies the same rule before binding anything.
// https:// endpoints and PostgreSQL are part of this build: they pass, and a password is never printed.
TEST(ConfigCheck, ReportsWhatThisBuildCannotRun) {
  TempDir dir;
  const std::string missing = dir.path() + "/missing-ca.pem";
  Process::Options o;
  o.args = {"config", "check"};
  o.env = {{"TASK_MANAGER_API_ENDPOINT", "https://backend.example:8443/api/v1"},
           {"BACKEND_CA_FILE", missing},
           {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", missing},
           {"DATABASE_URL", "postgres://app:hunter2@db.example/tasks"}};
  o.cwd = dir.path();
  Process check(o);
  EXPECT_EQ(check.wait_exit(), 2);
  const auto err = check.stderr_text();
  EXPECT_NE(err.find("2 problems"), std::string::npos) << err;
  EXPECT_NE(err.find("BACKEND_CA_FILE: " + missing + ": cannot open the file for reading"), std::string::npos)
      << err;
  EXPECT_NE(
      err.find("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: " + missing + ": cannot open the file for reading"),
      std::string::npos)
      << err;
  EXPECT_EQ(err.find("DATABASE_URL"), std::string::npos) << err;
  EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;

  Process::Options s;
  s.args = {"serve",
            "--port",
            "0",
            "--api-port",
            "0",
            "--database-url",
            "postgres://app:hunter2@db.example/tasks",
            "--task-manager-api-endpoint",
            "https://backend.example:8443/api/v1",
            "--backend-ca-file",
            missing};
  s.cwd = dir.path();
  Process serve(s);
  EXPECT_EQ(serve.wait_exit(), 2);
  const auto serr = serve.stderr_text();
  EXPECT_NE(serr.find("BACKEND_CA_FILE: " + missing + ": cannot open the file for reading"),
            std::string::npos)
      << serr;
  EXPECT_EQ(serr.find("listening"), std::string::npos) << serr;
  EXPECT_EQ(serr.find("hunter2"), std::string::npos) << serr;
}

TEST(Security, RefusesNonLoopbackWithoutTokens) {
  TempDir dir;
  Process::Options o = serve_options(dir, {"--api-host", "0.0.0.0"});
  Process p(o);
  EXPECT_EQ(p.wait_exit(), 2);
  EXPECT_NE(p.stderr_text().find("API_KEYS is empty"), std::string::npos);
}

class Served : public ::testing::Test {
 protected:
  void SetUp() override {
    proc_ = std::make_unique<Process>(serve_options(dir_, extra_));
    api_port_ = proc_->wait_for_port("taskman-api");
    mcp_port_ = proc_->wait_for_port("taskman-mcp");
  }
  TempDir dir_;
  std::vector<std::string> extra_;
  std::unique_ptr<Process> proc_;
  int api_port_ = 0;
  int mcp_port_ = 0;
};

TEST_F(Served, HealthEndpoints) {
  for (int port : {api_port_, mcp_port_}) {
    auto live = http(port, "GET", "/health/live");
    EXPECT_EQ(live.status, 200);
    auto ready = http(port, "GET", "/health/ready");
    EXPECT_EQ(ready.status, 200) << ready.body;
    EXPECT_EQ(json::parse(ready.body)["status"], "ok");
  }
}

TEST_F(Served, RequestIdEchoedOrReplacedAndAccessLogStaysOneJsonObject) {
  auto good = http(api_port_, "GET", "/health/live", {{"X-Request-ID", "client-id-42"}});
  EXPECT_EQ(good.headers["x-request-id"], "client-id-42");

  // A quote and an obs-folded newline sneak into the header value: the id must be replaced.
  const std::string raw =
      "GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
      "X-Request-ID: evil\"id\r\n\tcontinued\r\n\r\n";
  const auto resp = http_raw(api_port_, raw);
  const auto pos = resp.find("X-Request-ID: ");
  ASSERT_NE(pos, std::string::npos) << resp;
  const auto id = resp.substr(pos + 14, resp.find("\r\n", pos) - pos - 14);
  EXPECT_EQ(id.size(), 32u) << id;
  EXPECT_EQ(id.find('"'), std::string::npos);

  auto line = proc_->wait_for_line([&](const std::string& l) { return l.find(id) != std::string::npos; });
  ASSERT_TRUE(line);
  auto j = json::parse(*line);  // throws if the line is not exactly one JSON object
  EXPECT_EQ(j["msg"], "http request");
  EXPECT_EQ(j["request_id"], id);
  EXPECT_EQ(j["status"], 200);
  for (const auto& l : proc_->stderr_lines()) EXPECT_NO_THROW((void)json::parse(l)) << l;
}

TEST_F(Served, UnknownRouteIs404ProblemJson) {
  auto r = http(api_port_, "GET", "/nowhere", {{"X-Request-ID", "rid-404"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers["content-type"], "application/problem+json");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["status"], 404);
  EXPECT_EQ(j["request_id"], "rid-404");
  auto m = http(api_port_, "POST", "/health/live");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.headers["allow"], "GET");
}

TEST_F(Served, OversizedBodyIs413) {
  auto r = http(api_port_, "POST", "/health/live", {{"Content-Type", "application/json"}},
                std::string(2 * 1024 * 1024, 'x'));
  EXPECT_EQ(r.status, 413);
}

TEST_F(Served, SigtermWithOnlyIdleConnectionsExitsZero) {
  // An idle keep-alive connection must not hold shutdown up.
  auto idle = std::async(std::launch::async, [this] {
    return http_raw(api_port_, "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n");
  });
  ASSERT_TRUE(proc_->wait_for_line(
      [](const std::string& l) { return l.find("\"http request\"") != std::string::npos; }));
  proc_->signal(SIGTERM);
  EXPECT_EQ(proc_->wait_exit(std::chrono::seconds(15)), 0) << proc_->stderr_text();
  EXPECT_NE(idle.get().find("200 OK"), std::string::npos);
  EXPECT_TRUE(
      proc_->wait_for_line([](const std::string& l) { return l.find("\"stopped\"") != std::string::npos; }));
}

// A backend the test controls: it accepts and reads requests, and answers only when told, so a
// request can be held in flight inside the MCP server for as long as the test needs.
class HeldBackend {
 public:
  HeldBackend() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~HeldBackend() {
    for (int c : conns_) ::close(c);
    ::close(fd_);
  }
  int port() const { return port_; }
  // Blocks until the next request's headers arrived; returns them.
  std::string accept_request() {
    int c = ::accept(fd_, nullptr, nullptr);
    conns_.push_back(c);
    std::string got;
    char buf[4096];
    while (got.find("\r\n\r\n") == std::string::npos) {
      const auto n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
  void answer_last(const std::string& json_body) {
    const std::string r = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(json_body.size()) + "\r\n\r\n" + json_body;
    ::send(conns_.back(), r.data(), r.size(), MSG_NOSIGNAL);
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::vector<int> conns_;
};

class McpOverHeldBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    Process::Options o;
    o.args = {"mcp",
              "--port",
              "0",
              "--task-manager-api-endpoint",
              "http://127.0.0.1:" + std::to_string(backend_.port()) + "/api/v1",
              "--backend-timeout-ms",
              "60000"};
    o.cwd = dir_.path();
    proc_ = std::make_unique<Process>(o);
    port_ = proc_->wait_for_port("taskman-mcp");
    session_ = McpSession::open(port_);
    // Start a tool call and wait until its backend request is held by the test.
    call_ = std::async(std::launch::async, [this] { return session_.call_tool("get_task", {{"id", "t1"}}); });
    request_ = backend_.accept_request();
  }
  TempDir dir_;
  HeldBackend backend_;
  std::unique_ptr<Process> proc_;
  int port_ = 0;
  McpSession session_;
  std::future<json> call_;
  std::string request_;
};

TEST_F(McpOverHeldBackend, SigtermLetsTheInFlightCallFinishThenExitsZero) {
  EXPECT_NE(request_.find("GET /api/v1/tasks/t1 "), std::string::npos) << request_;
  proc_->signal(SIGTERM);
  ASSERT_TRUE(
      proc_->wait_for_line([](const std::string& l) { return l.find("draining") != std::string::npos; }));
  backend_.answer_last(R"({"id":"t1","title":"held","status":"todo","priority":"medium","version":1,)"
                       R"("created_at":"2026-01-01T00:00:00.000Z","updated_at":"2026-01-01T00:00:00.000Z"})");
  auto result = call_.get();
  EXPECT_EQ(result["structuredContent"]["task"]["title"], "held") << result.dump();
  EXPECT_EQ(proc_->wait_exit(std::chrono::seconds(15)), 0) << proc_->stderr_text();
}

TEST_F(McpOverHeldBackend, SecondSignalExitsAtOnce) {
  proc_->signal(SIGTERM);
  ASSERT_TRUE(
      proc_->wait_for_line([](const std::string& l) { return l.find("draining") != std::string::npos; }));
  // The held call keeps the drain waiting (SHUTDOWN_TIMEOUT_MS is 10 s); a second signal must not wait.
  proc_->signal(SIGTERM);
  EXPECT_EQ(proc_->wait_exit(std::chrono::seconds(5)), 1);
  EXPECT_THROW(call_.get(), std::runtime_error);  // the connection died with the process
}

}  // namespace
}  // namespace taskman::testing

namespace taskman::testing {
namespace {

TEST(Readme, ConfigurationTableMatchesTheSchema) {
  std::ifstream in(TASKMAN_SOURCE_DIR "/README.md");
  ASSERT_TRUE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string readme = ss.str();
  const std::string begin = "<!-- config-table:begin -->\n";
  const auto b = readme.find(begin);
  const auto e = readme.find("<!-- config-table:end -->");
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  const std::string in_readme = readme.substr(b + begin.size(), e - b - begin.size());

  Process::Options o;
  o.args = {"config", "docs"};
  o.capture_stdout = true;
  Process p(o);
  std::string generated;
  while (auto l = p.read_stdout_line(std::chrono::seconds(5))) generated += *l + "\n";
  EXPECT_EQ(p.wait_exit(), 0);
  EXPECT_EQ(in_readme, generated) << "regenerate the README table with: build/taskman config docs";
}

}  // namespace
}  // namespace taskman::testing
