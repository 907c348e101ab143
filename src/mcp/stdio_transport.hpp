#pragma once
// MCP stdio transport (basic/transports §stdio): newline-delimited JSON-RPC on the input and
// output streams. The output carries only MCP messages (logs belong on stderr). One session for the
// session era; requests of the per-request era (2026-07-28) are served alongside, each in a session
// of its own. The era is fixed by the first real exchange: after a per-request-era request other
// than server/discover, initialize is refused (-32022).
#include <chrono>
#include <iosfwd>
#include <map>
#include <memory>
#include <mutex>

#include "mcp/server.hpp"

namespace taskman::mcp {

struct StdioOptions {
  // On input EOF: how long calls still running may take to finish before they are cancelled.
  std::chrono::milliseconds drain_timeout{5000};
  std::string session_id = "stdio";
};

class StdioTransport {
 public:
  StdioTransport(Server& server, std::istream& in, std::ostream& out, StdioOptions options = {});
  ~StdioTransport();

  // Reads messages until EOF on the input (call it on a thread of its own: it blocks), then waits up
  // to drain_timeout for running calls to be answered, cancels the rest and returns.
  void run();
  // Writes one message as one line; thread-safe. False after the output failed.
  bool write(const Json& message);
  std::shared_ptr<Session> session() const { return session_; }

 private:
  class StdioExchange;
  void handle_line(std::string_view line);
  void handle_modern(const Message& message);
  // notifications/cancelled for a per-request-era call; false when it names none.
  bool cancel_modern(const Message& message);

  Server& server_;
  std::istream& in_;
  std::ostream& out_;
  StdioOptions options_;
  std::shared_ptr<Session> session_;
  // Reader thread only: per-request-era calls by request id (for cancellation), and the era fix.
  std::map<std::string, std::weak_ptr<Session>> modern_calls_;
  bool modern_fixed_ = false;
  std::mutex out_mu_;  // one whole line at a time
};

}  // namespace taskman::mcp
