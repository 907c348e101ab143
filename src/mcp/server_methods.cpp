// The method handlers of the session-era revisions and the table that maps each revision's
// method names to them. Registration, routing and pagination are in server.cpp.
#include <stdexcept>

#include "mcp/server.hpp"

namespace taskman::mcp {
namespace {

RpcError invalid_params(std::string message) { return RpcError{rpc::kInvalidParams, std::move(message), {}}; }

// Error taxonomy -> JSON-RPC codes for resource reads and prompts (docs/mcp.md Errors).
RpcError to_rpc_error(const Error& e, int not_found_code) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
      return RpcError{rpc::kInvalidParams, e.message, {}};
    case ErrorCode::kNotFound:
      return RpcError{not_found_code, e.message, {}};
    default:
      return RpcError{rpc::kInternalError, e.message, {}};
  }
}

Json params_or_empty(const Json& params) { return params.is_null() ? Json::object() : params; }

bool admits(const Audience& audience, const Session& session) {
  return !audience || audience(session.client_capabilities());
}

}  // namespace

Server::Method Server::method_for(const Revision& revision, std::string_view method) {
  // The handlers of the session era (2025-03-26 .. 2025-11-25). A revision that changes a method's
  // shape adds its own row with a predicate on the revision; rows are searched in order.
  struct Row {
    std::string_view name;
    Method method;
    bool (*applies)(const Revision&) = nullptr;  // null: every revision that lists the method
  };
  static const Row kRows[] = {
      {"initialize", {&Server::on_initialize, nullptr, true}},
      {"ping", {&Server::on_ping, nullptr, true}},
      {"logging/setLevel", {&Server::on_set_level, &Server::offers_logging}},
      {"tools/list", {&Server::on_tools_list, &Server::offers_tools}},
      {"tools/call", {&Server::on_tools_call, &Server::offers_tools}},
      {"resources/list", {&Server::on_resources_list, &Server::offers_resources}},
      {"resources/templates/list", {&Server::on_templates_list, &Server::offers_resources}},
      {"resources/read", {&Server::on_resources_read, &Server::offers_resources}},
      {"resources/subscribe", {&Server::on_subscribe, &Server::offers_resources}},
      {"resources/unsubscribe", {&Server::on_unsubscribe, &Server::offers_resources}},
      {"prompts/list", {&Server::on_prompts_list, &Server::offers_prompts}},
      {"prompts/get", {&Server::on_prompts_get, &Server::offers_prompts}},
      {"completion/complete", {&Server::on_complete, &Server::offers_completions}},
      // The per-request era (server_modern.cpp).
      {"server/discover", {&Server::on_discover}},
      {"subscriptions/listen", {&Server::on_listen}},
  };
  for (const auto& row : kRows) {
    if (row.name == method && (!row.applies || row.applies(revision))) return row.method;
  }
  throw std::logic_error("MCP revision " + std::string(revision.id) + " lists " + std::string(method) +
                         " but no handler serves it");
}

void Server::on_ping(const CallPtr& ctx) { ctx->finish(Json::object()); }

void Server::on_tools_list(const CallPtr& ctx) {
  Json all = Json::array();
  for (const auto& t : tools_) {
    if (!admits(t.audience, ctx->session())) continue;
    Json j = t.tool.to_json();
    for (const auto& [audience, meta] : t.extra_meta) {
      if (!admits(audience, ctx->session())) continue;
      if (!j.contains("_meta")) j["_meta"] = Json::object();
      j["_meta"].merge_patch(meta);
    }
    all.push_back(std::move(j));
  }
  ctx->finish(paginate(params_or_empty(ctx->params()), "tools", std::move(all)));
}

void Server::on_resources_list(const CallPtr& ctx) {
  Json all = Json::array();
  for (const auto& r : resources_) {
    if (admits(r.audience, ctx->session())) all.push_back(r.resource.to_json());
  }
  ctx->finish(paginate(params_or_empty(ctx->params()), "resources", std::move(all)));
}

void Server::on_templates_list(const CallPtr& ctx) {
  Json all = Json::array();
  for (const auto& t : templates_) all.push_back(t.tpl.to_json());
  ctx->finish(paginate(params_or_empty(ctx->params()), "resourceTemplates", std::move(all)));
}

void Server::on_prompts_list(const CallPtr& ctx) {
  Json all = Json::array();
  for (const auto& p : prompts_) all.push_back(p.prompt.to_json());
  ctx->finish(paginate(params_or_empty(ctx->params()), "prompts", std::move(all)));
}

void Server::on_subscribe(const CallPtr& ctx) { subscribe(ctx, true); }
void Server::on_unsubscribe(const CallPtr& ctx) { subscribe(ctx, false); }

void Server::on_initialize(const CallPtr& ctx) {
  const Json& p = ctx->params();
  if (!p.is_object() || !p.contains("protocolVersion") || !p["protocolVersion"].is_string()) {
    return ctx->finish(invalid_params("initialize: params.protocolVersion must be a string"));
  }
  if (p.contains("capabilities") && !p["capabilities"].is_object()) {
    return ctx->finish(invalid_params("initialize: params.capabilities must be an object"));
  }
  if (p.contains("clientInfo") && !p["clientInfo"].is_object()) {
    return ctx->finish(invalid_params("initialize: params.clientInfo must be an object"));
  }
  const Revision& revision = negotiate_revision(p["protocolVersion"].get<std::string>());
  Session& s = ctx->session();
  bool again = false;  // a session is initialized once (lifecycle §Initialization)
  {
    std::lock_guard lock(s.mu_);
    again = s.initialized_;
    if (!again) {
      s.initialized_ = true;
      s.revision_ = &revision;
      s.client_capabilities_ = p.value("capabilities", Json::object());
      s.client_info_ = p.value("clientInfo", Json::object());
    }
  }
  if (again) return ctx->finish(RpcError{rpc::kInvalidRequest, "Invalid Request: already initialized", {}});
  Json info = {{"name", options_.info.name}, {"version", options_.info.version}};
  if (!options_.info.title.empty()) info["title"] = options_.info.title;
  Json result = {{"protocolVersion", std::string(revision.id)},
                 {"capabilities", capabilities()},
                 {"serverInfo", std::move(info)}};
  if (!options_.instructions.empty()) result["instructions"] = options_.instructions;
  ctx->finish(std::move(result));
}

void Server::on_set_level(const CallPtr& ctx) {
  const Json& p = ctx->params();
  const auto level = p.is_object() && p.contains("level") && p["level"].is_string()
                         ? parse_log_level(p["level"].get<std::string>())
                         : std::nullopt;
  if (!level) return ctx->finish(invalid_params("logging/setLevel: params.level must be a log level name"));
  {
    Session& s = ctx->session();
    std::lock_guard lock(s.mu_);
    s.log_level_ = *level;
  }
  ctx->finish(Json::object());
}

void Server::on_tools_call(const CallPtr& ctx) {
  const Json& p = ctx->params();
  if (!p.is_object() || !p.contains("name") || !p["name"].is_string()) {
    return ctx->finish(invalid_params("tools/call: params.name must be a string"));
  }
  Json arguments = p.value("arguments", Json::object());
  if (arguments.is_null()) arguments = Json::object();
  if (!arguments.is_object())
    return ctx->finish(invalid_params("tools/call: params.arguments must be an object"));
  const std::string name = p["name"].get<std::string>();
  auto it = tool_index_.find(name);
  if (it == tool_index_.end() || !admits(tools_[it->second].audience, ctx->session())) {
    return ctx->finish(invalid_params("Unknown tool: " + name));
  }
  const auto& entry = tools_[it->second];
  Reply<Json> reply = [ctx](Result<Json> r) {
    if (!r.ok()) return ctx->finish(tool_error_result(r.error().message));
    Json result = std::move(r).value();
    if (!result.is_object())
      return ctx->finish(RpcError{rpc::kInternalError, "tool returned a non-object", {}});
    // An input_required answer (input_required.hpp) has no content of its own.
    if (!result.contains("content") && result.value("resultType", "complete") == "complete")
      result["content"] = Json::array();
    ctx->finish(std::move(result));
  };
  try {
    entry.handler(ctx, std::move(arguments), std::move(reply));
  } catch (const std::exception& e) {
    // A tool that throws failed; the model should see it as a failed call, not a protocol error.
    ctx->finish(tool_error_result(std::string("tool failed: ") + e.what()));
  }
}

void Server::on_resources_read(const CallPtr& ctx) {
  const Json& p = ctx->params();
  if (!p.is_object() || !p.contains("uri") || !p["uri"].is_string()) {
    return ctx->finish(invalid_params("resources/read: params.uri must be a string"));
  }
  std::string uri = p["uri"].get<std::string>();
  // SEP-2164: the per-request era reports an unknown resource as -32602 (was -32002).
  const int not_found = ctx->per_request_era() ? rpc::kInvalidParams : rpc::kResourceNotFound;
  Reply<Json> reply = [ctx, not_found, uri](Result<Json> r) {
    if (!r.ok()) {
      RpcError e = to_rpc_error(r.error(), not_found);
      if (r.error().code == ErrorCode::kNotFound) e.data = Json{{"uri", uri}};
      return ctx->finish(std::move(e));
    }
    Json contents = std::move(r).value();
    // A reader may answer input_required (an object with a resultType) instead of contents.
    if (contents.is_object() && contents.value("resultType", "") == "input_required")
      return ctx->finish(std::move(contents));
    if (!contents.is_array()) contents = Json::array({std::move(contents)});
    ctx->finish(Json{{"contents", std::move(contents)}});
  };
  for (const auto& r : resources_) {
    if (r.resource.uri == uri && admits(r.audience, ctx->session())) {
      return r.reader(ctx, std::move(uri), std::move(reply));
    }
  }
  for (const auto& t : templates_) {
    if (auto vars = match_uri_template(t.tpl.uri_template, uri)) {
      return t.reader(ctx, std::move(uri), std::move(*vars), std::move(reply));
    }
  }
  ctx->finish(RpcError{not_found, "Resource not found: " + uri, Json{{"uri", uri}}});
}

void Server::subscribe(const CallPtr& ctx, bool subscribe) {
  const Json& p = ctx->params();
  if (!p.is_object() || !p.contains("uri") || !p["uri"].is_string()) {
    return ctx->finish(invalid_params("params.uri must be a string"));
  }
  const std::string uri = p["uri"].get<std::string>();
  if (subscribe && subscribe_hook_) {
    if (auto st = subscribe_hook_(uri); !st.ok())
      return ctx->finish(to_rpc_error(st.error(), rpc::kResourceNotFound));
  }
  {
    Session& s = ctx->session();
    std::lock_guard lock(s.mu_);
    if (subscribe) {
      s.subscriptions_.insert(uri);
    } else {
      s.subscriptions_.erase(uri);
    }
  }
  ctx->finish(Json::object());
}

void Server::on_prompts_get(const CallPtr& ctx) {
  const Json& p = ctx->params();
  if (!p.is_object() || !p.contains("name") || !p["name"].is_string()) {
    return ctx->finish(invalid_params("prompts/get: params.name must be a string"));
  }
  Json arguments = p.value("arguments", Json::object());
  if (arguments.is_null()) arguments = Json::object();
  if (!arguments.is_object())
    return ctx->finish(invalid_params("prompts/get: params.arguments must be an object"));
  for (const auto& [k, v] : arguments.items()) {
    if (!v.is_string())
      return ctx->finish(invalid_params("prompts/get: argument '" + k + "' must be a string"));
  }
  const std::string name = p["name"].get<std::string>();
  for (const auto& entry : prompts_) {
    if (entry.prompt.name != name) continue;
    for (const auto& a : entry.prompt.arguments) {
      if (a.required && !arguments.contains(a.name)) {
        return ctx->finish(invalid_params("prompts/get: missing required argument '" + a.name + "'"));
      }
    }
    Reply<Json> reply = [ctx](Result<Json> r) {
      if (!r.ok()) return ctx->finish(to_rpc_error(r.error(), rpc::kInvalidParams));
      ctx->finish(std::move(r).value());
    };
    return entry.handler(ctx, std::move(arguments), std::move(reply));
  }
  ctx->finish(invalid_params("Unknown prompt: " + name));
}

void Server::on_complete(const CallPtr& ctx) {
  const Json& p = ctx->params();
  if (!p.is_object() || !p.contains("ref") || !p["ref"].is_object() || !p["ref"].contains("type") ||
      !p["ref"]["type"].is_string()) {
    return ctx->finish(invalid_params("completion/complete: params.ref must be an object with a type"));
  }
  if (!p.contains("argument") || !p["argument"].is_object() ||
      !p["argument"].value("name", Json()).is_string() || !p["argument"].value("value", Json()).is_string()) {
    return ctx->finish(invalid_params("completion/complete: params.argument needs string name and value"));
  }
  const Json& ref = p["ref"];
  const std::string type = ref["type"].get<std::string>();
  if (type == "ref/prompt") {
    const Json name = ref.value("name", Json());
    bool known = false;
    for (const auto& e : prompts_)
      known = known || (name.is_string() && e.prompt.name == name.get<std::string>());
    if (!known) return ctx->finish(invalid_params("completion/complete: unknown prompt"));
  } else if (type != "ref/resource") {
    return ctx->finish(invalid_params("completion/complete: unknown ref type " + type));
  }
  Reply<Json> reply = [ctx](Result<Json> r) {
    if (!r.ok()) return ctx->finish(to_rpc_error(r.error(), rpc::kInvalidParams));
    Json completion = std::move(r).value();
    if (!completion.is_object()) completion = Json::object();
    if (!completion.contains("values") || !completion["values"].is_array())
      completion["values"] = Json::array();
    // The schema caps values at 100 items; say there is more instead of sending them.
    if (completion["values"].size() > 100) {
      if (!completion.contains("total")) completion["total"] = completion["values"].size();
      completion["values"].erase(completion["values"].begin() + 100, completion["values"].end());
      completion["hasMore"] = true;
    }
    ctx->finish(Json{{"completion", std::move(completion)}});
  };
  completion_(ctx, p, std::move(reply));
}

}  // namespace taskman::mcp
