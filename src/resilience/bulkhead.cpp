#include "resilience/bulkhead.hpp"

#include <stdexcept>
#include <utility>

namespace taskman::resilience {

Bulkhead::Permit& Bulkhead::Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

void Bulkhead::Permit::release() {
  if (owner_ != nullptr) {
    owner_->in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    owner_ = nullptr;
  }
}

Bulkhead::Bulkhead(std::size_t capacity) : capacity_(capacity) {
  if (capacity == 0) throw std::invalid_argument("bulkhead capacity must be >= 1");
}

std::optional<Bulkhead::Permit> Bulkhead::try_acquire() {
  // Compare-and-swap rather than fetch_add-then-undo, so in_flight() never reads above capacity.
  std::size_t current = in_flight_.load(std::memory_order_relaxed);
  do {
    if (current >= capacity_) {
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
  } while (!in_flight_.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel,
                                             std::memory_order_relaxed));
  return Permit(this);
}

}  // namespace taskman::resilience
