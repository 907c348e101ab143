#pragma once
// The last N of something (requests, errors, breaker transitions, admin actions), newest first.
// Thread-safe; push is O(1) amortised and never allocates once the ring is full.
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

namespace taskman::status {

template <class T>
class RecentList {
 public:
  explicit RecentList(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  void push(T item) {
    std::lock_guard lock(mu_);
    items_.push_front(std::move(item));
    if (items_.size() > capacity_) items_.pop_back();
  }
  std::vector<T> items() const {  // newest first
    std::lock_guard lock(mu_);
    return {items_.begin(), items_.end()};
  }
  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  mutable std::mutex mu_;  // guards items_
  std::deque<T> items_;
};

}  // namespace taskman::status
