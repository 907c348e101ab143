#pragma once
// The conformance fixture's per-request-era (2026-07-28) tools and prompt (fixture_modern.cpp).
#include "mcp/server.hpp"

namespace taskman::mcp::fixture {
void register_modern_fixtures(Server& server);
}  // namespace taskman::mcp::fixture
