// Durable task creates through the domain service (validation + ids + group commit on SQLite with
// synchronous=FULL), with N concurrent closed-loop submitters, as the REST handlers drive it.
//   tasks_bench --benchmark_filter=ServiceCreates
#include <benchmark/benchmark.h>

#include "bench/closed_loop.hpp"

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "core/text.hpp"
#include "store/store.hpp"
#include "tasks/service.hpp"

namespace {

using namespace taskman;

// Args: submitters, max_batch (1 = one commit per write), idempotency key on every create (0/1),
// callbacks on a completion thread (0/1).
void BM_ServiceCreates(benchmark::State& state) {
  const int submitters = static_cast<int>(state.range(0));
  const bool with_key = state.range(2) != 0;
  store::StoreOptions opts;
  opts.max_batch = static_cast<std::size_t>(state.range(1));
  opts.offload_callbacks = state.range(3) != 0;
  const char* env_dir = std::getenv("TASKMAN_BENCH_DIR");
  const auto dir =
      (env_dir != nullptr ? std::filesystem::path(env_dir) : std::filesystem::temp_directory_path()) /
      ("taskman-bench-" + random_hex(6));
  auto st = store::open_store("sqlite:" + (dir / "bench.db").string(), opts);
  if (!st) {
    state.SkipWithError(st.error().message.c_str());
    return;
  }
  tasks::TaskService svc(**st);
  RequestContext ctx;
  constexpr int kPerIteration = 2000;
  std::atomic<long> seq{0};
  for (auto _ : state) {
    bench::run_closed_loop(submitters, kPerIteration, [&](std::function<void()> done) {
      const long n = seq++;
      auto in = tasks::decode_task(R"({"title":"benchmark task )" + std::to_string(n) +
                                       R"(","description":"created by tasks_bench","priority":"high"})",
                                   tasks::Mode::kCreate);
      std::optional<tasks::Idempotency<tasks::Task>> idem;
      if (with_key) {
        idem = tasks::Idempotency<tasks::Task>{"key-" + std::to_string(n), "fp", [](const tasks::Task& t) {
                                                 return tasks::Reply{201, tasks::encode_task(t), {}};
                                               }};
      }
      svc.create_task(ctx, std::move(*in), std::move(idem), [&, done](Result<tasks::Created<tasks::Task>> r) {
        if (!r.ok()) std::abort();
        // What the REST handler does with the result: encode it (the HTTP send is not included).
        benchmark::DoNotOptimize(tasks::encode_task(r->value));
        done();
      });
    });
  }
  const auto stats = (*st)->stats();
  state.SetItemsProcessed(state.iterations() * kPerIteration);
  state.counters["writes_per_commit"] =
      static_cast<double>(stats.writes) / static_cast<double>(std::max<std::uint64_t>(1, stats.commits));
  (*st)->close();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

BENCHMARK(BM_ServiceCreates)
    ->ArgNames({"submitters", "max_batch", "idempotency_key", "offload"})
    ->Args({64, 512, 0, 0})
    ->Args({64, 512, 0, 1})
    ->Args({64, 1, 0, 0})
    ->Args({64, 512, 1, 0})
    ->Args({16, 512, 0, 0})
    ->Args({1, 512, 0, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Reads: GET-by-id through the service (reader pool, one snapshot per read) with N concurrent
// closed-loop readers over a table of 10,000 tasks. Args: readers in flight, reader connections.
void BM_ServiceGets(benchmark::State& state) {
  const int in_flight = static_cast<int>(state.range(0));
  store::StoreOptions opts;
  opts.readers = static_cast<int>(state.range(1));
  const char* env_dir = std::getenv("TASKMAN_BENCH_DIR");
  const auto dir =
      (env_dir != nullptr ? std::filesystem::path(env_dir) : std::filesystem::temp_directory_path()) /
      ("taskman-bench-" + random_hex(6));
  auto st = store::open_store("sqlite:" + (dir / "bench.db").string(), opts);
  if (!st) {
    state.SkipWithError(st.error().message.c_str());
    return;
  }
  tasks::TaskService svc(**st);
  RequestContext ctx;
  std::vector<std::string> ids;
  {
    std::mutex mu;
    std::condition_variable cv;
    int remaining = 10000;
    for (int i = 0; i < 10000; ++i) {
      auto in = tasks::decode_task(R"({"title":"task )" + std::to_string(i) + R"(","labels":["a","b"]})",
                                   tasks::Mode::kCreate);
      svc.create_task(ctx, std::move(*in), std::nullopt, [&](Result<tasks::Created<tasks::Task>> r) {
        if (!r.ok()) std::abort();
        std::lock_guard lk(mu);
        ids.push_back(r->value.id);
        if (--remaining == 0) cv.notify_all();
      });
    }
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return remaining == 0; });
  }
  constexpr int kPerIteration = 5000;
  std::atomic<std::size_t> seq{0};
  for (auto _ : state) {
    bench::run_closed_loop(in_flight, kPerIteration, [&](std::function<void()> done) {
      const auto& id = ids[(seq++ * 7919) % ids.size()];
      svc.get_task(ctx, id, [&, done](Result<tasks::Task> r) {
        if (!r.ok()) std::abort();
        benchmark::DoNotOptimize(tasks::encode_task(*r));
        done();
      });
    });
  }
  state.SetItemsProcessed(state.iterations() * kPerIteration);
  (*st)->close();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

BENCHMARK(BM_ServiceGets)
    ->ArgNames({"in_flight", "readers"})
    ->Args({16, 2})
    ->Args({64, 2})
    ->Args({16, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
