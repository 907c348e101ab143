// The status page through the binary: its JSON form field by field, and the HTML page opened in
// headless Chromium while a load runs and the backend is killed.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "status/png_check.hpp"
#include "status/status_support.hpp"

namespace taskman::testing::status {
namespace {

using fault::is_error;
using fault::is_stale;
using fault::text_of;
constexpr auto npos = std::string::npos;
constexpr const char* kChromium = "/usr/bin/chromium";

bool has(const std::string& text, const std::string& what) { return text.find(what) != npos; }

TEST(StatusPage, JsonFormFieldByField) {
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  Stack st(false, {"--trace-ui-url", "http://localhost:16686/trace/{trace_id}"});
  const std::string id = st.create("one");
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(is_error(st.session->call_tool("get_task", {{"id", id}})));
  auto failed = st.session->call_tool(
      "get_task", {{"id", "no-such-task"}},
      {{"X-Request-ID", "status-test-failed-call"}, {"traceparent", "00-" + trace + "-00f067aa0ba902b7-01"}});
  ASSERT_TRUE(is_error(failed));
  ASSERT_EQ(request_id_in(text_of(failed)), "status-test-failed-call");

  const Json s = st.status_json();
  EXPECT_EQ(s["service"], "taskman-mcp");
  EXPECT_TRUE(s["version"].is_string() && !s["version"].get<std::string>().empty());
  EXPECT_TRUE(s["revision"].is_string());
  EXPECT_TRUE(s["build_type"].is_string());
  EXPECT_GT(s["uptime_s"].get<double>(), 0.0);
  EXPECT_EQ(s["log_level"], "info");
  EXPECT_EQ(s["trace_ui"], true);

  // Routes: the MCP endpoint with every call above (initialize, initialized, 6 tool calls at least).
  const Json* mcp_route = nullptr;
  for (const auto& r : s["routes"]) {
    if (r["route"] == "POST /mcp") mcp_route = &r;
  }
  ASSERT_NE(mcp_route, nullptr) << s["routes"].dump();
  EXPECT_GE((*mcp_route)["requests"].get<int>(), 8);
  EXPECT_EQ((*mcp_route)["errors"], 0);  // tool errors are HTTP 200
  EXPECT_GT((*mcp_route)["rps"].get<double>(), 0.0);
  const double p50 = (*mcp_route)["p50_ms"], p90 = (*mcp_route)["p90_ms"], p99 = (*mcp_route)["p99_ms"];
  EXPECT_GT(p50, 0.0);
  EXPECT_LE(p50, p90);
  EXPECT_LE(p90, p99);
  // Tools: get_task 5 calls, one failed.
  const Json* get_task = nullptr;
  for (const auto& t : s["tools"]) {
    if (t["tool"] == "get_task") get_task = &t;
  }
  ASSERT_NE(get_task, nullptr) << s["tools"].dump();
  EXPECT_EQ((*get_task)["requests"], 5);
  EXPECT_EQ((*get_task)["errors"], 1);

  const Json& b = s["breaker"];
  EXPECT_EQ(b["state"], "closed");
  EXPECT_EQ(b["mode"], "auto");
  EXPECT_EQ(b["enabled"], true);
  EXPECT_EQ(b["threshold_percent"], 50);
  EXPECT_EQ(b["window_ms"], 10000);
  EXPECT_GE(b["calls_in_window"].get<int>(), 6);
  EXPECT_EQ(b["failures_in_window"], 0);  // a 404 is the caller's mistake, not the backend's
  EXPECT_EQ(b["error_percent"], 0.0);
  EXPECT_TRUE(b["time_until_half_open_ms"].is_null());
  EXPECT_TRUE(b["transitions"].empty());

  const Json& c = s["cache"];
  EXPECT_EQ(c["enabled"], true);
  EXPECT_EQ(c["entries"], 1);  // /tasks/<id>
  EXPECT_EQ(c["max_size"], 1000);
  EXPECT_EQ(c["hits"], 0);  // the cache only answers failed reads
  EXPECT_TRUE(c["hit_ratio"].is_null());
  EXPECT_GE(c["oldest_age_ms"].get<int>(), 0);
  for (const char* r : {"lru", "ttl", "invalidated", "purged"})
    EXPECT_TRUE(c["evictions"][r].is_number()) << r;

  EXPECT_EQ(s["bulkhead"]["capacity"], 100);
  EXPECT_EQ(s["bulkhead"]["in_flight"], 0);
  EXPECT_EQ(s["bulkhead"]["rejected"], 0);
  EXPECT_EQ(s["mcp"]["sessions"], 1);
  ASSERT_EQ(s["mcp"]["revisions"].size(), 1u);
  EXPECT_TRUE(std::regex_match(s["mcp"]["revisions"][0]["revision"].get<std::string>(),
                               std::regex("\\d{4}-\\d{2}-\\d{2}")));
  EXPECT_EQ(s["mcp"]["revisions"][0]["sessions"], 1);
  EXPECT_TRUE(s["mcp"]["revisions"][0]["open_streams"].is_number());
  EXPECT_EQ(s["exporter"]["enabled"], false);
  for (const char* k : {"queue_size", "exported", "dropped", "export_failed"}) {
    EXPECT_TRUE(s["exporter"][k].is_number()) << k;
  }

  // The failed call: in the errors (MCP entry) and the requests (HTTP and MCP), with its ids and link.
  ASSERT_FALSE(s["recent_errors"].empty());
  const Json& e = s["recent_errors"][0];
  EXPECT_EQ(e["kind"], "mcp");
  EXPECT_EQ(e["method"], "tools/call");
  EXPECT_EQ(e["target"], "get_task");
  EXPECT_EQ(e["outcome"], "tool_error");
  EXPECT_EQ(e["error"], true);
  EXPECT_EQ(e["request_id"], "status-test-failed-call");
  EXPECT_EQ(e["trace_id"], trace);
  EXPECT_EQ(e["trace_url"], "http://localhost:16686/trace/" + trace);
  EXPECT_GE(e["age_ms"].get<int>(), 0);
  bool http_seen = false;
  for (const auto& r : s["recent_requests"]) {
    if (r["kind"] == "http" && r["request_id"] == "status-test-failed-call") {
      http_seen = true;
      EXPECT_EQ(r["method"], "POST");
      EXPECT_EQ(r["target"], "/mcp");
      EXPECT_EQ(r["outcome"], "200");
      EXPECT_EQ(r["trace_id"], trace);
      EXPECT_GT(r["duration_ms"].get<double>(), 0.0);
    }
  }
  EXPECT_TRUE(http_seen) << s["recent_requests"].dump();
  EXPECT_TRUE(s["admin_actions"].empty());

  // The API's own page: no resilience sections, the database shown without credentials.
  auto api = http(st.api_port, "GET", "/status.json");
  ASSERT_EQ(api.status, 200) << api.body;
  const Json a = Json::parse(api.body);
  EXPECT_EQ(a["service"], "taskman-api");
  EXPECT_TRUE(a["breaker"].is_null());
  EXPECT_TRUE(a["mcp"].is_null());
  EXPECT_TRUE(has(a["database"].get<std::string>(), "sqlite:"));
  bool tasks_route = false;
  for (const auto& r : a["routes"]) tasks_route = tasks_route || r["route"] == "POST /api/v1/tasks";
  EXPECT_TRUE(tasks_route) << a["routes"].dump();
  auto html = http(st.mcp_port, "GET", "/status");
  EXPECT_EQ(html.status, 200);
  EXPECT_TRUE(has(html.headers["content-type"], "text/html"));
  EXPECT_TRUE(has(html.body, "status-test-failed-call"));  // server-rendered, no script needed
}

// A browser run: --dump-dom prints the DOM after the script ran; --screenshot writes a PNG.
std::string chromium(const TempDir& dir, const std::vector<std::string>& extra, const std::string& url) {
  static int run = 0;
  Process::Options o;
  o.args = {"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--user-data-dir=" + dir.path() + "/profile" + std::to_string(++run),
            // Timers run in virtual time; the page's fetches are real and pause it while in flight.
            "--virtual-time-budget=4000", "--window-size=1200,1600"};
  o.args.insert(o.args.end(), extra.begin(), extra.end());
  o.args.push_back(url);
  o.env["HOME"] = dir.path();
  o.capture_stdout = true;
  o.cwd = dir.path();
  Process p(o, kChromium);
  std::string out;
  while (auto line = p.read_stdout_line(std::chrono::seconds(60))) out += *line + "\n";
  const auto rc = p.wait_exit(std::chrono::seconds(60));
  if (rc != 0)
    throw std::runtime_error("chromium exited " + (rc ? std::to_string(*rc) : "late") + ":\n" +
                             p.stderr_text());
  return out;
}

TEST(StatusPage, ChromiumShowsTheBreakerOpeningTheCacheAnsweringAndFailedRequestIds) {
  ASSERT_EQ(access(kChromium, X_OK), 0)
      << kChromium << " is missing: scripts/bootstrap --test installs chromium";
  // A reset timeout longer than the test: the breaker stays open while the page is looked at.
  Stack st(false, {"--circuit-breaker-reset-timeout-ms", "120000"});
  const std::string id = st.create("cached before the crash");
  ASSERT_FALSE(is_error(st.session->call_tool("get_task", {{"id", id}})));

  // The load: its own session, cached reads and writes in turn, until told to stop.
  std::mutex mu;
  std::condition_variable cv;
  std::set<std::string> failed_ids;
  int stale_answers = 0;
  std::atomic<bool> stop{false};
  std::thread load([&] {
    auto s = McpSession::open(st.mcp_port);
    for (int i = 0; !stop; ++i) {
      const bool write = i % 2 == 1;
      auto r = write ? s.call_tool("create_task", {{"title", "load " + std::to_string(i)}})
                     : s.call_tool("get_task", {{"id", id}});
      std::lock_guard lock(mu);
      if (is_error(r)) failed_ids.insert(request_id_in(text_of(r)));
      if (is_stale(r)) ++stale_answers;
      cv.notify_all();
    }
  });
  struct Join {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Join() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } join{stop, load};

  st.api->signal(SIGKILL);
  ASSERT_EQ(st.api->wait_exit(), 128 + SIGKILL);
  ASSERT_TRUE(st.mcp->wait_for_line(fault::breaker_transition_to("open"), std::chrono::seconds(10)));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10),
                            [&] { return stale_answers >= 3 && failed_ids.size() >= 3; }))
        << "stale " << stale_answers << ", failed " << failed_ids.size();
  }

  const std::string url = "http://127.0.0.1:" + std::to_string(st.mcp_port) + "/status";
  const std::string dom = chromium(st.dir, {"--dump-dom"}, url);
  const std::string shot = std::string(TASKMAN_BUILD_DIR) + "/status_page.png";
  std::remove(shot.c_str());
  chromium(st.dir, {"--screenshot=" + shot}, url);
  stop = true;
  load.join();

  // The script ran and rewrote the page from status.json at least once.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dom, m, std::regex("id=\"live\" data-updates=\"(\\d+)\"")))
      << dom.substr(0, 2000);
  EXPECT_GE(std::stoi(m[1]), 1);
  EXPECT_TRUE(has(dom, "live: updated ")) << dom.substr(0, 2000);
  // The breaker went open, by the error threshold.
  EXPECT_TRUE(std::regex_search(dom, std::regex("<span data-v=\"breaker.state\"[^>]*>open</span>"))) << dom;
  EXPECT_TRUE(has(dom, "<td>closed</td><td>open</td><td>error_threshold</td>")) << dom;
  // The cache answered.
  ASSERT_TRUE(std::regex_search(dom, m, std::regex("data-v=\"cache.hits\">(\\d+)<"))) << dom;
  EXPECT_GE(std::stoi(m[1]), 1);
  // Failed calls listed with their request ids (the ones the agent was told).
  const auto errors_at = dom.find("data-list=\"recent_errors\"");
  ASSERT_NE(errors_at, npos);
  const std::string errors_table = dom.substr(errors_at, dom.find("</table>", errors_at) - errors_at);
  int shown = 0;
  for (const auto& rid : failed_ids) shown += !rid.empty() && has(errors_table, "<td>" + rid + "</td>");
  EXPECT_GE(shown, 1) << errors_table;
  std::fprintf(stderr, "[measured] failed calls %zu, stale answers %d, failed request ids on the page %d\n",
               failed_ids.size(), stale_answers, shown);

  std::ifstream in(shot, std::ios::binary);
  ASSERT_TRUE(in) << shot;
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string png = bytes.str();
  EXPECT_GT(png.size(), 20'000u) << "a blank page compresses to a few kB";
  std::string why;
  auto img = decode_png(png, why);
  ASSERT_TRUE(img) << why;
  EXPECT_EQ(img->width, 1200u);
  EXPECT_EQ(img->height, 1600u);
  const auto corner = img->at(5, 5);
  EXPECT_GE(corner.r + corner.g + corner.b, 3 * 240) << "the background is white";
  // Text is drawn (dark pixels), and the open breaker's red badge is on screen.
  std::size_t dark = 0, red = 0;
  for (std::uint32_t y = 0; y < img->height; y += 2) {
    for (std::uint32_t x = 0; x < img->width; x += 2) {
      const auto p = img->at(x, y);
      dark += p.r + p.g + p.b < 200;
      red += p.r > 180 && p.g < 70 && p.b < 80;
    }
  }
  EXPECT_GT(dark, 500u);
  EXPECT_GT(red, 30u);
  std::fprintf(stderr, "[measured] screenshot %s: %zu bytes, %ux%u, dark samples %zu, red samples %zu\n",
               shot.c_str(), png.size(), img->width, img->height, dark, red);
}

}  // namespace
}  // namespace taskman::testing::status
