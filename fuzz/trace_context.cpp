// traceparent/tracestate arrive in HTTP headers and in MCP params._meta. The input is split on '\n'
// into header values (several values = several headers). Invariants: no throw; an accepted
// traceparent is valid and survives format→parse; an accepted tracestate has at most 32 members, its
// header form parses back to the same list, and the truncated (propagated) form is ≤ 512 characters
// and parses too.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "tracing/trace_context.hpp"

using namespace taskman::tracing;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> values;
  for (std::string_view rest = text;;) {
    const auto nl = rest.find('\n');
    values.push_back(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }

  for (auto v : values) {
    if (auto ctx = parse_traceparent(v)) {
      FUZZ_CHECK(ctx->valid());
      auto again = parse_traceparent(format_traceparent(*ctx));
      FUZZ_CHECK(again && again->trace_id == ctx->trace_id && again->span_id == ctx->span_id &&
                 again->sampled() == ctx->sampled());
    }
  }

  if (auto state = TraceState::parse(values)) {
    FUZZ_CHECK(state->size() <= TraceState::kMaxMembers);
    auto full = TraceState::parse(state->to_header(std::numeric_limits<std::size_t>::max()));
    FUZZ_CHECK(full && *full == *state);
    const auto propagated = state->to_header();
    FUZZ_CHECK(propagated.size() <= TraceState::kPropagateChars);
    FUZZ_CHECK(TraceState::parse(propagated).has_value());
    TraceState edited = *state;
    FUZZ_CHECK(edited.put("taskman", "fuzz"));
    FUZZ_CHECK(edited.size() <= TraceState::kMaxMembers && edited.get("taskman") == "fuzz");
  }

  // The first line as traceparent, the rest as tracestate, as a server extracts them.
  const std::span<const std::string_view> all(values);
  if (auto ctx = extract(all.first(1), all.subspan(1))) {
    FUZZ_CHECK(ctx->remote && ctx->valid());
    for (const auto& [name, value] : inject(*ctx)) FUZZ_CHECK(!value.empty());
  }
  // The same values through MCP params._meta.
  nlohmann::json params = {{"_meta", {{"traceparent", std::string(values[0])}}}};
  if (values.size() > 1) params["_meta"]["tracestate"] = std::string(values[1]);
  if (auto ctx = extract_from_mcp_params(params)) FUZZ_CHECK(ctx->valid());
  return 0;
}
