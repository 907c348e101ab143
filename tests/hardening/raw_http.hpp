#pragma once
// Raw HTTP/1.1 over a loopback socket for the bad-input matrix: send any bytes, then read as many
// responses as the server gives (Content-Length or chunked bodies) until a count, a close, or a
// deadline. A server that neither answers nor closes shows up as `timed_out`, not as a stuck test.
#include <chrono>
#include <string>
#include <vector>

namespace taskman::testing {

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;  // de-chunked
};

struct RawExchange {
  std::vector<RawResponse> responses;
  bool closed = false;     // the server closed the connection
  bool timed_out = false;  // neither `want` responses nor a close before the deadline
  std::string leftover;    // bytes after the last complete response
};

// Sends `bytes` (stopping quietly if the server closes first) and reads up to `want` responses
// (want 0: reads until the server closes).
RawExchange raw_exchange(int port, const std::string& bytes, std::size_t want,
                         std::chrono::milliseconds deadline = std::chrono::seconds(15));

// The value of header `name` (case-insensitive) in a response head, or "".
std::string header_value(const std::string& head, const std::string& name);

}  // namespace taskman::testing
