#include "mcp/modern.hpp"

namespace taskman::mcp::modern {
namespace {

RpcError invalid_params(std::string message) { return RpcError{rpc::kInvalidParams, std::move(message), {}}; }

const Json* member(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

}  // namespace

bool claims_modern(const Message& message) {
  if (message.kind != MessageKind::kRequest && message.kind != MessageKind::kNotification) return false;
  const Json* meta = member(message.params, "_meta");
  return meta && member(*meta, kProtocolVersionKey) != nullptr;
}

RpcError unsupported_version(std::string_view requested) {
  Json supported = Json::array();
  for (const auto& r : modern_revisions()) supported.push_back(std::string(r.id));
  return RpcError{kUnsupportedProtocolVersion, "Unsupported protocol version: " + std::string(requested),
                  Json{{"supported", std::move(supported)}, {"requested", std::string(requested)}}};
}

RpcError missing_capability(std::string_view capability) {
  return RpcError{kMissingRequiredClientCapability,
                  "Missing required client capability: " + std::string(capability),
                  Json{{"requiredCapabilities", {{std::string(capability), Json::object()}}}}};
}

std::variant<RequestMeta, RpcError> parse_request_meta(const Json& params) {
  const Json* meta = member(params, "_meta");
  if (!meta || !meta->is_object()) return invalid_params("Invalid params: params._meta is required");
  const Json* version = member(*meta, kProtocolVersionKey);
  if (!version || !version->is_string())
    return invalid_params("Invalid params: _meta[\"" + std::string(kProtocolVersionKey) +
                          "\"] must be a string");
  const Json* caps = member(*meta, kClientCapabilitiesKey);
  if (!caps || !caps->is_object()) {
    return invalid_params("Invalid params: _meta[\"" + std::string(kClientCapabilitiesKey) +
                          "\"] must be an object");
  }
  RequestMeta out;
  out.revision = find_modern_revision(version->get<std::string>());
  if (!out.revision) return unsupported_version(version->get<std::string>());
  out.client_capabilities = *caps;
  if (const Json* info = member(*meta, kClientInfoKey); info && info->is_object()) out.client_info = *info;
  if (const Json* level = member(*meta, kLogLevelKey)) {
    if (level->is_string()) out.log_level = parse_log_level(level->get<std::string>());
    if (!out.log_level) {
      return invalid_params("Invalid params: _meta[\"" + std::string(kLogLevelKey) +
                            "\"] must be a log level name");
    }
  }
  return out;
}

bool is_cacheable(std::string_view method) {
  return method == "tools/list" || method == "resources/list" || method == "resources/templates/list" ||
         method == "prompts/list" || method == "resources/read" || method == "server/discover";
}

void decorate_result(std::string_view method, Json& result, const Json& server_info) {
  if (!result.is_object()) return;
  if (!result.contains("resultType")) result["resultType"] = "complete";
  Json& meta = result["_meta"];
  if (!meta.is_object()) meta = Json::object();
  if (!meta.contains(kServerInfoKey)) meta[std::string(kServerInfoKey)] = server_info;
  // SEP-2549: cacheable results say how long and for whom. Our lists are fixed at start-up but a
  // deployment may change them on restart; resources are live task data: nothing is cached by default.
  if (is_cacheable(method) && result.value("resultType", "") == "complete") {
    if (!result.contains("ttlMs")) result["ttlMs"] = 0;
    if (!result.contains("cacheScope"))
      result["cacheScope"] = method == "resources/read" ? "private" : "public";
  }
}

}  // namespace taskman::mcp::modern
