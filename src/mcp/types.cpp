#include "mcp/types.hpp"

#include <array>

namespace taskman::mcp {

namespace {
constexpr std::array<const char*, 8> kLevelNames = {"debug", "info",     "notice", "warning",
                                                    "error", "critical", "alert",  "emergency"};
}

std::optional<LogLevel> parse_log_level(std::string_view s) {
  for (std::size_t i = 0; i < kLevelNames.size(); ++i)
    if (s == kLevelNames[i]) return static_cast<LogLevel>(i);
  return std::nullopt;
}

const char* log_level_name(LogLevel level) { return kLevelNames[static_cast<std::size_t>(level)]; }

bool is_valid_tool_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

Json Tool::to_json() const {
  Json j = {{"name", name}, {"description", description}, {"inputSchema", input_schema}};
  if (!title.empty()) j["title"] = title;
  if (!output_schema.is_null()) j["outputSchema"] = output_schema;
  if (!annotations.is_null()) j["annotations"] = annotations;
  if (!meta.is_null()) j["_meta"] = meta;
  return j;
}

Json Resource::to_json() const {
  Json j = {{"uri", uri}, {"name", name}};
  if (!title.empty()) j["title"] = title;
  if (!description.empty()) j["description"] = description;
  if (!mime_type.empty()) j["mimeType"] = mime_type;
  if (!meta.is_null()) j["_meta"] = meta;
  return j;
}

Json ResourceTemplate::to_json() const {
  Json j = {{"uriTemplate", uri_template}, {"name", name}};
  if (!title.empty()) j["title"] = title;
  if (!description.empty()) j["description"] = description;
  if (!mime_type.empty()) j["mimeType"] = mime_type;
  return j;
}

std::optional<std::vector<std::pair<std::string, std::string>>> match_uri_template(std::string_view tpl,
                                                                                   std::string_view uri) {
  std::vector<std::pair<std::string, std::string>> vars;
  std::size_t t = 0, u = 0;
  while (t < tpl.size()) {
    if (tpl[t] == '{') {
      const auto close = tpl.find('}', t);
      if (close == std::string_view::npos) return std::nullopt;
      std::string name(tpl.substr(t + 1, close - t - 1));
      t = close + 1;
      // The variable ends at the next literal character of the template (or '/', or the end).
      const char stop = t < tpl.size() ? tpl[t] : '\0';
      std::size_t end = u;
      while (end < uri.size() && uri[end] != '/' && (stop == '\0' || uri[end] != stop)) ++end;
      if (end == u) return std::nullopt;
      vars.emplace_back(std::move(name), std::string(uri.substr(u, end - u)));
      u = end;
    } else {
      if (u >= uri.size() || uri[u] != tpl[t]) return std::nullopt;
      ++t;
      ++u;
    }
  }
  if (u != uri.size()) return std::nullopt;
  return vars;
}

Json Prompt::to_json() const {
  Json j = {{"name", name}};
  if (!title.empty()) j["title"] = title;
  if (!description.empty()) j["description"] = description;
  if (!arguments.empty()) {
    Json args = Json::array();
    for (const auto& a : arguments) {
      Json arg = {{"name", a.name}, {"required", a.required}};
      if (!a.description.empty()) arg["description"] = a.description;
      args.push_back(std::move(arg));
    }
    j["arguments"] = std::move(args);
  }
  return j;
}

Json text_content(std::string_view text) { return Json{{"type", "text"}, {"text", text}}; }
Json image_content(std::string_view data, std::string_view mime) {
  return Json{{"type", "image"}, {"data", data}, {"mimeType", mime}};
}
Json audio_content(std::string_view data, std::string_view mime) {
  return Json{{"type", "audio"}, {"data", data}, {"mimeType", mime}};
}
Json embedded_text_resource(std::string_view uri, std::string_view mime, std::string_view text) {
  return Json{{"type", "resource"}, {"resource", {{"uri", uri}, {"mimeType", mime}, {"text", text}}}};
}

Json tool_result(Json content_blocks) { return Json{{"content", std::move(content_blocks)}}; }
Json structured_result(Json object) {
  Json text = text_content(serialize(object));
  return Json{{"content", Json::array({std::move(text)})}, {"structuredContent", std::move(object)}};
}
Json tool_error_result(std::string_view message) {
  return Json{{"content", Json::array({text_content(message)})}, {"isError", true}};
}

}  // namespace taskman::mcp
