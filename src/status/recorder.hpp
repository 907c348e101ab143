#pragma once
// Requests per second and latency percentiles over the last minute, per label (a route template or a
// tool name): 60 one-second slots per label, each with a fixed-bucket latency histogram, so memory is
// bounded (labels x 60 x buckets) and a read costs O(labels x 60 x buckets) no matter the traffic.
// Percentiles are interpolated inside their histogram bucket (Prometheus' histogram_quantile rule).
// Thread-safe: one mutex; record() is O(buckets) at worst (a slot rolling over), O(1) otherwise.
#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"

namespace taskman::status {

struct LatencyStats {
  std::string label;
  std::uint64_t requests = 0;  // in the window
  std::uint64_t errors = 0;
  double rps = 0.0;  // requests / window seconds (the time since the recorder started while under a minute)
  double p50_ms = 0.0, p90_ms = 0.0, p99_ms = 0.0;  // 0 when there were no requests
};

class WindowRecorder {
 public:
  static constexpr int kSlots = 60;  // one per second
  // Upper bounds (ms) of the latency buckets; the last bucket is everything above the last bound.
  static constexpr std::array<double, 16> kBoundsMs = {0.25, 0.5, 1,   2,    5,    10,   25,    50,
                                                       100,  250, 500, 1000, 2500, 5000, 10000, 30000};
  // Labels past `max_labels` are folded into "other" (bounded memory whatever callers pass).
  explicit WindowRecorder(const Clock& clock, std::size_t max_labels = 64);

  void record(std::string_view label, std::chrono::nanoseconds duration, bool error);
  // Every label seen with requests in the window, sorted by label.
  std::vector<LatencyStats> snapshot() const;

  // The q-quantile (0..1) of a histogram with kBoundsMs buckets (exposed for tests).
  static double quantile(const std::array<std::uint64_t, kBoundsMs.size() + 1>& counts, double q);

 private:
  using Histogram = std::array<std::uint64_t, kBoundsMs.size() + 1>;
  struct Slot {
    std::int64_t second = -1;  // which second this slot holds
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    Histogram histogram{};
  };
  struct Series {
    std::array<Slot, kSlots> slots;
  };

  const Clock& clock_;
  const std::size_t max_labels_;
  const std::int64_t started_ms_;
  mutable std::mutex mu_;  // guards series_
  std::map<std::string, Series, std::less<>> series_;
};

}  // namespace taskman::status
