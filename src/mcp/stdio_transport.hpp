#pragma once
// MCP stdio transport (basic/transports §stdio): newline-delimited JSON-RPC on the input and
// output streams. The output carries only MCP messages (logs belong on stderr). One session.
#include <chrono>
#include <iosfwd>
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

  Server& server_;
  std::istream& in_;
  std::ostream& out_;
  StdioOptions options_;
  std::shared_ptr<Session> session_;
  std::mutex out_mu_;  // one whole line at a time
};

}  // namespace taskman::mcp
