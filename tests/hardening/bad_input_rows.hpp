#pragma once
// The rows of the bad-input matrix (bad_input_test.cpp): each names the bytes sent on one
// connection and the answers they deserve. http_api_rows.cpp holds the HTTP-level rows (both
// surfaces) and the REST rows; mcp_rows.cpp the JSON-RPC and MCP rows.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace taskman::testing::bad_input {

constexpr std::size_t kMaxBody = 1 << 20;  // MAX_BODY_BYTES default

enum class Port { kApi, kMcp };

// What a row deserves: an exact status, or any status of a class (4 = "some 4xx"); for MCP rows,
// optionally a JSON-RPC error code in the body or a CallToolResult with isError.
struct Want {
  Want(int s = 4, std::optional<int> rpc = std::nullopt,
       bool tool = false)  // NOLINT: rows read as {400, -32700}
      : status(s), rpc_error(rpc), tool_error(tool) {}
  int status;
  std::optional<int> rpc_error;
  bool tool_error;
};

struct Seed {
  std::string project_id, task_id, comment_id, session_id;
  int api_port = 0, mcp_port = 0;
};

struct Row {
  std::string name;
  Port port;
  std::function<std::string(const Seed&)> bytes;
  std::vector<Want> want;  // one per response (pipelining: several); none: the server must close
};

// An HTTP/1.1 request with Host, Connection: close and (unless told not to) Content-Length.
std::string request(const std::string& method, const std::string& target, const std::string& headers,
                    const std::string& body, bool content_length = true);
// `depth` opening brackets, `inner`, `depth` closing ones.
std::string nested(char open, char close, std::size_t depth, const std::string& inner = "");
// {"a":{"a":...1...}} `depth` levels deep.
std::string nested_objects(std::size_t depth);
// A string literal with embedded NUL bytes, whole.
template <std::size_t N>
std::string with_nul(const char (&s)[N]) {
  return std::string(s, N - 1);
}

// Rows that make sense on both surfaces: broken HTTP before any route is reached.
void add_http_rows(std::vector<Row>& rows, Port port, const std::string& tag);
std::vector<Row> api_rows();
std::vector<Row> mcp_rows();

}  // namespace taskman::testing::bad_input
