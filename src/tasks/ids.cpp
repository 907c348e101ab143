#include "tasks/ids.hpp"

#include <algorithm>
#include <cstdint>
#include <mutex>

#include "core/text.hpp"
#include "tasks/limits.hpp"

namespace taskman::tasks {

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > kIdMax) return false;
  for (char c : id) {
    const bool ok =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string new_id(TimeMs now) {
  // Strictly increasing within the process, so items created in the same millisecond keep their
  // creation order in every (created_at, id) ordering: 12 hex digits of milliseconds, 4 of a
  // sequence within the millisecond, 12 random.
  static std::mutex mu;
  static std::uint64_t last_ms = 0, seq = 0;
  std::uint64_t ms = static_cast<std::uint64_t>(std::max<TimeMs>(now, 0));
  {
    std::lock_guard lk(mu);
    if (ms <= last_ms) {
      ms = last_ms;
      if (++seq > 0xFFFF) {
        ms = ++last_ms;
        seq = 0;
      }
    } else {
      last_ms = ms;
      seq = 0;
    }
    ms = (ms << 16) | seq;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[ms & 0xF];
    ms >>= 4;
  }
  return out + random_hex(6);
}

}  // namespace taskman::tasks
