#pragma once
// RFC 9457 problem details: the one builder behind every error body the HTTP server and the REST
// API send (application/problem+json).
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "http/message.hpp"

namespace taskman::http {

struct Problem {
  int status = 500;
  std::string type = "about:blank";  // a URI naming the kind of problem
  std::string title;
  std::string detail;
  std::string request_id;
  // The REST API always lists field errors (an empty array when there are none); the transport-level
  // answers (401, 404, 405, ...) have none to give and leave the member out.
  std::optional<std::vector<FieldError>> errors;
  int retry_after_s = -1;  // >= 0: sent as Retry-After
};

// The body alone: {"type","title","status","detail","request_id"[,"errors"]}, always valid JSON.
std::string problem_body(const Problem& p);
// The whole response: status, Content-Type: application/problem+json, Retry-After when set.
Response problem_response(const Problem& p);

}  // namespace taskman::http
