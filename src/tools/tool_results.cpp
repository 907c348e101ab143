#include "tools/tool_results.hpp"

#include <cstdint>
#include <optional>
#include <utility>

#include "mcp/types.hpp"

namespace taskman::tools {
namespace {

std::string with_request_id(std::string text, const std::string& request_id) {
  if (!request_id.empty()) text += " (request_id: " + request_id + ")";
  return text;
}

std::string problem_text(const RestResult& r) {
  std::string detail;
  if (r.body.is_object()) {
    detail = r.body.value("detail", std::string());
    if (detail.empty()) detail = r.body.value("title", std::string());
    if (r.body.contains("errors") && r.body["errors"].is_array()) {
      std::string fields;
      for (const auto& e : r.body["errors"]) {
        if (!e.is_object()) continue;
        fields += (fields.empty() ? "" : "; ") + e.value("field", std::string("?")) + ": " +
                  e.value("message", std::string("invalid"));
      }
      if (!fields.empty() && detail.find(fields) == std::string::npos)
        detail += (detail.empty() ? "" : " — ") + fields;
    }
  }
  if (detail.empty()) detail = "HTTP " + std::to_string(r.status);
  return detail;
}

}  // namespace

std::string request_id_of(const mcp::CallPtr& ctx) { return ctx->request_context().request_id; }

Json error_result(std::string text, const std::string& request_id) {
  return mcp::tool_error_result(with_request_id(std::move(text), request_id));
}

std::string explain_status(const RestResult& r, const RestCall& call) {
  const std::string detail = problem_text(r);
  switch (r.status) {
    case 400:
      return "Invalid arguments: " + detail + ". Fix the named fields and call the tool again.";
    case 404:
      return "Not found: " + detail + ". Check the id (list_tasks and list_projects show existing ones).";
    case 409:
      return "Conflict: " + detail + ".";
    case 412:
      return "Conflict: the task was changed by someone else" +
             (call.if_match ? " (you expected version " + std::to_string(*call.if_match) + ")"
                            : std::string()) +
             ": " + detail +
             ". Call get_task for the current version, then retry with that expected_version.";
    case 413:
      return "Too large: " + detail + ". Send less data.";
    case 422:
      return "Rejected: " + detail + ". Change the arguments and call the tool again.";
    default:
      if (r.status == 429 || r.status >= 500) {
        // Said as answered (a gateway in front of the backend answers 502/503/504 with no problem body).
        std::string text = "The backend answered " + client::describe_status(r.status);
        if (r.attempts > 1) text += " (" + std::to_string(r.attempts) + " attempts)";
        if (detail != "HTTP " + std::to_string(r.status)) text += ": " + detail;
        if (r.retry_after_ms < 0) return text + ". Retry later.";
        return text + ". Retry in " + std::to_string((r.retry_after_ms + 999) / 1000) + " s.";
      }
      return "Unexpected answer from the backend (HTTP " + std::to_string(r.status) + "): " + detail + ".";
  }
}

std::string explain_unavailable(const Error& e) {
  std::string text = "Backend unavailable: " + e.message;
  if (e.retry_after_ms >= 0) {
    const auto secs = (e.retry_after_ms + 999) / 1000;
    text += ", retry in " + std::to_string(secs) + " s";
  } else {
    text += "; retry later";
  }
  text += ".";
  return text;
}

Json finish_structured(Json structured, const RestResult& r) {
  Json result = mcp::structured_result(std::move(structured));
  if (r.stale) {
    result["_meta"] = {{"taskman/stale", true}, {"taskman/age_ms", r.age_ms}};
    std::string note = "Note: the backend is unavailable";
    if (!r.retry_hint.empty()) note += " (" + r.retry_hint + ")";
    note += "; this answer comes from the cache and is " + std::to_string(r.age_ms) + " ms old.";
    result["content"].push_back(mcp::text_content(note));
  }
  return result;
}

void call_backend(TaskBackend& backend, const mcp::CallPtr& ctx, RestCall call, mcp::Reply<Json> reply,
                  OnOk on_ok) {
  // Only the expected version is needed to explain a 412; the call itself moves to the backend.
  const std::optional<std::int64_t> if_match = call.if_match;
  backend.call(ctx->request_context(), std::move(call),
               [ctx, if_match, reply = std::move(reply), on_ok = std::move(on_ok)](Result<RestResult> r) {
                 if (!r) {
                   reply(error_result(explain_unavailable(r.error()), request_id_of(ctx)));
                   return;
                 }
                 if (r->status < 200 || r->status >= 300) {
                   RestCall sent;
                   sent.if_match = if_match;
                   reply(error_result(explain_status(*r, sent), request_id_of(ctx)));
                   return;
                 }
                 on_ok(*r, std::move(reply));
               });
}

Json object_of(std::string_view key, Json value) {
  Json o = Json::object();
  o.emplace(key, std::move(value));
  return o;
}

OnOk wrap_as(std::string key) {
  return [key = std::move(key)](RestResult& r, mcp::Reply<Json> reply) {
    reply(finish_structured(object_of(key, std::move(r.body)), r));
  };
}

}  // namespace taskman::tools
