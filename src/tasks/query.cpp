#include "tasks/query.hpp"

#include <set>
#include <span>
#include <string_view>

#include "tasks/checks.hpp"
#include "tasks/cursor.hpp"
#include "tasks/ids.hpp"

namespace taskman::tasks {
namespace {

using detail::blank;
using detail::utf8_length;
using Errors = FieldErrors;

// Collects single-valued parameters, rejecting repeats.
struct ParamReader {
  const QueryParams& params;
  Errors& errs;

  std::optional<std::string> single(const std::string& name) const {
    std::optional<std::string> out;
    for (const auto& [k, v] : params) {
      if (k != name) continue;
      if (out) {
        errs.add(name, "must be given at most once");
        return std::nullopt;
      }
      out = v;
    }
    return out;
  }
};

void check_known(const QueryParams& params, std::span<const std::string_view> known, Errors& errs) {
  std::set<std::string> reported;
  for (const auto& [k, v] : params) {
    bool ok = false;
    for (auto n : known) ok = ok || k == n;
    if (!ok && reported.insert(k).second) errs.add(k, "unknown query parameter");
  }
}

std::optional<PageRequest> read_page(const ParamReader& r, std::string_view tag, Errors& errs) {
  PageRequest page;
  bool ok = true;
  if (auto v = r.single("limit")) {
    auto n = detail::parse_i64(*v);
    if (!n || *n < kMinLimit || *n > kMaxLimit) {
      errs.add("limit",
               "must be an integer in " + std::to_string(kMinLimit) + ".." + std::to_string(kMaxLimit));
      ok = false;
    } else {
      page.limit = static_cast<int>(*n);
    }
  }
  if (auto v = r.single("cursor")) {
    auto pos = decode_cursor(*v, tag);
    if (!pos) {
      errs.add("cursor", pos.error().fields.front().message);
      ok = false;
    } else {
      page.after = std::move(*pos);
    }
  }
  if (!ok) return std::nullopt;
  return page;
}

std::optional<std::string> id_param(const ParamReader& r, const std::string& name, Errors& errs) {
  auto v = r.single(name);
  if (v && !valid_id(*v)) {
    errs.add(name, "is not a valid id");
    return std::nullopt;
  }
  return v;
}

// A 1..max text parameter (assignee, label).
std::optional<std::string> text_param(const ParamReader& r, const std::string& name, LengthRange range,
                                      Errors& errs) {
  auto v = r.single(name);
  if (v && (v->size() < range.min || utf8_length(*v) > range.max)) {
    errs.add(name, "must be " + detail::range_text(range) + " characters");
    return std::nullopt;
  }
  return v;
}

}  // namespace

Result<TaskListRequest> parse_task_list(const QueryParams& params) {
  Errors errs;
  check_known(params, kTaskListParams, errs);
  ParamReader r{params, errs};
  TaskListRequest out;
  auto& f = out.filter;
  f.project_id = id_param(r, "project_id", errs);
  f.parent_id = id_param(r, "parent_id", errs);
  for (const auto& [k, v] : params) {
    if (k != "status") continue;
    auto st = store::parse_status(v);
    if (!st) {
      errs.add("status", "must be one of " + detail::joined(kStatusNames));
      break;
    }
    f.statuses.push_back(*st);
  }
  if (auto v = r.single("priority")) {
    f.priority = store::parse_priority(*v);
    if (!f.priority) errs.add("priority", "must be one of " + detail::joined(kPriorityNames));
  }
  f.assignee = text_param(r, "assignee", kAssignee, errs);
  f.label = text_param(r, "label", kLabel, errs);
  for (const char* name : {"due_before", "due_after"}) {
    if (auto v = r.single(name)) {
      auto t = detail::parse_time_ms(*v);
      if (!t) {
        errs.add(name, "must be an RFC 3339 date-time such as 2026-12-01T17:00:00Z");
      } else if (std::string_view(name) == "due_before") {
        f.due_before = t;
      } else {
        f.due_after = t;
      }
    }
  }
  if (auto v = r.single("q")) {
    if (blank(*v) || utf8_length(*v) > kQuery.max) {
      errs.add("q", "must be " + detail::range_text(kQuery) + " characters of search words");
    } else {
      f.q = *v;
    }
  }
  if (auto v = r.single("sort")) {
    std::string_view s = *v;
    out.descending = s.starts_with('-');
    if (out.descending) s.remove_prefix(1);
    if (s == "created_at") {
      out.sort = store::TaskSort::kCreatedAt;
    } else if (s == "updated_at") {
      out.sort = store::TaskSort::kUpdatedAt;
    } else if (s == "priority") {
      out.sort = store::TaskSort::kPriority;
    } else if (s == "due_at") {
      out.sort = store::TaskSort::kDueAt;
    } else {
      errs.add("sort", "must be " + detail::joined_or(kSortKeys) + ", optionally prefixed with -");
    }
  }
  if (auto page = read_page(r, sort_tag(out.sort, out.descending), errs)) out.page = std::move(*page);
  if (!errs.empty()) return std::move(errs).to_error();
  return out;
}

Result<PageRequest> parse_page(const QueryParams& params) {
  Errors errs;
  static constexpr std::string_view kPageParams[] = {"limit", "cursor"};
  check_known(params, kPageParams, errs);
  ParamReader r{params, errs};
  auto page = read_page(r, kCreatedTag, errs);
  if (!errs.empty() || !page) return std::move(errs).to_error();
  return *page;
}

Result<NextTaskRequest> parse_next_task(const QueryParams& params) {
  Errors errs;
  static constexpr std::string_view kNextParams[] = {"project_id", "assignee"};
  check_known(params, kNextParams, errs);
  ParamReader r{params, errs};
  NextTaskRequest out;
  out.project_id = id_param(r, "project_id", errs);
  out.assignee = text_param(r, "assignee", kAssignee, errs);
  if (!errs.empty()) return std::move(errs).to_error();
  return out;
}

}  // namespace taskman::tasks
