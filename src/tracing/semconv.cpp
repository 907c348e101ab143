#include "tracing/semconv.hpp"

namespace taskman::tracing::semconv {
namespace {

std::string join(std::string_view a, std::string_view b) {
  std::string out(a);
  if (!b.empty()) {
    out += ' ';
    out += b;
  }
  return out;
}

void set_status(Span& span, int status, bool error) {
  span.set_attribute({kHttpResponseStatusCode, status});
  if (error) {
    const std::string code = std::to_string(status);
    span.set_attribute({kErrorType, code});
    span.set_status(StatusCode::kError, "HTTP " + code);
  }
}

}  // namespace

std::string http_server_span_name(std::string_view method, std::string_view route) {
  return join(method, route);
}
std::string http_client_span_name(std::string_view method, std::string_view url_template) {
  return join(method, url_template);
}
std::string mcp_span_name(std::string_view method, std::string_view target) { return join(method, target); }
std::string db_span_name(std::string_view operation, std::string_view target) {
  return join(operation, target);
}

void end_http_server_status(Span& span, int status) { set_status(span, status, status >= 500); }
void end_http_client_status(Span& span, int status) { set_status(span, status, status >= 400); }

void set_transport_error(Span& span, std::string_view error_type, std::string_view message) {
  span.set_attribute({kErrorType, error_type});
  span.set_status(StatusCode::kError, message.empty() ? error_type : message);
}

}  // namespace taskman::tracing::semconv
