#pragma once
// How a tool call's REST answer becomes a tool result: 2xx into structuredContent (with a note when
// it came from the cache), anything else into an isError text that says what happened, what to do
// and the request id.
#include <functional>
#include <string>

#include "tools/task_tools.hpp"

namespace taskman::tools {

using Json = nlohmann::json;

std::string request_id_of(const mcp::CallPtr& ctx);
// An isError result whose text ends with the request id (when there is one).
Json error_result(std::string text, const std::string& request_id);
// What an agent should read when the backend said no.
std::string explain_status(const RestResult& r, const RestCall& call);
std::string explain_unavailable(const Error& e);
// structuredContent (and its text copy); a stale answer carries _meta and a note saying how old it is.
Json finish_structured(Json structured, const RestResult& r);

// The result is the handler's to take apart: bodies are moved into the answer, not copied.
using OnOk = std::function<void(RestResult&, mcp::Reply<Json>)>;

// One REST call; non-2xx and transport failures become isError results, 2xx goes to on_ok.
void call_backend(Backend& backend, const mcp::CallPtr& ctx, RestCall call, mcp::Reply<Json> reply,
                  OnOk on_ok);
// {key: value}, moving value in (an initializer list would copy it).
Json object_of(std::string_view key, Json value);
// Passes a 2xx body through as {key: body}.
OnOk wrap_as(std::string key);

}  // namespace taskman::tools
