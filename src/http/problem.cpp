#include "http/problem.hpp"

#include "core/text.hpp"

namespace taskman::http {

std::string problem_body(const Problem& p) {
  std::string body = "{\"type\":";
  body += json_quote(p.type);
  body += ",\"title\":";
  body += json_quote(p.title);
  body += ",\"status\":" + std::to_string(p.status) + ",\"detail\":";
  body += json_quote(p.detail);
  body += ",\"request_id\":";
  body += json_quote(p.request_id);
  if (p.errors) {
    body += ",\"errors\":[";
    bool first = true;
    for (const auto& f : *p.errors) {
      if (!first) body += ',';
      first = false;
      body += "{\"field\":" + json_quote(f.field) + ",\"message\":" + json_quote(f.message) + "}";
    }
    body += ']';
  }
  body += '}';
  return body;
}

Response problem_response(const Problem& p) {
  Response r = Response::json(p.status, problem_body(p));
  r.headers.set("Content-Type", "application/problem+json");
  if (p.retry_after_s >= 0) r.headers.set("Retry-After", std::to_string(p.retry_after_s));
  return r;
}

}  // namespace taskman::http
