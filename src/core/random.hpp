#pragma once
// The one source of non-cryptographic randomness (backoff and export-retry jitter), injected so tests
// can script it. Identifiers that must be unguessable use the CSPRNG instead (random_hex, span ids).
#include <cstdint>
#include <mutex>
#include <random>

namespace taskman {

// Uniform doubles in [0, 1). Implementations must be safe to call from any thread.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual double next_unit() = 0;
};

// Mersenne Twister behind a mutex: retries are rare, so the lock never contends in practice.
class SeededRandom final : public RandomSource {
 public:
  SeededRandom() : engine_(std::random_device{}()) {}
  explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}
  double next_unit() override {
    std::lock_guard lock(mu_);
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine_);
  }

 private:
  std::mutex mu_;  // guards engine_
  std::mt19937_64 engine_;
};

}  // namespace taskman
