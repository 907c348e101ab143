#include <cmath>

#include "status/render.hpp"

namespace taskman::status {
namespace {

using Json = nlohmann::json;

// Three decimals are plenty for milliseconds and rates, and keep the document short.
double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

Json latency_rows(const std::vector<LatencyStats>& rows, const char* key) {
  Json out = Json::array();
  for (const auto& r : rows) {
    out.push_back({{key, r.label},
                   {"requests", r.requests},
                   {"errors", r.errors},
                   {"rps", round3(r.rps)},
                   {"p50_ms", round3(r.p50_ms)},
                   {"p90_ms", round3(r.p90_ms)},
                   {"p99_ms", round3(r.p99_ms)}});
  }
  return out;
}

template <class T>
Json optional_number(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

Json call_rows(const std::vector<CallRecord>& rows, const StatusSnapshot& s) {
  Json out = Json::array();
  for (const auto& c : rows) {
    Json j = {{"age_ms", s.now_ms - c.at_ms},
              {"kind", c.kind},
              {"method", c.method},
              {"target", c.target},
              {"outcome", c.outcome},
              {"error", c.error},
              {"duration_ms", c.duration_ms < 0 ? Json(nullptr) : Json(round3(c.duration_ms))},
              {"request_id", c.request_id},
              {"trace_id", c.trace_id.empty() ? Json(nullptr) : Json(c.trace_id)}};
    if (auto link = trace_link(s.trace_ui_url, c.trace_id); !link.empty()) j["trace_url"] = link;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

std::string trace_link(std::string_view trace_ui_url, std::string_view trace_id) {
  if (trace_ui_url.empty() || trace_id.empty()) return {};
  constexpr std::string_view kPlaceholder = "{trace_id}";
  std::string url(trace_ui_url);
  if (const auto at = url.find(kPlaceholder); at != std::string::npos) {
    url.replace(at, kPlaceholder.size(), trace_id);
    return url;
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/trace/" + std::string(trace_id);
}

Json to_json(const StatusSnapshot& s) {
  Json j = {{"service", s.service},
            {"version", s.version},
            {"revision", s.revision},
            {"build_type", s.build_type},
            {"uptime_s", round3(s.uptime_s)},
            {"log_level", s.log_level},
            {"routes", latency_rows(s.routes, "route")},
            {"tools", latency_rows(s.tools, "tool")},
            {"trace_ui", !s.trace_ui_url.empty()}};
  if (!s.database.empty()) j["database"] = s.database;
  j["breaker"] = nullptr;
  if (s.breaker) {
    const auto& b = *s.breaker;
    Json transitions = Json::array();
    for (const auto& t : b.transitions) {
      transitions.push_back(
          {{"age_ms", s.now_ms - t.at_ms}, {"from", t.from}, {"to", t.to}, {"reason", t.reason}});
    }
    j["breaker"] = {{"state", b.state},
                    {"mode", b.mode},
                    {"enabled", b.enabled},
                    {"error_percent", round3(b.error_percent)},
                    {"threshold_percent", b.threshold_percent},
                    {"calls_in_window", b.calls_in_window},
                    {"failures_in_window", b.failures_in_window},
                    {"window_ms", b.window_ms},
                    {"time_until_half_open_ms", optional_number(b.time_until_half_open_ms)},
                    {"transitions", std::move(transitions)}};
  }
  j["cache"] = nullptr;
  if (s.cache) {
    const auto& c = *s.cache;
    const std::uint64_t lookups = c.hits + c.misses + c.stale;
    Json evictions = Json::object();
    for (const auto& [reason, n] : c.evictions) evictions[reason] = n;
    j["cache"] = {{"enabled", c.enabled},
                  {"entries", c.entries},
                  {"max_size", c.max_size},
                  {"ttl_ms", c.ttl_ms},
                  {"hits", c.hits},
                  {"misses", c.misses},
                  {"stale", c.stale},
                  // Of the failed reads that asked the cache, the share it answered.
                  {"hit_ratio",
                   lookups == 0 ? Json(nullptr)
                                : Json(round3(static_cast<double>(c.hits) / static_cast<double>(lookups)))},
                  {"oldest_age_ms", optional_number(c.oldest_age_ms)},
                  {"evictions", std::move(evictions)}};
  }
  j["bulkhead"] = nullptr;
  if (s.bulkhead) {
    j["bulkhead"] = {{"in_flight", s.bulkhead->in_flight},
                     {"capacity", s.bulkhead->capacity},
                     {"rejected", s.bulkhead->rejected}};
  }
  j["mcp"] = nullptr;
  if (s.mcp) {
    Json revisions = Json::array();
    for (const auto& r : s.mcp->revisions) {
      revisions.push_back({{"revision", r.revision.empty() ? Json(nullptr) : Json(r.revision)},
                           {"sessions", r.sessions},
                           {"open_streams", r.open_streams}});
    }
    j["mcp"] = {{"sessions", s.mcp->sessions}, {"revisions", std::move(revisions)}};
  }
  j["exporter"] = {{"enabled", s.exporter.enabled},
                   {"queue_size", s.exporter.queue_size},
                   {"exported", s.exporter.exported},
                   {"dropped", s.exporter.dropped},
                   {"export_failed", s.exporter.export_failed}};
  j["recent_requests"] = call_rows(s.recent_requests, s);
  j["recent_errors"] = call_rows(s.recent_errors, s);
  Json actions = Json::array();
  for (const auto& a : s.admin_actions) {
    actions.push_back({{"age_ms", s.now_ms - a.at_ms},
                       {"action", a.action},
                       {"detail", a.detail},
                       {"remote", a.remote},
                       {"who", a.who}});
  }
  j["admin_actions"] = std::move(actions);
  return j;
}

std::string render_json(const StatusSnapshot& s) { return to_json(s).dump(); }

}  // namespace taskman::status
