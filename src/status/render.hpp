#pragma once
// The status page as JSON (GET /status.json, for scripts) and as HTML (GET /status): one
// self-contained document, no external assets, its tables rendered on the server so it reads
// without JavaScript; a small inline script fetches status.json every second and rewrites the
// same elements in place. The HTML is rendered from the JSON document, so the two never disagree.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "status/snapshot.hpp"

namespace taskman::status {

// The trace view link for `trace_id` under TRACE_UI_URL: "{trace_id}" in the URL is replaced by
// the id; otherwise "/trace/<id>" is appended (Jaeger's UI path). "" when either is empty.
std::string trace_link(std::string_view trace_ui_url, std::string_view trace_id);

nlohmann::json to_json(const StatusSnapshot& s);
std::string render_json(const StatusSnapshot& s);
std::string render_html(const StatusSnapshot& s);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(std::string_view text);

}  // namespace taskman::status
