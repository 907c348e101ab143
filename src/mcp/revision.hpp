#pragma once
// The MCP revisions this server speaks, one descriptor each: the one place that knows what a
// revision is called, how it orders against the others, whether it has sessions and the
// `initialize` handshake, which client->server methods exist in it and which optional features
// it has. The server negotiates with this table and builds its method table from it; transports
// ask it whether a header names a revision. Adding a revision means adding a descriptor here and
// its handlers in the server. Pure data; thread-safe.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace taskman::mcp {

// Optional protocol features that differ between revisions. The code branches on a feature, never
// on a version string.
enum class Feature : std::uint32_t {
  kJsonRpcBatch = 1u << 0,           // JSON-RPC batches (2025-03-26 only; this server refuses them)
  kToolAnnotations = 1u << 1,        // Tool.annotations (readOnlyHint, destructiveHint, ...)
  kCompletions = 1u << 2,            // completion/complete and the completions capability
  kStructuredOutput = 1u << 3,       // Tool.outputSchema and CallToolResult.structuredContent
  kElicitation = 1u << 4,            // server->client elicitation/create
  kTitles = 1u << 5,                 // human-readable `title` beside `name`
  kProtocolVersionHeader = 1u << 6,  // Streamable HTTP MCP-Protocol-Version header on every request
  kSsePriming = 1u << 7,             // an SSE stream starts with an event that has an id and empty data
  // The per-request era (2026-07-28): every request names its revision and client capabilities in
  // params._meta, results carry resultType, cacheable results carry ttlMs/cacheScope, server->client
  // requests become input_required results, subscriptions/listen replaces the GET stream.
  kRequestMeta = 1u << 8,
};

struct Revision {
  std::string_view id;  // "2025-11-25"
  int order;            // larger is newer; compare revisions by this, never by id text
  bool sessions;        // protocol state lives in a session (Mcp-Session-Id on Streamable HTTP)
  bool has_initialize;  // the initialize / notifications/initialized handshake exists
  // Client->server request methods of the revision (what the server may be asked).
  std::span<const std::string_view> methods;
  std::uint32_t features;  // Feature bits

  bool has(Feature f) const { return (features & static_cast<std::uint32_t>(f)) != 0; }
  bool has_method(std::string_view method) const;
};

// The session-era revisions (negotiated by initialize), newest first.
std::span<const Revision> revisions();
const Revision& latest_revision();
// The per-request-era revisions (no sessions, no initialize; each request names one in _meta),
// newest first. server/discover lists them as supportedVersions.
std::span<const Revision> modern_revisions();
// The descriptor of `id` in either era, or nullptr when this server does not speak it.
const Revision* find_revision(std::string_view id);
// The per-request-era descriptor of `id`, or nullptr.
const Revision* find_modern_revision(std::string_view id);
// Lifecycle §Version Negotiation: the requested revision when supported (and it has initialize),
// else the latest one that has initialize.
const Revision& negotiate_revision(std::string_view requested);
// Streamable HTTP §Protocol Version Header: the revision a request's MCP-Protocol-Version header
// names, 2025-03-26 when the header is absent, nullptr when it names one this server does not speak.
const Revision* revision_for_header(std::optional<std::string_view> header);
// Whether any supported revision (either era) has `method` (bounded metric labels).
bool is_known_method(std::string_view method);

// Text forms of the above, for callers that hold version strings.
bool is_supported_version(std::string_view version);
std::string negotiate_version(std::string_view requested);

}  // namespace taskman::mcp
