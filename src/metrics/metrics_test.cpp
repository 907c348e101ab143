#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace taskman::metrics {
namespace {

TEST(Metrics, ExposesProcessAndBuildInfo) {
  Metrics m("1.2.3", "abc");
  const auto text = m.serialize();
  for (const char* name :
       {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
        "process_open_fds", "process_max_fds", "process_start_time_seconds", "process_threads",
        "http_server_requests_in_flight"}) {
    EXPECT_NE(text.find(std::string("\n") + name + " "), std::string::npos) << name << "\n" << text;
  }
  EXPECT_NE(text.find("taskman_build_info{revision=\"abc\",version=\"1.2.3\"} 1"), std::string::npos) << text;
}

TEST(Metrics, HttpRequestsAreCountedByBoundedLabels) {
  Metrics m("v", "r");
  m.http_request_started();
  m.http_request_finished("GET", "/api/v1/tasks/{id}", 200, 0.003);
  m.http_request_started();
  m.http_request_finished("BREW", "", 404, 0.001);
  const auto text = m.serialize();
  EXPECT_NE(
      text.find("http_server_requests_total{method=\"GET\",route=\"/api/v1/tasks/{id}\",status=\"200\"} 1"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("http_server_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("http_server_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/tasks/{id}\","
                "le=\"0.005\"} 1"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("http_server_requests_in_flight 0"), std::string::npos);
}

// The cache key encodes each value behind its length: tuples that concatenate to the same bytes
// must still be different children, and values longer than the stack buffer must work.
TEST(ChildCache, DistinctTuplesNeverShareAChild) {
  prometheus::Registry registry;
  auto& family = prometheus::BuildCounter().Name("t_total").Help("h").Register(registry);
  ChildCache<prometheus::Counter> cache(family, {"a", "b"});
  auto& ab_c = cache.get({"ab", "c"});
  auto& a_bc = cache.get({"a", "bc"});
  auto& empty_abc = cache.get({"", "abc"});
  EXPECT_NE(&ab_c, &a_bc);
  EXPECT_NE(&ab_c, &empty_abc);
  EXPECT_NE(&a_bc, &empty_abc);
  EXPECT_EQ(&ab_c, &cache.get({"ab", "c"}));
  const std::string long_value(300, 'x');  // beyond the 256-byte stack buffer
  auto& long_child = cache.get({long_value, "y"});
  EXPECT_EQ(&long_child, &cache.get({long_value, "y"}));
  EXPECT_NE(&long_child, &cache.get({long_value, "z"}));
  long_child.Increment(2);
  EXPECT_EQ(family.Add({{"a", long_value}, {"b", "y"}}).Value(), 2);  // the child carries the real labels
  EXPECT_EQ(family.Collect().at(0).metric.size(), 5u);
}

TEST(ChildCache, ConcurrentHitsAndMissesCountEveryIncrement) {
  // Two threads add new tuples (misses publish a new snapshot) while hitting old ones (read without the
  // lock).
  prometheus::Registry registry;
  auto& family = prometheus::BuildCounter().Name("c_total").Help("h").Register(registry);
  ChildCache<prometheus::Counter> cache(family, {"k"});
  constexpr int kRounds = 2000;
  auto work = [&] {
    for (int i = 0; i < kRounds; ++i) {
      cache.get({std::to_string(i % 50)}).Increment();
      cache.get({"shared"}).Increment();
    }
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  EXPECT_EQ(cache.get({"shared"}).Value(), 2.0 * kRounds);
  double total = 0;
  for (int i = 0; i < 50; ++i) total += family.Add({{"k", std::to_string(i)}}).Value();
  EXPECT_EQ(total, 2.0 * kRounds);
  EXPECT_EQ(family.Collect().at(0).metric.size(), 51u);  // one child per tuple, none added twice
}

TEST(Metrics, BoundedFoldsUnknownValues) {
  EXPECT_EQ(bounded("GET", {"GET", "POST"}), "GET");
  EXPECT_EQ(bounded("get", {"GET", "POST"}), "other");
}

}  // namespace
}  // namespace taskman::metrics
