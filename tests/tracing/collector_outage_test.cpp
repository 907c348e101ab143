// docs/observability.md#sampling-and-export: "batch processor with bounded queue (drops counted, never blocks
// a request); exporter retries 429/502/503/504 with backoff and Retry-After; flushed on shutdown within a
// bound". A collector that cannot be reached, or that answers 503 to everything, must cost tool calls
// nothing, and the spans it loses must show on /metrics (tracer_spans_dropped_total: "queue full or export
// failed"). Waits are on log lines, the receiver's condition variable and process exit.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

#include "support/mcp_session.hpp"
#include "support/process.hpp"
#include "tracing/tracing_support.hpp"

namespace taskman::testing::tracing {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A tool call against a local SQLite backend takes milliseconds. The exporters below hold a batch for
// a second or more per attempt (Retry-After: 1, backoff from 1 s), so a call that waited on export
// in any way would take at least that long.
constexpr auto kMaxCall = 1000ms;
constexpr int kShutdownTimeoutMs = 1000;

// A loopback port nobody listens on: bound, then closed (another process could take it in between;
// on a loopback test host that is vanishingly rare and would only make the collector "reachable").
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// The value of an unlabelled counter in a Prometheus text scrape; nullopt when the family is absent.
std::optional<double> counter(const std::string& scrape, const std::string& name) {
  const std::regex re("(^|\n)" + name + " ([0-9.eE+-]+)");
  std::smatch m;
  if (!std::regex_search(scrape, m, re)) return std::nullopt;
  return std::stod(m[2]);
}

// Makes `n` tool calls and checks each succeeded within kMaxCall; returns the slowest, in ms.
long long timed_calls(McpSession& session, int n, const std::string& label) {
  long long slowest = 0;
  for (int i = 0; i < n; ++i) {
    const auto start = Clock::now();
    Json r = session.call_tool("create_task", {{"title", label + " " + std::to_string(i)}});
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    slowest = std::max<long long>(slowest, ms);
    EXPECT_FALSE(r.value("isError", false)) << r.dump();
    EXPECT_LT(ms, kMaxCall.count()) << "call " << i << " took " << ms << " ms while the collector is down";
  }
  std::fprintf(stderr, "[measured] %s: %d calls, slowest %lld ms (limit %lld ms)\n", label.c_str(), n,
               slowest, static_cast<long long>(kMaxCall.count()));
  return slowest;
}

std::function<bool(const std::string&)> export_failed_line(const std::string& service) {
  return [service](const std::string& line) {
    const Json j = Json::parse(line, nullptr, false);
    return j.is_object() && j.value("service", "") == service &&
           j.value("msg", "") == "OTLP trace export failed";
  };
}

// Graceful stop within the shutdown bound, though the collector never takes a span: the drain is
// immediate (nothing in flight) and each service's flush is cut at SHUTDOWN_TIMEOUT_MS.
void stop_within_bound(Process& p) {
  const auto start = Clock::now();
  p.signal(SIGTERM);
  const auto code = p.wait_exit(20s);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  ASSERT_TRUE(code.has_value()) << "no exit within 20 s of SIGTERM";
  EXPECT_EQ(*code, 0);
  std::fprintf(stderr, "[measured] SIGTERM to exit: %lld ms (SHUTDOWN_TIMEOUT_MS=%d)\n",
               static_cast<long long>(ms), kShutdownTimeoutMs);
  // Two services each flushing for at most the bound, plus process teardown.
  EXPECT_LT(ms, 2 * kShutdownTimeoutMs + 2000);
}

TEST(CollectorOutage, UnreachableCollectorCostsCallsNothingAndFailedExportsAreCountedAsDropped) {
  TempDir dir;
  const int port = closed_port();
  Process serve(traced(dir, serve_args(dir), "http://127.0.0.1:" + std::to_string(port),
                       {{"LOG_LEVEL", "debug"},
                        {"OTEL_BSP_SCHEDULE_DELAY", "50"},
                        {"OTEL_BSP_EXPORT_TIMEOUT", "500"},
                        {"SHUTDOWN_TIMEOUT_MS", std::to_string(kShutdownTimeoutMs)}}));
  serve.wait_for_port("taskman-api");
  const int mcp_port = serve.wait_for_port("taskman-mcp");
  auto session = McpSession::open(mcp_port);

  timed_calls(session, 20, "unreachable collector");
  // The first failure is a warning, later ones debug lines (no log storms); both name the service.
  auto first = serve.wait_for_line(export_failed_line("taskman-mcp"), 10s);
  ASSERT_TRUE(first.has_value()) << "the MCP service never reported a failed export";
  const Json first_json = Json::parse(*first);
  EXPECT_EQ(first_json.value("level", ""), "warn") << *first;
  const auto first_batch = first_json.value("spans", 0);
  EXPECT_GT(first_batch, 0) << *first;

  // The processor counts a batch's failure right after the exporter returns, before it takes the
  // next batch. So once a second batch has failed, the first is surely counted.
  timed_calls(session, 2, "unreachable collector, second batch");
  std::size_t failures = 0;
  auto second = serve.wait_for_line([&, pred = export_failed_line("taskman-mcp")](
                                        const std::string& line) { return pred(line) && ++failures == 2; },
                                    10s);
  ASSERT_TRUE(second.has_value()) << "no second failed export from the MCP service";

  const auto scrape = http(mcp_port, "GET", "/metrics");
  ASSERT_EQ(scrape.status, 200);
  const auto dropped = counter(scrape.body, "tracer_spans_dropped_total");
  const auto exported = counter(scrape.body, "tracer_spans_exported_total");
  ASSERT_TRUE(dropped.has_value() && exported.has_value()) << scrape.body;
  EXPECT_GE(*dropped, first_batch) << "spans whose export failed were lost and must be counted";
  EXPECT_EQ(*exported, 0) << "nothing can have been delivered";

  stop_within_bound(serve);
}

TEST(CollectorOutage, Collector503IsRetriedInTheBackgroundWhileTheFullQueueDropsAndCounts) {
  OtlpCollector collector(503, 1);  // down, asking to come back in 1 s
  TempDir dir;
  Process serve(traced(dir, serve_args(dir), collector.base_url(),
                       {{"OTEL_BSP_SCHEDULE_DELAY", "50"},
                        {"OTEL_BSP_MAX_QUEUE_SIZE", "8"},
                        {"SHUTDOWN_TIMEOUT_MS", std::to_string(kShutdownTimeoutMs)}}));
  serve.wait_for_port("taskman-api");
  const int mcp_port = serve.wait_for_port("taskman-mcp");
  auto session = McpSession::open(mcp_port);

  // 40 calls end at least 40 backend client spans before the last answer; the MCP service's exporter
  // holds at most one batch of 8 (it spends >= 1 s per attempt) and its queue 8 more.
  timed_calls(session, 40, "collector answering 503");

  // Five export requests from two services: one service sent three, and a batch is attempted up to
  // five times, so one body arrived at least twice -- the exporter retried the same batch.
  ASSERT_TRUE(collector.wait_for_requests(5, 20s)) << "the exporters did not retry";
  const auto bodies = collector.bodies();
  bool retried = false;
  for (std::size_t i = 0; i < bodies.size() && !retried; ++i) {
    for (std::size_t j = i + 1; j < bodies.size() && !retried; ++j) retried = bodies[i] == bodies[j];
  }
  EXPECT_TRUE(retried) << "no batch was sent twice in " << bodies.size() << " requests";

  const auto scrape = http(mcp_port, "GET", "/metrics");
  ASSERT_EQ(scrape.status, 200);
  const auto dropped = counter(scrape.body, "tracer_spans_dropped_total");
  const auto exported = counter(scrape.body, "tracer_spans_exported_total");
  ASSERT_TRUE(dropped.has_value() && exported.has_value()) << scrape.body;
  EXPECT_GT(*dropped, 0) << "a full queue must drop and count, not block";
  EXPECT_EQ(*exported, 0);
  // The bodies the collector refused are still well-formed OTLP.
  EXPECT_FALSE(decode_bodies({bodies.front()}).empty());

  stop_within_bound(serve);
  const auto lines = serve.stderr_lines();
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("not every span was exported before the shutdown bound") != std::string::npos;
  })) << "the shutdown should say that spans were lost";
}

}  // namespace
}  // namespace taskman::testing::tracing
