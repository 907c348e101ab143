#include "bench/bench.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "http/client.hpp"
#include "http/server.hpp"

namespace taskman::bench {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

Result<BenchOptions> parse_bench_options(const std::vector<std::string>& args) {
  BenchOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "--json") {
      o.json = true;
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) return Error::invalid(name, name + " needs a value");
      value = args[++i];
    }
    auto number = [&](double lo, double hi) -> std::optional<double> {
      try {
        std::size_t used = 0;
        const double d = std::stod(*value, &used);
        if (used != value->size() || d < lo || d > hi) return std::nullopt;
        return d;
      } catch (...) {
        return std::nullopt;
      }
    };
    if (name == "--url") {
      if (!http::parse_url(*value)) return Error::invalid(name, "must be an http:// URL, got " + *value);
      o.url = *value;
    } else if (name == "--sessions") {
      auto n = number(1, 10000);
      if (!n) return Error::invalid(name, "must be a whole number from 1 to 10000");
      o.sessions = static_cast<int>(*n);
    } else if (name == "--duration") {
      auto n = number(0.1, 86400);
      if (!n) return Error::invalid(name, "must be seconds from 0.1 to 86400");
      o.duration_s = *n;
    } else if (name == "--warmup") {
      auto n = number(0, 600);
      if (!n) return Error::invalid(name, "must be seconds from 0 to 600");
      o.warmup_s = *n;
    } else if (name == "--requests") {
      auto n = number(1, 1e12);
      if (!n) return Error::invalid(name, "must be a positive whole number");
      o.max_requests = static_cast<std::int64_t>(*n);
    } else if (name == "--tool") {
      o.tool = *value;
    } else if (name == "--args") {
      auto j = Json::parse(*value, nullptr, false);
      if (!j.is_object()) return Error::invalid(name, "must be a JSON object, got " + *value);
      o.args_json = *value;
    } else if (name == "--token") {
      o.token = *value;
    } else {
      return Error::invalid(name, "unknown option " + name + " for 'taskman bench'");
    }
  }
  return o;
}

namespace {

// The JSON-RPC message answering `id` in a JSON or SSE body.
std::optional<Json> find_response(const std::string& content_type, const std::string& body, int id) {
  if (content_type.find("text/event-stream") == std::string::npos) {
    auto j = Json::parse(body, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  }
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto eol = body.find('\n', pos);
    if (eol == std::string::npos) eol = body.size();
    std::string_view line(body.data() + pos, eol - pos);
    if (line.starts_with("data:")) {
      line.remove_prefix(5);
      auto j = Json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("id") && j["id"] == id) return j;
    }
    pos = eol + 1;
  }
  return std::nullopt;
}

struct Shared {
  BenchOptions options;
  http::Url url;
  std::unique_ptr<http::HttpClient> client;
  std::string args;  // JSON text of the tool arguments
  Clock::time_point measure_start, measure_end;
  std::atomic<std::int64_t> issued{0};
  std::atomic<std::int64_t> calls{0};
  std::atomic<std::int64_t> errors{0};
  std::mutex mu;
  std::condition_variable cv;
  int finished_sessions = 0;
  std::string first_error;
  std::vector<std::vector<float>> latencies;  // per session, ms

  void note_error(const std::string& e) {
    errors.fetch_add(1);
    std::lock_guard lock(mu);
    if (first_error.empty()) first_error = e;
  }
};

http::ClientRequest post(const Shared& s, const std::string& session_id, std::string body) {
  http::ClientRequest r;
  r.method = "POST";
  r.target = s.url.base_path.empty() ? "/" : s.url.base_path;
  r.headers.add("Content-Type", "application/json");
  r.headers.add("Accept", "application/json, text/event-stream");
  if (!session_id.empty()) {
    r.headers.add("Mcp-Session-Id", session_id);
    r.headers.add("MCP-Protocol-Version", "2025-11-25");
  }
  if (!s.options.token.empty()) r.headers.add("Authorization", "Bearer " + s.options.token);
  r.body = std::move(body);
  return r;
}

constexpr auto kCallTimeout = std::chrono::seconds(30);

// Initialize a session synchronously (set-up is not measured).
Result<std::string> open_session(Shared& s) {
  Json init = {{"jsonrpc", "2.0"},
               {"id", 1},
               {"method", "initialize"},
               {"params",
                {{"protocolVersion", "2025-11-25"},
                 {"capabilities", Json::object()},
                 {"clientInfo", {{"name", "taskman-bench"}, {"version", "1"}}}}}};
  auto r = s.client->send_sync(post(s, "", init.dump()), kCallTimeout);
  if (!r.ok()) return Error::make(ErrorCode::kUnavailable, "initialize failed: " + r.error_message);
  if (r.response.status != 200) {
    return Error::make(
        ErrorCode::kUnavailable,
        "initialize answered HTTP " + std::to_string(r.response.status) + ": " + r.response.body);
  }
  std::string sid(r.response.headers.get("Mcp-Session-Id").value_or(""));
  Json note = {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}};
  auto n = s.client->send_sync(post(s, sid, note.dump()), kCallTimeout);
  if (!n.ok() || n.response.status != 202) {
    return Error::make(ErrorCode::kUnavailable, "notifications/initialized was not accepted");
  }
  return sid;
}

Result<Json> call_sync(Shared& s, const std::string& sid, const std::string& tool, const Json& args) {
  Json req = {{"jsonrpc", "2.0"},
              {"id", 2},
              {"method", "tools/call"},
              {"params", {{"name", tool}, {"arguments", args}}}};
  auto r = s.client->send_sync(post(s, sid, req.dump()), kCallTimeout);
  if (!r.ok()) return Error::make(ErrorCode::kUnavailable, r.error_message);
  auto msg =
      find_response(std::string(r.response.headers.get("Content-Type").value_or("")), r.response.body, 2);
  if (!msg || !msg->contains("result")) {
    return Error::make(ErrorCode::kUnavailable, "tools/call " + tool + " failed: " + r.response.body);
  }
  return (*msg)["result"];
}

class SessionLoop : public std::enable_shared_from_this<SessionLoop> {
 public:
  SessionLoop(Shared& s, std::size_t index, std::string sid) : s_(s), index_(index), sid_(std::move(sid)) {}

  void next() {
    const auto now = Clock::now();
    const bool over_time = s_.options.max_requests == 0 && now >= s_.measure_end;
    const bool over_count = s_.options.max_requests > 0 && s_.issued.fetch_add(1) >= s_.options.max_requests;
    if (over_time || over_count) {
      {
        std::lock_guard lock(s_.mu);
        ++s_.finished_sessions;
      }
      s_.cv.notify_all();
      return;
    }
    std::string body = R"({"jsonrpc":"2.0","id":)" + std::to_string(++id_) +
                       R"(,"method":"tools/call","params":{"name":)" + Json(s_.options.tool).dump() +
                       R"(,"arguments":)" + s_.args + "}}";
    auto self = shared_from_this();
    const int id = id_;
    s_.client->send(post(s_, sid_, std::move(body)), kCallTimeout, [self, id, now](http::ClientResult r) {
      const auto end = Clock::now();
      auto& s = self->s_;
      bool ok = r.ok() && r.response.status == 200;
      if (ok) {
        auto msg = find_response(std::string(r.response.headers.get("Content-Type").value_or("")),
                                 r.response.body, id);
        ok = msg && msg->contains("result") && !(*msg)["result"].value("isError", false);
        if (!ok) s.note_error(r.response.body.substr(0, 300));
      } else {
        s.note_error(r.ok() ? "HTTP " + std::to_string(r.response.status) : r.error_message);
      }
      const bool counted = s.options.max_requests > 0 || (now >= s.measure_start && end <= s.measure_end);
      if (counted) {
        s.calls.fetch_add(1);
        s.latencies[self->index_].push_back(std::chrono::duration<float, std::milli>(end - now).count());
      }
      self->next();
    });
  }

 private:
  Shared& s_;
  std::size_t index_;
  std::string sid_;
  int id_ = 10;
};

double percentile(const std::vector<float>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto idx = static_cast<std::size_t>(std::min<double>(sorted.size() - 1, p / 100.0 * sorted.size()));
  return sorted[idx];
}

}  // namespace

Result<BenchReport> run_bench(const BenchOptions& options) {
  auto url = http::parse_url(options.url);
  if (!url) return url.take_error();
  http::IoPool pool(1);
  pool.start();
  Shared s;
  s.options = options;
  s.url = *url;
  s.client = std::make_unique<http::HttpClient>(pool, url->host, url->port);
  s.latencies.resize(static_cast<std::size_t>(options.sessions));

  std::vector<std::string> sids;
  for (int i = 0; i < options.sessions; ++i) {
    auto sid = open_session(s);
    if (!sid) return sid.take_error();
    sids.push_back(*sid);
  }
  Json args = options.args_json.empty() ? Json::object() : Json::parse(options.args_json);
  if (options.args_json.empty() && options.tool == "get_task") {
    auto created = call_sync(s, sids[0], "create_task",
                             {{"title", "bench task"}, {"description", "made by taskman bench"}});
    if (!created) return created.take_error();
    if (created->value("isError", false)) {
      return Error::make(ErrorCode::kUnavailable, "create_task for the benchmark failed: " + created->dump());
    }
    args = {{"id", (*created)["structuredContent"]["task"]["id"]}};
  }
  s.args = args.dump();

  const auto start = Clock::now();
  s.measure_start =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.warmup_s));
  s.measure_end = s.measure_start + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(options.duration_s));
  if (options.max_requests > 0) s.measure_start = start;
  std::vector<std::shared_ptr<SessionLoop>> loops;
  for (std::size_t i = 0; i < sids.size(); ++i) {
    loops.push_back(std::make_shared<SessionLoop>(s, i, sids[i]));
    pool.post([l = loops.back()] { l->next(); });
  }
  const bool tty = ::isatty(2) != 0;
  {
    std::unique_lock lock(s.mu);
    std::int64_t last_calls = 0;
    auto last = Clock::now();
    while (!s.cv.wait_for(lock, std::chrono::seconds(1),
                          [&] { return s.finished_sessions == options.sessions; })) {
      const auto now = Clock::now();
      const auto calls = s.calls.load();
      const double rate = (calls - last_calls) / std::chrono::duration<double>(now - last).count();
      std::fprintf(stderr, "%s[%5.1fs] %lld calls, %.0f/s, %lld errors%s", tty ? "\r" : "",
                   std::chrono::duration<double>(now - start).count(), static_cast<long long>(calls), rate,
                   static_cast<long long>(s.errors.load()), tty ? "   " : "\n");
      last_calls = calls;
      last = now;
    }
  }
  if (tty) std::fputc('\n', stderr);
  const auto end = Clock::now();
  pool.stop();

  BenchReport rep;
  std::vector<float> all;
  for (auto& v : s.latencies) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  rep.calls = s.calls.load();
  rep.errors = s.errors.load();
  rep.seconds =
      options.max_requests > 0 ? std::chrono::duration<double>(end - start).count() : options.duration_s;
  rep.rps = rep.seconds > 0 ? rep.calls / rep.seconds : 0;
  rep.p50_ms = percentile(all, 50);
  rep.p90_ms = percentile(all, 90);
  rep.p99_ms = percentile(all, 99);
  rep.max_ms = all.empty() ? 0 : all.back();
  rep.first_error = s.first_error;
  return rep;
}

std::string format_report(const BenchOptions& o, const BenchReport& r) {
  if (o.json) {
    Json j = {{"tool", o.tool},     {"sessions", o.sessions}, {"seconds", r.seconds}, {"calls", r.calls},
              {"errors", r.errors}, {"rps", r.rps},           {"p50_ms", r.p50_ms},   {"p90_ms", r.p90_ms},
              {"p99_ms", r.p99_ms}, {"max_ms", r.max_ms}};
    if (!r.first_error.empty()) j["first_error"] = r.first_error;
    return j.dump() + "\n";
  }
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "tools/call %s, %d sessions, %.1f s: %lld calls, %lld errors\n"
                "throughput %.0f req/s; latency p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n",
                o.tool.c_str(), o.sessions, r.seconds, static_cast<long long>(r.calls),
                static_cast<long long>(r.errors), r.rps, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms);
  std::string out = buf;
  if (!r.first_error.empty()) out += "first error: " + r.first_error + "\n";
  return out;
}

}  // namespace taskman::bench
