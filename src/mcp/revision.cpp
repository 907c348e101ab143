#include "mcp/revision.hpp"

#include <array>

namespace taskman::mcp {
namespace {

using F = Feature;
constexpr std::uint32_t bits(std::initializer_list<Feature> fs) {
  std::uint32_t out = 0;
  for (auto f : fs) out |= static_cast<std::uint32_t>(f);
  return out;
}

// The client->server requests of the session era (2025-03-26 .. 2025-11-25). The three revisions
// ask the same of a server that offers tools, resources, prompts, logging and completions; they
// differ in features, not in methods.
constexpr std::array<std::string_view, 13> kSessionEraMethods = {
    "initialize",
    "ping",
    "logging/setLevel",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
};

// The client->server requests of the per-request era (2026-07-28): no initialize, ping or
// logging/setLevel; subscriptions/listen instead of resources/(un)subscribe and the GET stream.
constexpr std::array<std::string_view, 10> kRequestEraMethods = {
    "server/discover", "tools/list",   "tools/call",  "resources/list",      "resources/templates/list",
    "resources/read",  "prompts/list", "prompts/get", "completion/complete", "subscriptions/listen",
};

constexpr std::uint32_t k20250326 = bits({F::kJsonRpcBatch, F::kToolAnnotations, F::kCompletions});
constexpr std::uint32_t k20250618 = bits({F::kToolAnnotations, F::kCompletions, F::kStructuredOutput,
                                          F::kElicitation, F::kTitles, F::kProtocolVersionHeader});
// SEP-1699: SSE polling with priming events; clients of older revisions cannot parse their empty data.
constexpr std::uint32_t k20251125 = k20250618 | bits({F::kSsePriming});

// Newest first; order grows with the date.
constexpr std::array<Revision, 3> kRevisions = {{
    {"2025-11-25", 3, true, true, kSessionEraMethods, k20251125},
    {"2025-06-18", 2, true, true, kSessionEraMethods, k20250618},
    {"2025-03-26", 1, true, true, kSessionEraMethods, k20250326},
}};

constexpr std::uint32_t k20260728 = bits({F::kToolAnnotations, F::kCompletions, F::kStructuredOutput,
                                          F::kTitles, F::kProtocolVersionHeader, F::kRequestMeta});
constexpr std::array<Revision, 1> kModernRevisions = {{
    {"2026-07-28", 4, false, false, kRequestEraMethods, k20260728},
}};

constexpr std::string_view kDefaultHttpRevision = "2025-03-26";

}  // namespace

bool Revision::has_method(std::string_view method) const {
  for (auto m : methods)
    if (m == method) return true;
  return false;
}

std::span<const Revision> revisions() { return kRevisions; }

const Revision& latest_revision() { return kRevisions.front(); }

std::span<const Revision> modern_revisions() { return kModernRevisions; }

const Revision* find_modern_revision(std::string_view id) {
  for (const auto& r : kModernRevisions)
    if (r.id == id) return &r;
  return nullptr;
}

const Revision* find_revision(std::string_view id) {
  for (const auto& r : kRevisions)
    if (r.id == id) return &r;
  return find_modern_revision(id);
}

const Revision& negotiate_revision(std::string_view requested) {
  if (const Revision* r = find_revision(requested); r && r->has_initialize) return *r;
  const Revision* best = nullptr;
  for (const auto& r : kRevisions)
    if (r.has_initialize && (!best || r.order > best->order)) best = &r;
  return *best;  // the table always holds a revision with initialize
}

const Revision* revision_for_header(std::optional<std::string_view> header) {
  return find_revision(header.value_or(kDefaultHttpRevision));
}

bool is_known_method(std::string_view method) {
  for (const auto& r : kRevisions)
    if (r.has_method(method)) return true;
  for (const auto& r : kModernRevisions)
    if (r.has_method(method)) return true;
  return false;
}

bool is_supported_version(std::string_view version) { return find_revision(version) != nullptr; }

std::string negotiate_version(std::string_view requested) {
  return std::string(negotiate_revision(requested).id);
}

}  // namespace taskman::mcp
