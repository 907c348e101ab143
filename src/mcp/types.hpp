#pragma once
// MCP definitions a server exposes (tools, resources, templates, prompts), log levels, and helpers
// that build content blocks. No task knowledge. The revisions are in revision.hpp.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "mcp/json_rpc.hpp"

namespace taskman::mcp {

// RFC 5424 severities, in increasing order, as MCP's logging utility names them.
enum class LogLevel { kDebug, kInfo, kNotice, kWarning, kError, kCritical, kAlert, kEmergency };
std::optional<LogLevel> parse_log_level(std::string_view s);
const char* log_level_name(LogLevel level);

// Tool names (2025-11-25 §Tool names): 1..128 characters of A-Z a-z 0-9 _ - .
bool is_valid_tool_name(std::string_view name);

struct Tool {
  std::string name;
  std::string title;
  std::string description;
  Json input_schema = Json{{"type", "object"}};
  Json output_schema;  // null: none
  Json annotations;    // null: none; {readOnlyHint, destructiveHint, idempotentHint, openWorldHint, title}
  Json meta;           // null: none
  Json to_json() const;
};

struct Resource {
  std::string uri;
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
  Json meta = nullptr;  // null: none
  Json to_json() const;
};

// RFC 6570 level-1 templates: "{var}" matches one or more characters other than '/'.
struct ResourceTemplate {
  std::string uri_template;
  std::string name;
  std::string title;
  std::string description;
  std::string mime_type;
  Json to_json() const;
};
// Variables of `uri` under `uri_template`, or nullopt when it does not match.
std::optional<std::vector<std::pair<std::string, std::string>>> match_uri_template(
    std::string_view uri_template, std::string_view uri);

struct PromptArgument {
  std::string name;
  std::string description;
  bool required = false;
};

struct Prompt {
  std::string name;
  std::string title;
  std::string description;
  std::vector<PromptArgument> arguments;
  Json to_json() const;
};

// Content blocks (MCP schema ContentBlock).
Json text_content(std::string_view text);
Json image_content(std::string_view base64_data, std::string_view mime_type);
Json audio_content(std::string_view base64_data, std::string_view mime_type);
Json embedded_text_resource(std::string_view uri, std::string_view mime_type, std::string_view text);

// CallToolResult helpers. structured_result() puts the object in structuredContent and the same
// JSON in a text block, as 2025-06-18 §Structured Content asks for backwards compatibility.
Json tool_result(Json content_blocks);
Json structured_result(Json object);
Json tool_error_result(std::string_view message);

}  // namespace taskman::mcp
