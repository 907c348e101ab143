#include "fault/fault_support.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace taskman::testing::fault {

Process::Options api_options(const TempDir& dir, int port) {
  Process::Options o;
  o.args = {"api", "--api-port", std::to_string(port), "--database-url", "sqlite:" + dir.path() + "/t.db"};
  o.cwd = dir.path();  // no stray .env is picked up
  return o;
}

Process::Options mcp_options(const TempDir& dir, const std::string& endpoint,
                             const std::vector<std::string>& extra) {
  Process::Options o;
  o.args = {"mcp",
            "--port",
            "0",
            "--task-manager-api-endpoint",
            endpoint,
            "--backend-timeout-ms",
            std::to_string(kAttemptTimeoutMs),
            "--backend-max-retries",
            std::to_string(kMaxRetries),
            "--circuit-breaker-reset-timeout-ms",
            std::to_string(kResetTimeoutMs),
            "--circuit-breaker-volume-threshold",
            std::to_string(kVolumeThreshold),
            "--circuit-breaker-rolling-window-ms",
            "10000"};
  o.args.insert(o.args.end(), extra.begin(), extra.end());
  o.cwd = dir.path();
  return o;
}

std::string api_endpoint(int port) { return "http://127.0.0.1:" + std::to_string(port) + "/api/v1"; }

Timed timed_call(McpSession& s, const std::string& tool, const Json& args) {
  const auto start = Clock::now();
  Json r = s.call_tool(tool, args);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  return {std::move(r), static_cast<long long>(ms)};
}

bool is_error(const Json& result) { return result.value("isError", false); }

std::string text_of(const Json& result) {
  std::string out;
  if (!result.contains("content")) return out;
  for (const auto& c : result["content"]) {
    if (c.value("type", "") != "text") continue;
    if (!out.empty()) out += '\n';
    out += c.value("text", std::string());
  }
  return out;
}

bool is_stale(const Json& result) {
  return result.contains("_meta") && result["_meta"].value("taskman/stale", false);
}

std::vector<Json> api_tasks(int api_port) {
  std::vector<Json> out;
  std::string target = "/api/v1/tasks?limit=100";
  for (int page = 0; page < 100; ++page) {
    auto r = http(api_port, "GET", target);
    if (r.status != 200)
      throw std::runtime_error("GET " + target + ": HTTP " + std::to_string(r.status) + " " + r.body);
    auto j = Json::parse(r.body);
    for (auto& t : j["items"]) out.push_back(t);
    if (j["next_cursor"].is_null()) return out;
    target = "/api/v1/tasks?limit=100&cursor=" + j["next_cursor"].get<std::string>();
  }
  throw std::runtime_error("more than 100 pages of tasks");
}

bool wait_stopped(int pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  while (Clock::now() < deadline) {
    bool all = true;
    std::error_code ec;
    for (const auto& t : std::filesystem::directory_iterator(tasks, ec)) {
      std::ifstream in(t.path() / "stat");
      std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      // "pid (comm) S ...": the state follows the last ')' (comm may itself contain parentheses).
      const auto close = stat.rfind(')');
      const char state = close == std::string::npos || close + 2 >= stat.size() ? '?' : stat[close + 2];
      if (state != 'T' && state != 't') all = false;
    }
    if (!ec && all) return true;
  }
  return false;
}

std::function<bool(const std::string&)> breaker_transition_to(const std::string& to) {
  return [to](const std::string& line) {
    auto j = Json::parse(line, nullptr, false);
    return j.is_object() && j.value("msg", "") == "circuit breaker transition" && j.value("to", "") == to;
  };
}

std::optional<std::string> wait_for_line_after(Process& p, std::size_t skip,
                                               const std::function<bool(const std::string&)>& pred,
                                               std::chrono::milliseconds timeout) {
  // wait_for_line offers every line from the first one, in order, on each call: count them off.
  std::size_t index = 0;
  return p.wait_for_line([&](const std::string& line) { return index++ >= skip && pred(line); }, timeout);
}

}  // namespace taskman::testing::fault
