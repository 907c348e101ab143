#pragma once
// `taskman bench`: N concurrent MCP sessions over Streamable HTTP calling one tool as fast as
// they can; live progress on stderr, then req/s and latency percentiles.
#include <cstdint>
#include <string>

#include "core/result.hpp"

namespace taskman::bench {

struct BenchOptions {
  std::string url = "http://127.0.0.1:3000/mcp";
  int sessions = 16;
  double duration_s = 10;
  double warmup_s = 1;
  std::int64_t max_requests = 0;  // 0: run for duration_s
  std::string tool = "get_task";
  std::string args_json;  // empty: a fresh task is created for get_task, else {}
  std::string token;      // bearer token for MCP_AUTH_TOKENS
  bool json = false;
};

struct BenchReport {
  std::int64_t calls = 0;
  std::int64_t errors = 0;  // transport failures, JSON-RPC errors and isError results
  double seconds = 0;
  double rps = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  std::string first_error;
};

// Parses `--name value` options; errors name the option.
Result<BenchOptions> parse_bench_options(const std::vector<std::string>& args);
// Runs the benchmark; progress goes to stderr. An Error when the endpoint cannot be used at all.
Result<BenchReport> run_bench(const BenchOptions& options);
std::string format_report(const BenchOptions& options, const BenchReport& report);

}  // namespace taskman::bench
