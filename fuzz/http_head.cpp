// The HTTP request as the server reads it: Beast's request_parser with the server's default limits
// (ServerOptions: header and body limits), then the same steps the server takes before routing —
// target split into path and query, headers copied, X-Request-ID checked — and the parsers that read
// the result: query parameters into a task-list request, traceparent/tracestate headers.
// Invariants: no throw and no sanitizer report for any byte sequence; the limits hold.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "http/message.hpp"
#include "http/request_id.hpp"
#include "http/server.hpp"
#include "tasks/query.hpp"
#include "tracing/trace_context.hpp"

namespace bhttp = boost::beast::http;
using namespace taskman;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const http::ServerOptions kOptions;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.body_limit(kOptions.max_body_bytes);
  parser.header_limit(static_cast<std::uint32_t>(kOptions.max_header_bytes));
  parser.eager(true);
  boost::beast::error_code ec;
  boost::asio::const_buffer in(data, size);
  while (!parser.is_done()) {
    if (in.size() == 0) {
      if (!parser.got_some()) return 0;  // nothing sent: the server just closes (no put_eof)
      parser.put_eof(ec);
      break;
    }
    const std::size_t used = parser.put(in, ec);
    in += used;
    if (ec == bhttp::error::need_more) {
      // Every byte is already in the buffer, so wanting more means the peer stopped here. Beast's read
      // loop never calls put() again without appending bytes (its parser asserts the buffer grew,
      // e.g. after a final chunk whose trailer is incomplete), so neither may this harness.
      ec = {};
      if (!parser.got_some()) return 0;
      parser.put_eof(ec);
      break;
    }
    if (ec) break;
  }
  if (ec || !parser.is_done()) return 0;

  auto& msg = parser.get();
  FUZZ_CHECK(msg.body().size() <= kOptions.max_body_bytes);
  http::Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  const auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  for (const auto& field : msg) req.headers.add(std::string(field.name_string()), std::string(field.value()));
  req.body = std::move(msg.body());
  req.keep_alive = msg.keep_alive();
  if (auto rid = req.headers.get("x-request-id"); rid && req.headers.count("X-Request-ID") == 1) {
    (void)http::valid_request_id(*rid);
  }
  const auto params = req.query_params();
  (void)tasks::parse_task_list(params);
  (void)tasks::parse_page(params);

  std::vector<std::string_view> parents, states;
  for (const auto& [name, value] : req.headers.items()) {
    std::string lower;
    for (char c : name) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    if (lower == "traceparent") parents.push_back(value);
    if (lower == "tracestate") states.push_back(value);
  }
  if (!parents.empty()) (void)tracing::extract(parents, states);
  return 0;
}
