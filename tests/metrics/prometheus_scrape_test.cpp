// A real Prometheus scrapes both taskman services with the shipped scrape configuration (targets
// pointed at the test's ports, 1 s interval) and the shipped alert rules, and answers PromQL over
// what it scraped: the targets are up and the tool-call counter holds what the test did.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "metrics/exposition.hpp"
#include "support/mcp_session.hpp"
#include "support/process.hpp"

namespace taskman::testing {
namespace {

using nlohmann::json;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replaces the one occurrence of `from`; fails the test if there is not exactly one, so a change to
// the shipped file cannot silently leave the test scraping something else.
void replace_once(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << "'" << from << "' not in the shipped prometheus.yml";
  ASSERT_EQ(text.find(from, at + 1), std::string::npos) << "'" << from << "' twice in prometheus.yml";
  text.replace(at, from.size(), to);
}

std::string url_encode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

json get_json(int port, const std::string& target) {
  auto r = http(port, "GET", target);
  if (r.status != 200) throw std::runtime_error(target + ": HTTP " + std::to_string(r.status) + " " + r.body);
  return json::parse(r.body);
}

// The instant-query result vector for `promql`.
json query(int port, const std::string& promql) {
  auto j = get_json(port, "/api/v1/query?query=" + url_encode(promql));
  if (j.value("status", "") != "success") throw std::runtime_error("query " + promql + ": " + j.dump());
  return j["data"]["result"];
}

bool both_targets_up(int prom_port) {
  auto targets = get_json(prom_port, "/api/v1/targets")["data"]["activeTargets"];
  int up = 0;
  for (const auto& t : targets) {
    const std::string job = t["labels"].value("job", "");
    if ((job == "taskman-api" || job == "taskman-mcp") && t.value("health", "") == "up") ++up;
  }
  return up == 2;
}

TEST(PrometheusScrape, BothTargetsUpAndToolCallsCounted) {
  TempDir dir;
  Process::Options so = serve_options(dir);
  Process taskman(so);
  const int api_port = taskman.wait_for_port("taskman-api");
  const int mcp_port = taskman.wait_for_port("taskman-mcp");

  auto s = McpSession::open(mcp_port);
  constexpr int kCreates = 3;
  for (int i = 0; i < kCreates; ++i) {
    const auto r = s.call_tool("create_task", {{"title", "scraped " + std::to_string(i)}});
    ASSERT_FALSE(r.value("isError", false)) << r.dump();
  }
  EXPECT_TRUE(s.call_tool("get_task", {{"id", "missing"}}).value("isError", false));

  // The shipped configuration, pointed at this test's services; the rule file beside it.
  const std::string shipped = std::string(TASKMAN_SOURCE_DIR) + "/deploy/prometheus/";
  std::string config = read_file(shipped + "prometheus.yml");
  replace_once(config, "127.0.0.1:3001", "127.0.0.1:" + std::to_string(api_port));
  replace_once(config, "127.0.0.1:3000", "127.0.0.1:" + std::to_string(mcp_port));
  replace_once(config, "scrape_interval: 15s", "scrape_interval: 1s");
  replace_once(config, "evaluation_interval: 15s", "evaluation_interval: 1s");
  std::ofstream(dir.path() + "/prometheus.yml") << config;
  std::filesystem::copy_file(shipped + "alerts.yml", dir.path() + "/alerts.yml");
  const std::string alerts = read_file(shipped + "alerts.yml");
  int alert_rules = 0;
  for (auto at = alerts.find("- alert:"); at != std::string::npos; at = alerts.find("- alert:", at + 1))
    ++alert_rules;

  Process::Options po;
  po.args = {"--config.file=" + dir.path() + "/prometheus.yml", "--storage.tsdb.path=" + dir.path() + "/tsdb",
             "--web.listen-address=127.0.0.1:0"};
  po.cwd = dir.path();
  Process prometheus(po, PROMETHEUS_PATH);
  // Port 0 avoids a free-port race; Prometheus logs the address it actually bound.
  const auto listening = prometheus.wait_for_line(
      [](const std::string& l) { return l.find("msg=\"Listening on\"") != std::string::npos; });
  ASSERT_TRUE(listening) << prometheus.stderr_text();
  const auto colon = listening->rfind(':');
  const int prom_port = std::stoi(listening->substr(colon + 1));
  ASSERT_TRUE(prometheus.wait_for_line([](const std::string& l) {
    return l.find("Server is ready to receive web requests") != std::string::npos;
  })) << prometheus.stderr_text();

  // Prometheus offers no event for "scraped", so poll its API: every 50 ms, for at most 30 s. Both
  // targets must be up, and `up` must be queryable for both, which means the scrape was committed
  // (up is appended in the same commit as the scraped samples).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool scraped = false;
  while (!scraped && std::chrono::steady_clock::now() < deadline) {
    scraped = both_targets_up(prom_port) && query(prom_port, "up == 1").size() == 2;
    if (!scraped) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(scraped) << get_json(prom_port, "/api/v1/targets").dump() << "\n" << prometheus.stderr_text();

  const auto up = query(prom_port, "up");
  ASSERT_EQ(up.size(), 2u) << up.dump();
  for (const auto& series : up) EXPECT_EQ(series["value"][1], "1") << series.dump();

  const auto created =
      query(prom_port, R"(mcp_tool_calls_total{job="taskman-mcp",tool="create_task",outcome="ok"})");
  ASSERT_EQ(created.size(), 1u) << created.dump();
  EXPECT_EQ(created[0]["value"][1], std::to_string(kCreates)) << created.dump();
  EXPECT_EQ(created[0]["metric"]["instance"], "127.0.0.1:" + std::to_string(mcp_port));
  const auto failed = query(prom_port, R"(mcp_tool_calls_total{job="taskman-mcp",outcome="tool_error"})");
  ASSERT_EQ(failed.size(), 1u) << failed.dump();
  EXPECT_EQ(failed[0]["metric"]["tool"], "get_task");
  EXPECT_EQ(failed[0]["value"][1], "1");
  // The API target is scraped for real too: its database histogram is there.
  EXPECT_FALSE(query(prom_port, R"(db_query_duration_seconds_count{job="taskman-api"})").empty());

  // The shipped alert rules loaded into a real Prometheus.
  const auto groups = get_json(prom_port, "/api/v1/rules")["data"]["groups"];
  ASSERT_EQ(groups.size(), 1u) << groups.dump();
  EXPECT_EQ(groups[0]["rules"].size(), static_cast<std::size_t>(alert_rules));

  prometheus.signal(SIGTERM);
  EXPECT_EQ(prometheus.wait_exit(std::chrono::seconds(30)), 0) << prometheus.stderr_text();
  taskman.signal(SIGTERM);
  EXPECT_EQ(taskman.wait_exit(), 0) << taskman.stderr_text();
}

}  // namespace
}  // namespace taskman::testing
