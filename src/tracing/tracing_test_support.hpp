#pragma once
// Shared by the tracing unit tests: a valid W3C traceparent and trace ids with a chosen low half.
#include <cstdint>
#include <string>

#include "tracing/trace_context.hpp"

namespace taskman::tracing::testing {

inline constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
inline constexpr const char* kSpan = "00f067aa0ba902b7";
inline const std::string kValid = std::string("00-") + kTrace + "-" + kSpan + "-01";

inline TraceId trace_id_with_low(std::uint64_t low) {
  TraceId id{};
  id[0] = 1;
  for (int i = 0; i < 8; ++i) id[15 - i] = static_cast<std::uint8_t>(low >> (8 * i));
  return id;
}

}  // namespace taskman::tracing::testing
