// A load balancer in front of the API (issue 18): the status of a gateway's answer is the answer,
// whatever its body. A real nginx (Debian's package) proxies to a real `taskman api`; with the API
// stopped nginx answers 502 with its HTML page, and `taskman mcp` must retry, fall back to the cache,
// open the breaker and say "502 Bad Gateway" -- then recover once the API is back on the same port.
// The same rules are checked through the fault proxy for 503 + Retry-After in text/plain and for an
// empty 504. Waits are on log lines, process exits and real calls; the only polls are bounded ones on
// nginx's access log (written after the answer went out) and on the breaker's lazy half-open.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fault/fault_support.hpp"
#include "support/fault_proxy.hpp"

namespace taskman::testing::fault {
namespace {

constexpr auto npos = std::string::npos;
constexpr const char* kNginx = "/usr/sbin/nginx";
// Two successful calls set up each test, then two reads of 1 + kMaxRetries failed attempts each:
// with this volume threshold the breaker opens on the last attempt of the second read, not before.
constexpr int kGatewayVolumeThreshold = 2 + 2 * (kMaxRetries + 1);
const std::vector<std::string> kBreakerFlags = {"--circuit-breaker-volume-threshold",
                                                std::to_string(kGatewayVolumeThreshold)};

// A loopback port that was free a moment ago (nginx cannot listen on port 0 and report the port).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free loopback port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// nginx as a child process (master_process off: one process, so killing its pid stops all of it),
// with its config, pid file, temp paths and logs inside `dir`.
class Nginx {
 public:
  Nginx(const TempDir& dir, int upstream_port) : dir_(dir), port_(free_port()) {
    const std::string root = dir.path() + "/nginx";
    std::filesystem::create_directories(root + "/logs");
    std::ofstream conf(root + "/nginx.conf");
    if (::geteuid() == 0) conf << "user root;\n";
    conf << "master_process off;\n"
            "events { worker_connections 64; }\n"
            "http {\n"
            "  log_format gw '$request_method $uri $status';\n"
            "  access_log "
         << access_log()
         << " gw;\n"
            "  client_body_temp_path "
         << root
         << "/body;\n"
            "  proxy_temp_path "
         << root
         << "/proxy;\n"
            "  fastcgi_temp_path "
         << root
         << "/fastcgi;\n"
            "  uwsgi_temp_path "
         << root
         << "/uwsgi;\n"
            "  scgi_temp_path "
         << root
         << "/scgi;\n"
            "  server {\n"
            "    listen 127.0.0.1:"
         << port_
         << ";\n"
            "    location / {\n"
            "      proxy_pass http://127.0.0.1:"
         << upstream_port
         << ";\n"
            "      proxy_http_version 1.1;\n"
            "      proxy_set_header Connection \"\";\n"
            "      proxy_connect_timeout 2s;\n"
            "      proxy_next_upstream off;\n"
            "    }\n"
            "  }\n"
            "}\n";
    conf.close();
    Process::Options o;
    o.args = {"-p", root + "/",
              "-c", root + "/nginx.conf",
              "-g", "daemon off; pid " + root + "/nginx.pid; error_log stderr;"};
    o.cwd = dir.path();
    process_ = std::make_unique<Process>(o, kNginx);
    // Up once it answers (a 502 is fine: nothing may be behind it yet). Bounded: 100 tries, 10 s.
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    for (int i = 0; i < 100 && Clock::now() < deadline; ++i) {
      try {
        if (http(port_, "GET", "/health/live").status > 0) return;
      } catch (const std::exception&) {
      }
      if (process_->wait_exit(std::chrono::milliseconds(100))) break;  // it died: report below
    }
    throw std::runtime_error("nginx did not start:\n" + process_->stderr_text());
  }
  ~Nginx() {
    process_->signal(SIGTERM);
    if (!process_->wait_exit(std::chrono::seconds(5))) process_->signal(SIGKILL);
  }
  int port() const { return port_; }
  std::string endpoint() const { return api_endpoint(port_); }
  std::string access_log() const { return dir_.path() + "/nginx/logs/gateway.log"; }
  // Access-log lines "<method> <path> <status>" for `path`, once there are at least `n` (nginx logs a
  // request right after answering it); what there is after `wait` otherwise.
  std::vector<std::string> lines_for(const std::string& method, const std::string& path, std::size_t n,
                                     std::chrono::milliseconds wait = std::chrono::seconds(5)) const {
    std::vector<std::string> out;
    const auto deadline = Clock::now() + wait;
    for (int i = 0; i < 500; ++i) {
      out.clear();
      std::ifstream in(access_log());
      for (std::string line; std::getline(in, line);) {
        if (line.rfind(method + " " + path + " ", 0) == 0) out.push_back(line);
      }
      if (out.size() >= n || Clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // bounded poll of a file nothing signals
    }
    return out;
  }

 private:
  const TempDir& dir_;
  int port_;
  std::unique_ptr<Process> process_;
};

std::optional<Json> poll_until_fresh(McpSession& s, const std::string& tool, const Json& args, int& tries) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (tries = 1; tries <= 10000 && Clock::now() < deadline; ++tries) {
    auto r = s.call_tool(tool, args);
    if (!is_error(r) && !is_stale(r)) return r;
  }
  return std::nullopt;
}

TEST(GatewayFaults, Nginx502IsRetriedServedStaleOpensTheBreakerAndRecovers) {
  if (!std::filesystem::exists(kNginx)) GTEST_SKIP() << "nginx is not installed (scripts/bootstrap --test)";
  TempDir dir;
  auto api = std::make_unique<Process>(api_options(dir));
  const int api_port = api->wait_for_port("taskman-api");
  Nginx nginx(dir, api_port);
  Process mcp(mcp_options(dir, nginx.endpoint(), kBreakerFlags));
  McpSession s = McpSession::open(mcp.wait_for_port("taskman-mcp"));

  auto created = s.call_tool("create_task", {{"title", "behind nginx"}});
  ASSERT_FALSE(is_error(created)) << text_of(created);
  const std::string id = created["structuredContent"]["task"]["id"];
  ASSERT_FALSE(is_error(s.call_tool("get_task", {{"id", id}})));  // now cached

  api->signal(SIGTERM);
  ASSERT_TRUE(api->wait_exit(std::chrono::seconds(10)));

  // An uncached read: nginx's HTML 502 is retried BACKEND_MAX_RETRIES times, then named to the agent.
  auto uncached = timed_call(s, "get_task", {{"id", "never-cached"}});
  const std::string text = text_of(uncached.result);
  std::fprintf(stderr, "[text] nginx 502, uncached get: %s\n", text.c_str());
  EXPECT_TRUE(is_error(uncached.result));
  EXPECT_NE(text.find("502 Bad Gateway"), npos) << text;
  EXPECT_EQ(text.find("malformed"), npos) << text;
  EXPECT_NE(text.find("(" + std::to_string(kMaxRetries + 1) + " attempts)"), npos) << text;
  EXPECT_NE(text.find("Retry in "), npos) << text;
  EXPECT_NE(text.find("(request_id: "), npos) << text;
  const auto attempts = nginx.lines_for("GET", "/api/v1/tasks/never-cached", kMaxRetries + 1);
  ASSERT_EQ(attempts.size(), static_cast<std::size_t>(kMaxRetries + 1));
  for (const auto& line : attempts) EXPECT_EQ(line, "GET /api/v1/tasks/never-cached 502");

  // A cached read answers stale, saying why.
  auto stale = s.call_tool("get_task", {{"id", id}});
  ASSERT_FALSE(is_error(stale)) << text_of(stale);
  EXPECT_TRUE(is_stale(stale)) << stale.dump();
  EXPECT_NE(text_of(stale).find("502 Bad Gateway"), npos) << text_of(stale);

  // Enough calls, most of them failures: the breaker is open and the next call does not reach nginx.
  ASSERT_TRUE(mcp.wait_for_line(breaker_transition_to("open"), std::chrono::seconds(5))) << mcp.stderr_text();
  auto rejected = s.call_tool("get_task", {{"id", "while-open"}});
  EXPECT_TRUE(is_error(rejected));
  EXPECT_NE(text_of(rejected).find("circuit open"), npos) << text_of(rejected);
  EXPECT_TRUE(nginx.lines_for("GET", "/api/v1/tasks/while-open", 1, std::chrono::seconds(1)).empty());

  // The API back on the same port: calls succeed again (the breaker half-opens on a call after the
  // reset timeout, and the probe succeeds).
  api = std::make_unique<Process>(api_options(dir, api_port));
  ASSERT_EQ(api->wait_for_port("taskman-api"), api_port);
  int tries = 0;
  auto back = poll_until_fresh(s, "get_task", {{"id", id}}, tries);
  ASSERT_TRUE(back) << mcp.stderr_text();
  std::fprintf(stderr, "[measured] calls until the first fresh answer after the restart: %d\n", tries);
  EXPECT_EQ((*back)["structuredContent"]["task"]["id"], id);
  auto again = s.call_tool("create_task", {{"title", "after the restart"}});
  EXPECT_FALSE(is_error(again)) << text_of(again);
}

// Gateways' other answers, through the fault proxy: 503 with Retry-After and a text/plain body, and
// 504 with no body at all.
struct ProxiedStack {
  explicit ProxiedStack(const std::vector<std::string>& flags = {}) {
    api = std::make_unique<Process>(api_options(dir));
    proxy = std::make_unique<FaultProxy>(static_cast<std::uint16_t>(api->wait_for_port("taskman-api")));
    mcp = std::make_unique<Process>(mcp_options(dir, proxy->endpoint(), flags));
    session = std::make_unique<McpSession>(McpSession::open(mcp->wait_for_port("taskman-mcp")));
  }
  ~ProxiedStack() {
    session.reset();
    mcp.reset();
    proxy.reset();
  }
  std::string create(const std::string& title) {
    auto r = session->call_tool("create_task", {{"title", title}});
    if (is_error(r)) throw std::runtime_error("create_task: " + text_of(r));
    return r["structuredContent"]["task"]["id"];
  }
  TempDir dir;
  std::unique_ptr<Process> api;
  std::unique_ptr<FaultProxy> proxy;
  std::unique_ptr<Process> mcp;
  std::unique_ptr<McpSession> session;
};

TEST(GatewayFaults, PlainText503WithRetryAfterIsRetriedAfterTheDelay) {
  // A per-attempt timeout of 2 s leaves the 1 s Retry-After inside the call's deadline.
  // The breaker is off: this test is about the retries, and every refusal would otherwise count.
  ProxiedStack st({"--backend-timeout-ms", "2000", "--circuit-breaker-enabled", "false"});
  const std::string id = st.create("retried after a pause");
  st.proxy->add_rule("GET", "/api/v1/tasks/{id}", {Fault::fail_text(503, 1)});
  auto r = timed_call(*st.session, "get_task", {{"id", id}});
  EXPECT_FALSE(is_error(r.result)) << text_of(r.result);
  EXPECT_FALSE(is_stale(r.result));
  EXPECT_EQ(st.proxy->count("GET", "/api/v1/tasks/" + id), 2u);
  EXPECT_GE(r.ms, 1000);  // Retry-After: 1, not the 25-50 ms backoff
  std::fprintf(stderr, "[measured] 503 + Retry-After: 1 then 200: %lld ms\n", r.ms);

  // Every attempt refused: the agent reads the status, the attempts and the backend's own hint.
  st.proxy->add_rule("GET", "/api/v1/tasks/{id}", {Fault::fail_text(503, 1)}, true);
  auto refused = st.session->call_tool("get_task", {{"id", "never-cached"}});
  const std::string text = text_of(refused);
  std::fprintf(stderr, "[text] 503 text/plain, uncached get: %s\n", text.c_str());
  EXPECT_TRUE(is_error(refused));
  EXPECT_NE(text.find("HTTP 503 Service Unavailable"), npos) << text;
  EXPECT_EQ(text.find("malformed"), npos) << text;
  EXPECT_NE(text.find("Retry in 1 s"), npos) << text;
  EXPECT_EQ(st.proxy->count("GET", "/api/v1/tasks/never-cached"), static_cast<std::size_t>(kMaxRetries + 1));
  auto stale = st.session->call_tool("get_task", {{"id", id}});
  EXPECT_FALSE(is_error(stale)) << text_of(stale);
  EXPECT_TRUE(is_stale(stale)) << stale.dump();
}

TEST(GatewayFaults, Empty504IsRetriedServedStaleAndOpensTheBreaker) {
  ProxiedStack st(kBreakerFlags);
  const std::string id = st.create("cached before the 504s");
  ASSERT_FALSE(is_error(st.session->call_tool("get_task", {{"id", id}})));
  st.proxy->set_default(Fault::fail_empty(504));

  auto uncached = st.session->call_tool("get_task", {{"id", "never-cached"}});
  const std::string text = text_of(uncached);
  std::fprintf(stderr, "[text] empty 504, uncached get: %s\n", text.c_str());
  EXPECT_TRUE(is_error(uncached));
  EXPECT_NE(text.find("HTTP 504 Gateway Timeout"), npos) << text;
  EXPECT_NE(text.find("(request_id: "), npos) << text;
  EXPECT_EQ(text.find("malformed"), npos) << text;
  EXPECT_EQ(st.proxy->count("GET", "/api/v1/tasks/never-cached"), static_cast<std::size_t>(kMaxRetries + 1));

  auto stale = st.session->call_tool("get_task", {{"id", id}});
  EXPECT_FALSE(is_error(stale)) << text_of(stale);
  EXPECT_TRUE(is_stale(stale)) << stale.dump();
  EXPECT_NE(text_of(stale).find("504 Gateway Timeout"), npos) << text_of(stale);

  ASSERT_TRUE(st.mcp->wait_for_line(breaker_transition_to("open"), std::chrono::seconds(5)));
  const auto before = st.proxy->total();
  auto rejected = st.session->call_tool("create_task", {{"title", "while open"}});
  EXPECT_TRUE(is_error(rejected));
  EXPECT_NE(text_of(rejected).find("circuit open"), npos) << text_of(rejected);
  EXPECT_EQ(st.proxy->total(), before);

  st.proxy->heal();
  int tries = 0;
  EXPECT_TRUE(poll_until_fresh(*st.session, "get_task", {{"id", id}}, tries));
}

}  // namespace
}  // namespace taskman::testing::fault
