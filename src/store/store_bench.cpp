// Durable creates (synchronous=FULL) with N concurrent submitters: group commit vs one commit per
// write. Each submitter is a closed loop (next create when the previous one is acknowledged), so
// "64 submitters" means 64 writes in flight, as with 64 HTTP clients.
//   store_bench --benchmark_filter=Creates   (see docs/benchmarks.md)
#include <benchmark/benchmark.h>

#include "bench/closed_loop.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>

#include "core/text.hpp"
#include "store/store.hpp"

namespace {

using taskman::Result;
using namespace taskman::store;

std::string bench_db() {
  const char* dir = std::getenv("TASKMAN_BENCH_DIR");
  auto base = dir != nullptr ? std::filesystem::path(dir) : std::filesystem::temp_directory_path();
  return (base / ("taskman-bench-" + taskman::random_hex(6)) / "bench.db").string();
}

// Args: submitters, max_batch (1 = one commit per write), callbacks on a completion thread (0/1).
void BM_DurableCreates(benchmark::State& state) {
  const int submitters = static_cast<int>(state.range(0));
  StoreOptions opts;
  opts.max_batch = static_cast<std::size_t>(state.range(1));
  opts.offload_callbacks = state.range(2) != 0;
  const std::string path = bench_db();
  auto store = open_store("sqlite:" + path, opts);
  if (!store) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  constexpr int kPerIteration = 2000;
  std::atomic<std::int64_t> seq{0};
  const auto before = (*store)->stats();
  for (auto _ : state) {
    // Completions run on the writer thread, so the next write queues for the next batch.
    taskman::bench::run_closed_loop(submitters, kPerIteration, [&](std::function<void()> done) {
      const auto n = seq.fetch_add(1);
      Task t;
      // Time-ordered ids like the service's (random ids would scatter index inserts).
      char prefix[17];
      std::snprintf(prefix, sizeof prefix, "%016llx", static_cast<unsigned long long>(n));
      t.id = std::string(prefix) + taskman::random_hex(6);
      t.title = "benchmark task " + std::to_string(n);
      t.description = "created by store_bench";
      t.created_at = t.updated_at = n;
      (*store)->write<bool>(
          [t = std::move(t)](WriteTx& tx) -> Result<bool> {
            if (auto st = tx.insert_task(t); !st) return st.take_error();
            return true;
          },
          [done](Result<bool> r) {
            if (!r.ok()) std::abort();
            done();
          });
    });
  }
  const auto after = (*store)->stats();
  state.SetItemsProcessed(state.iterations() * kPerIteration);
  state.counters["writes_per_commit"] =
      static_cast<double>(after.writes - before.writes) /
      static_cast<double>(std::max<std::uint64_t>(1, after.commits - before.commits));
  (*store)->close();
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(path).parent_path(), ec);
}

BENCHMARK(BM_DurableCreates)
    ->ArgNames({"submitters", "max_batch", "offload"})
    ->Args({64, 512, 0})
    ->Args({64, 512, 1})
    ->Args({64, 1, 0})
    ->Args({1, 512, 0})
    ->Args({16, 512, 0})
    ->Args({16, 512, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
