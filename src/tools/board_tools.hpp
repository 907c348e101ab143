#pragma once
// The task board as an MCP App (extension io.modelcontextprotocol/ui, 2026-01-26): the ui://taskman/board
// view (tools/board/board.html, compiled in), the show_board tool that opens it, and the link from
// list_tasks to it. All of it only for clients that announce the extension with the App MIME type
// in initialize; every other client sees the tools and resources it saw before.
#include <string_view>

#include <nlohmann/json.hpp>

#include "mcp/server.hpp"
#include "tools/tool_specs.hpp"

namespace taskman::tools {

inline constexpr std::string_view kUiExtension = "io.modelcontextprotocol/ui";
inline constexpr std::string_view kAppMimeType = "text/html;profile=mcp-app";
inline constexpr std::string_view kBoardUri = "ui://taskman/board";

// Whether initialize capabilities announce MCP Apps able to show text/html;profile=mcp-app.
bool renders_apps(const nlohmann::json& client_capabilities);

// show_board, with renders_apps as its audience; specs() lists it last.
ToolSpec board_tool_spec();

// The ui://taskman/board resource and the link from list_tasks (registered before) to it.
void register_board_view(mcp::Server& server);

}  // namespace taskman::tools
