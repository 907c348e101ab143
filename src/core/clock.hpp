#pragma once
// The one monotonic time source, injected wherever elapsed time or deadlines decide behaviour
// (breakers, caches, retries, health checks, start-up and shutdown bounds) so those are tested without
// sleeping (Envoy's TimeSource pattern). Implementations must be safe to call from any thread.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace taskman {

using TimePoint = std::chrono::steady_clock::time_point;

// Monotonic time; never wall time (a wall-clock step must not open or close a breaker).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // Milliseconds on this clock's own scale; only differences are meaningful.
  std::int64_t now_ms() const;
};

// The real monotonic clock. Stateless, so thread-safe.
class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  // One shared instance for production wiring.
  static const SteadyClock& instance();
};

// A clock that moves only when told to, for deterministic tests. Thread-safe (atomic), so tests may
// advance it while other threads read it.
class ManualClock final : public Clock {
 public:
  // Starts well after the epoch so that "now - bound" never goes negative in tests.
  ManualClock() : ns_(std::chrono::nanoseconds(std::chrono::hours(1)).count()) {}
  TimePoint now() const override { return TimePoint(std::chrono::nanoseconds(ns_.load())); }
  void advance(std::chrono::nanoseconds d) { ns_.fetch_add(d.count()); }
  void advance_ms(std::int64_t ms) { advance(std::chrono::milliseconds(ms)); }

 private:
  std::atomic<std::int64_t> ns_;
};

}  // namespace taskman
