#pragma once
// The one request context passed explicitly down every call and across every executor hop
// (no thread-locals: coroutines and thread pools silently lose them).
#include <chrono>
#include <cstdint>
#include <string>

namespace taskman {

struct RequestContext {
  std::string request_id;
  std::string trace_id;          // 32 lowercase hex, empty when not traced
  std::string span_id;           // 16 lowercase hex, empty when not traced
  std::uint8_t trace_flags = 0;  // W3C trace-flags of the current span (01: sampled)
  std::string trace_state;       // W3C tracestate to propagate with it
  std::string session_id;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

}  // namespace taskman
