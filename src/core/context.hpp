#pragma once
// The one request context passed explicitly down every call and across every executor hop
// (no thread-locals: coroutines and thread pools silently lose them).
#include <chrono>
#include <string>

namespace taskman {

struct RequestContext {
  std::string request_id;
  std::string trace_id;  // 32 lowercase hex, empty when not traced
  std::string span_id;   // 16 lowercase hex, empty when not traced
  std::string session_id;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

}  // namespace taskman
