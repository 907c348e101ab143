// End to end durable creates over HTTP: POST /api/v1/tasks through the project's HTTP server, the
// REST handlers, the service and SQLite (synchronous=FULL, group commit), with N concurrent
// keep-alive clients in a closed loop. Client and server share the machine's cores, so this is a
// lower bound for the server alone.
//   api_bench --benchmark_filter=HttpCreates
#include <benchmark/benchmark.h>

#include "bench/closed_loop.hpp"

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>

#include "api/api.hpp"
#include "core/text.hpp"
#include "http/client.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "log/log.hpp"

namespace {

using namespace taskman;

std::vector<std::filesystem::path>& bench_dirs() {
  static std::vector<std::filesystem::path> dirs;
  return dirs;
}

// Args: concurrent clients, max_batch (1 = one commit per write), Idempotency-Key on each POST.
void BM_HttpCreates(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  const bool with_key = state.range(2) != 0;
  static log::Sink sink(stderr, log::Level::kWarn, log::Format::kJson);
  static log::Logger logger("api-bench", sink);
  const char* env_dir = std::getenv("TASKMAN_BENCH_DIR");
  const auto dir =
      (env_dir != nullptr ? std::filesystem::path(env_dir) : std::filesystem::temp_directory_path()) /
      ("taskman-api-bench-" + random_hex(6));
  bench_dirs().push_back(dir);
  api::ApiOptions options;
  options.database_url = "sqlite:" + (dir / "bench.db").string();
  options.db_max_batch = static_cast<std::size_t>(state.range(1));
  auto backend = api::RestApi::open(options, logger);
  if (!backend) {
    state.SkipWithError(backend.error().message.c_str());
    return;
  }
  // Deliberately never destroyed: main() ends with _Exit. (Tearing a Server down while keep-alive
  // connections close concurrently is not something this benchmark should depend on.)
  auto* server_pool = new http::IoPool(2);
  auto* client_pool = new http::IoPool(1);
  http::Router router;
  (*backend)->register_routes(router);
  auto* server = new http::Server(*server_pool, http::ServerOptions{}, std::move(router), logger);
  server->start();
  server_pool->start();
  client_pool->start();
  auto* client = new http::HttpClient(*client_pool, "127.0.0.1", server->port());
  auto* kept = backend->release();
  (void)kept;

  constexpr int kPerIteration = 2000;
  std::atomic<long> seq{0};
  std::atomic<long> failures{0};
  for (auto _ : state) {
    bench::run_closed_loop(clients, kPerIteration, [&](std::function<void()> done) {
      const long n = seq++;
      http::ClientRequest req;
      req.method = "POST";
      req.target = "/api/v1/tasks";
      req.headers.set("Content-Type", "application/json");
      if (with_key) req.headers.set("Idempotency-Key", "\"bench-" + std::to_string(n) + "\"");
      req.body =
          R"({"title":"benchmark task )" + std::to_string(n) + R"(","priority":"high","labels":["bench"]})";
      client->send(std::move(req), std::chrono::seconds(30), [&, done](http::ClientResult r) {
        if (!r.ok() || r.response.status != 201) ++failures;
        done();
      });
    });
  }
  state.SetItemsProcessed(state.iterations() * kPerIteration);
  state.counters["failures"] = static_cast<double>(failures.load());
}

BENCHMARK(BM_HttpCreates)
    ->ArgNames({"clients", "max_batch", "idempotency_key"})
    ->Args({64, 512, 0})
    ->Args({64, 1, 0})
    ->Args({64, 512, 1})
    ->Args({16, 512, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  for (const auto& d : bench_dirs()) std::filesystem::remove_all(d, ec);
  std::fflush(stdout);
  std::_Exit(0);
}
