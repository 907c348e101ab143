#include "status/recorder.hpp"

#include <algorithm>

namespace taskman::status {

WindowRecorder::WindowRecorder(const Clock& clock, std::size_t max_labels)
    : clock_(clock), max_labels_(std::max<std::size_t>(1, max_labels)), started_ms_(clock.now_ms()) {}

void WindowRecorder::record(std::string_view label, std::chrono::nanoseconds duration, bool error) {
  const double ms = std::chrono::duration<double, std::milli>(duration).count();
  const auto bucket =
      static_cast<std::size_t>(std::lower_bound(kBoundsMs.begin(), kBoundsMs.end(), ms) - kBoundsMs.begin());
  const std::int64_t second = clock_.now_ms() / 1000;
  std::lock_guard lock(mu_);
  auto it = series_.find(label);
  if (it == series_.end()) {
    // The last free place goes to "other", so a label flood cannot crowd it out.
    const bool full = series_.size() + 1 >= max_labels_;
    const std::string_view key = full ? std::string_view("other") : label;
    it = series_.find(key);
    if (it == series_.end()) it = series_.emplace(std::string(key), Series{}).first;
  }
  Slot& slot = it->second.slots[static_cast<std::size_t>(second % kSlots)];
  if (slot.second != second) slot = Slot{second, 0, 0, {}};  // the slot held a second that rolled out
  ++slot.requests;
  if (error) ++slot.errors;
  ++slot.histogram[bucket];
}

double WindowRecorder::quantile(const Histogram& counts, double q) {
  std::uint64_t total = 0;
  for (auto c : counts) total += c;
  if (total == 0) return 0.0;
  const double rank = q * static_cast<double>(total);
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    if (static_cast<double>(below + counts[i]) >= rank) {
      const double lower = i == 0 ? 0.0 : kBoundsMs[i - 1];
      // Above the last bound nothing is known but "at least that": report the bound.
      if (i == kBoundsMs.size()) return lower;
      const double upper = kBoundsMs[i];
      const double within = (rank - static_cast<double>(below)) / static_cast<double>(counts[i]);
      return lower + (upper - lower) * std::clamp(within, 0.0, 1.0);
    }
    below += counts[i];
  }
  return kBoundsMs.back();
}

std::vector<LatencyStats> WindowRecorder::snapshot() const {
  const std::int64_t now_ms = clock_.now_ms();
  const std::int64_t current = now_ms / 1000;
  // Under a minute of life, divide by the time actually lived (at least one second).
  const double window_s =
      std::clamp(static_cast<double>(now_ms - started_ms_) / 1000.0, 1.0, static_cast<double>(kSlots));
  std::vector<LatencyStats> out;
  std::lock_guard lock(mu_);
  for (const auto& [label, series] : series_) {
    LatencyStats s;
    s.label = label;
    Histogram merged{};
    for (const Slot& slot : series.slots) {
      if (slot.second <= current - kSlots || slot.second > current) continue;
      s.requests += slot.requests;
      s.errors += slot.errors;
      for (std::size_t i = 0; i < merged.size(); ++i) merged[i] += slot.histogram[i];
    }
    if (s.requests == 0) continue;
    s.rps = static_cast<double>(s.requests) / window_s;
    s.p50_ms = quantile(merged, 0.50);
    s.p90_ms = quantile(merged, 0.90);
    s.p99_ms = quantile(merged, 0.99);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace taskman::status
