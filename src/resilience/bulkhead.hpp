#pragma once
// Bulkhead (docs/resilience.md#bulkhead, BACKEND_MAX_CONCURRENCY): at most N backend calls in flight; the
// excess is rejected at once rather than queued, so a slow backend cannot pile up waiting requests and
// memory.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace taskman::resilience {

// Thread-safe and lock-free (one atomic counter). The bulkhead must outlive every permit.
class Bulkhead {
 public:
  // Holds one slot until destroyed (or release()d). Move-only.
  class Permit {
   public:
    Permit(Permit&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Permit& operator=(Permit&& other) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { release(); }
    void release();  // idempotent

   private:
    friend class Bulkhead;
    explicit Permit(Bulkhead* owner) : owner_(owner) {}
    Bulkhead* owner_;
  };

  // Throws std::invalid_argument for capacity 0.
  explicit Bulkhead(std::size_t capacity);
  Bulkhead(const Bulkhead&) = delete;
  Bulkhead& operator=(const Bulkhead&) = delete;

  // A permit, or nullopt at once when `capacity` calls are already in flight (counted as rejected).
  std::optional<Permit> try_acquire();

  std::size_t capacity() const { return capacity_; }
  std::size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  std::uint64_t rejected_total() const { return rejected_.load(std::memory_order_relaxed); }

 private:
  const std::size_t capacity_;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::uint64_t> rejected_{0};
};

}  // namespace taskman::resilience
