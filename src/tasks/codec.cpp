#include "tasks/codec.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "core/text.hpp"

namespace taskman::tasks {
namespace {

using nlohmann::json;

// Code points, not bytes: the limits are about text a person reads.
std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool blank(std::string_view s) { return trim(s).empty(); }

using Errors = FieldErrors;

Result<json> parse_object(std::string_view body) {
  json j;
  try {
    j = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 9: ..."; keep the
    // human part, which names the position.
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return Error{ErrorCode::kInvalidArgument,
                 "malformed JSON (byte " + std::to_string(e.byte) + "): " + what,
                 {{"body", "malformed JSON at byte " + std::to_string(e.byte)}}};
  } catch (const json::out_of_range& e) {
    // A number no double can hold (1e400) is reported as out_of_range, not as a parse error.
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return Error{ErrorCode::kInvalidArgument, "malformed JSON: " + what, {{"body", what}}};
  }
  if (!j.is_object()) return Error::invalid("body", "must be a JSON object");
  return j;
}

std::string type_name(const json& v) { return v.type_name(); }

// A string field with a code-point length range; `required_text` also rejects whitespace-only.
std::optional<std::string> text_field(const json& v, const std::string& field, std::size_t min,
                                      std::size_t max, Errors& errs) {
  if (!v.is_string()) {
    errs.add(field, "must be a string, got " + type_name(v));
    return std::nullopt;
  }
  const auto& s = v.get_ref<const std::string&>();
  const std::size_t n = utf8_length(s);
  if (min > 0 && (n == 0 || blank(s))) {
    errs.add(field, "must not be empty");
    return std::nullopt;
  }
  if (n < min || n > max) {
    errs.add(field, "must be " + std::to_string(min) + ".." + std::to_string(max) + " characters, got " +
                        std::to_string(n));
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> id_field(const json& v, const std::string& field, Errors& errs) {
  if (!v.is_string()) {
    errs.add(field, "must be a string id, got " + type_name(v));
    return std::nullopt;
  }
  const auto& s = v.get_ref<const std::string&>();
  if (!valid_id(s)) {
    errs.add(field, "is not a valid id");
    return std::nullopt;
  }
  return s;
}

std::optional<std::vector<std::string>> id_list(const json& v, const std::string& field, Errors& errs) {
  if (!v.is_array()) {
    errs.add(field, "must be an array of task ids, got " + type_name(v));
    return std::nullopt;
  }
  if (v.size() > kDependsOnMax) {
    errs.add(field, "must have at most " + std::to_string(kDependsOnMax) + " items, got " +
                        std::to_string(v.size()));
    return std::nullopt;
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  bool ok = true;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string item_field = field + "[" + std::to_string(i) + "]";
    auto id = id_field(v[i], item_field, errs);
    if (!id) {
      ok = false;
      continue;
    }
    if (!seen.insert(*id).second) {
      errs.add(item_field, "duplicate id " + *id);
      ok = false;
      continue;
    }
    out.push_back(*id);
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> labels_field(const json& v, Errors& errs) {
  if (!v.is_array()) {
    errs.add("labels", "must be an array of strings, got " + type_name(v));
    return std::nullopt;
  }
  if (v.size() > kLabelsMax) {
    errs.add("labels",
             "must have at most " + std::to_string(kLabelsMax) + " items, got " + std::to_string(v.size()));
    return std::nullopt;
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  bool ok = true;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string f = "labels[" + std::to_string(i) + "]";
    auto s = text_field(v[i], f, 1, kLabelMax, errs);
    if (!s) {
      ok = false;
      continue;
    }
    if (!seen.insert(*s).second) {
      errs.add(f, "duplicate label " + *s);
      ok = false;
      continue;
    }
    out.push_back(*s);
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<TimeMs> parse_time_ms(std::string_view s) {
  auto t = parse_rfc3339(s);
  if (!t) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
}

bool read_only_field(std::string_view k) {
  return k == "id" || k == "created_at" || k == "updated_at" || k == "completed_at" || k == "version" ||
         k == "task_id";
}

void reject_field(const std::string& k, Errors& errs) {
  errs.add(k, read_only_field(k) ? "is read-only" : "unknown field");
}

// ---- base64url (RFC 4648 §5), no padding
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string b64url_encode(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> b64url_decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = val(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::optional<std::int64_t> parse_i64(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

Result<store::KeysetPosition> decode_cursor(std::string_view cursor, std::string_view expected_tag) {
  auto bad = [](std::string msg) { return Error::invalid("cursor", std::move(msg)); };
  if (cursor.size() > 512) return bad("is not a valid cursor");
  auto raw = b64url_decode(cursor);
  if (!raw) return bad("is not a valid cursor");
  // v1|tag|key|id
  std::vector<std::string_view> parts;
  std::string_view rest = *raw;
  for (int i = 0; i < 3; ++i) {
    auto p = rest.find('|');
    if (p == std::string_view::npos) return bad("is not a valid cursor");
    parts.push_back(rest.substr(0, p));
    rest.remove_prefix(p + 1);
  }
  parts.push_back(rest);
  if (parts[0] != "v1") return bad("is not a valid cursor");
  if (parts[1] != expected_tag) return bad("was made for another sort order; start again without a cursor");
  auto key = parse_i64(parts[2]);
  if (!key || !valid_id(parts[3])) return bad("is not a valid cursor");
  return store::KeysetPosition{*key, std::string(parts[3])};
}

// Collects single-valued parameters, rejecting unknown names and repeats.
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

void check_known(const QueryParams& params, std::initializer_list<std::string_view> known, Errors& errs) {
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
    auto n = parse_i64(*v);
    if (!n || *n < 1 || *n > kMaxLimit) {
      errs.add("limit", "must be an integer in 1.." + std::to_string(kMaxLimit));
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

}  // namespace

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::string new_id(TimeMs now) {
  // Strictly increasing within the process, so items created in the same millisecond keep their
  // creation order in every (created_at, id) ordering: 12 hex digits of milliseconds, 4 of a
  // sequence within the millisecond, 12 random.
  static std::mutex mu;
  static std::uint64_t last_ms = 0, seq = 0;
  std::uint64_t ms = static_cast<std::uint64_t>(std::max<TimeMs>(now, 0));
  {
    std::lock_guard lk(mu);
    if (ms <= last_ms) {
      ms = last_ms;
      if (++seq > 0xFFFF) {
        ms = ++last_ms;
        seq = 0;
      }
    } else {
      last_ms = ms;
      seq = 0;
    }
    ms = (ms << 16) | seq;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[ms & 0xF];
    ms >>= 4;
  }
  return out + random_hex(6);
}

std::string format_time(TimeMs ms) {
  return format_rfc3339_ms(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

Result<ProjectInput> decode_project(std::string_view body, Mode mode) {
  auto j = parse_object(body);
  if (!j) return j.take_error();
  Errors errs;
  ProjectInput in;
  for (const auto& [k, v] : j->items()) {
    if (k == "name") {
      in.name = text_field(v, k, 1, kProjectNameMax, errs);
    } else if (k == "description") {
      in.description = text_field(v, k, 0, kProjectDescriptionMax, errs);
    } else {
      reject_field(k, errs);
    }
  }
  if (mode == Mode::kCreate && !j->contains("name")) errs.add("name", "is required");
  if (!errs.empty()) return std::move(errs).to_error();
  return in;
}

Result<TaskInput> decode_task(std::string_view body, Mode mode) {
  auto j = parse_object(body);
  if (!j) return j.take_error();
  Errors errs;
  TaskInput in;
  auto nullable_id = [&](const json& v, const std::string& k) -> std::optional<std::optional<std::string>> {
    if (v.is_null()) return std::optional<std::string>();
    auto id = id_field(v, k, errs);
    if (!id) return std::nullopt;
    return std::optional<std::string>(std::move(*id));
  };
  for (const auto& [k, v] : j->items()) {
    if (k == "title") {
      in.title = text_field(v, k, 1, kTitleMax, errs);
    } else if (k == "description") {
      in.description = text_field(v, k, 0, kTaskDescriptionMax, errs);
    } else if (k == "project_id") {
      in.project_id = nullable_id(v, k);
    } else if (k == "parent_id") {
      in.parent_id = nullable_id(v, k);
    } else if (k == "status") {
      if (!v.is_string() || !store::parse_status(v.get_ref<const std::string&>())) {
        errs.add(k, "must be one of todo, in_progress, blocked, done, cancelled");
      } else {
        in.status = store::parse_status(v.get_ref<const std::string&>());
      }
    } else if (k == "priority") {
      if (!v.is_string() || !store::parse_priority(v.get_ref<const std::string&>())) {
        errs.add(k, "must be one of low, medium, high, urgent");
      } else {
        in.priority = store::parse_priority(v.get_ref<const std::string&>());
      }
    } else if (k == "assignee") {
      if (v.is_null()) {
        in.assignee = std::optional<std::string>();
      } else if (auto s = text_field(v, k, 1, kAssigneeMax, errs)) {
        in.assignee = std::optional<std::string>(std::move(*s));
      }
    } else if (k == "labels") {
      in.labels = labels_field(v, errs);
    } else if (k == "due_at") {
      if (v.is_null()) {
        in.due_at = std::optional<TimeMs>();
      } else if (!v.is_string()) {
        errs.add(k, "must be an RFC 3339 date-time string or null, got " + type_name(v));
      } else if (auto t = parse_time_ms(v.get_ref<const std::string&>())) {
        in.due_at = std::optional<TimeMs>(*t);
      } else {
        errs.add(k, "must be an RFC 3339 date-time such as 2026-12-01T17:00:00Z");
      }
    } else if (k == "depends_on") {
      in.depends_on = id_list(v, k, errs);
    } else {
      reject_field(k, errs);
    }
  }
  if (mode == Mode::kCreate && !j->contains("title")) errs.add("title", "is required");
  if (!errs.empty()) return std::move(errs).to_error();
  return in;
}

Result<CommentInput> decode_comment(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return j.take_error();
  Errors errs;
  CommentInput in;
  bool has_body = false;
  for (const auto& [k, v] : j->items()) {
    if (k == "body") {
      has_body = true;
      if (auto s = text_field(v, k, 1, kCommentBodyMax, errs)) in.body = std::move(*s);
    } else if (k == "author") {
      if (!v.is_null()) in.author = text_field(v, k, 1, kAuthorMax, errs);
    } else {
      reject_field(k, errs);
    }
  }
  if (!has_body) errs.add("body", "is required");
  if (!errs.empty()) return std::move(errs).to_error();
  return in;
}

// Hand-written encoders: they run on the database thread for every answer, and building an
// nlohmann object (a std::map per object) cost several times more than appending escaped text.
namespace {

class JsonOut {
 public:
  JsonOut() {
    out_.reserve(512);
    out_ += '{';
  }
  JsonOut& str(std::string_view key, std::string_view v) {
    this->key(key);
    out_ += '"';
    append_json_escaped(out_, v);
    out_ += '"';
    return *this;
  }
  JsonOut& opt_str(std::string_view key, const std::optional<std::string>& v) {
    return v ? str(key, *v) : null(key);
  }
  JsonOut& time(std::string_view key, TimeMs v) { return str(key, format_time(v)); }
  JsonOut& opt_time(std::string_view key, const std::optional<TimeMs>& v) {
    return v ? time(key, *v) : null(key);
  }
  JsonOut& num(std::string_view key, std::int64_t v) {
    this->key(key);
    out_ += std::to_string(v);
    return *this;
  }
  JsonOut& null(std::string_view key) {
    this->key(key);
    out_ += "null";
    return *this;
  }
  JsonOut& str_array(std::string_view key, const std::vector<std::string>& items) {
    this->key(key);
    out_ += '[';
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out_ += ',';
      out_ += '"';
      append_json_escaped(out_, items[i]);
      out_ += '"';
    }
    out_ += ']';
    return *this;
  }
  std::string done() {
    out_ += '}';
    return std::move(out_);
  }

 private:
  void key(std::string_view k) {
    if (out_.size() > 1) out_ += ',';
    out_ += '"';
    out_ += k;  // keys are our own literals
    out_ += "\":";
  }
  std::string out_;
};

}  // namespace

std::string encode_project(const Project& p) {
  return JsonOut()
      .str("id", p.id)
      .str("name", p.name)
      .str("description", p.description)
      .time("created_at", p.created_at)
      .time("updated_at", p.updated_at)
      .done();
}

std::string encode_task(const Task& t) {
  return JsonOut()
      .str("id", t.id)
      .opt_str("project_id", t.project_id)
      .opt_str("parent_id", t.parent_id)
      .str("title", t.title)
      .str("description", t.description)
      .str("status", store::to_string(t.status))
      .str("priority", store::to_string(t.priority))
      .opt_str("assignee", t.assignee)
      .str_array("labels", t.labels)
      .opt_time("due_at", t.due_at)
      .str_array("depends_on", t.depends_on)
      .time("created_at", t.created_at)
      .time("updated_at", t.updated_at)
      .opt_time("completed_at", t.completed_at)
      .num("version", t.version)
      .done();
}

std::string encode_comment(const Comment& c) {
  return JsonOut()
      .str("id", c.id)
      .str("task_id", c.task_id)
      .opt_str("author", c.author)
      .str("body", c.body)
      .time("created_at", c.created_at)
      .done();
}

std::string encode_page(const std::vector<std::string>& items,
                        const std::optional<std::string>& next_cursor) {
  std::string out = "{\"items\":[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += items[i];
  }
  out += "],\"next_cursor\":";
  out += next_cursor ? json_quote(*next_cursor) : std::string("null");
  out += '}';
  return out;
}

std::string sort_tag(store::TaskSort sort, bool descending) {
  std::string tag = descending ? "-" : "";
  switch (sort) {
    case store::TaskSort::kCreatedAt:
      return tag + "created_at";
    case store::TaskSort::kUpdatedAt:
      return tag + "updated_at";
    case store::TaskSort::kPriority:
      return tag + "priority";
    case store::TaskSort::kDueAt:
      return tag + "due_at";
  }
  return tag;
}

std::string make_cursor(std::string_view tag, const store::KeysetPosition& pos) {
  return b64url_encode("v1|" + std::string(tag) + "|" + std::to_string(pos.key) + "|" + pos.id);
}

Result<TaskListRequest> parse_task_list(const QueryParams& params) {
  Errors errs;
  check_known(params,
              {"project_id", "status", "priority", "assignee", "label", "parent_id", "due_before",
               "due_after", "q", "sort", "limit", "cursor"},
              errs);
  ParamReader r{params, errs};
  TaskListRequest out;
  auto& f = out.filter;
  f.project_id = id_param(r, "project_id", errs);
  f.parent_id = id_param(r, "parent_id", errs);
  for (const auto& [k, v] : params) {
    if (k != "status") continue;
    auto st = store::parse_status(v);
    if (!st) {
      errs.add("status", "must be one of todo, in_progress, blocked, done, cancelled");
      break;
    }
    f.statuses.push_back(*st);
  }
  if (auto v = r.single("priority")) {
    f.priority = store::parse_priority(*v);
    if (!f.priority) errs.add("priority", "must be one of low, medium, high, urgent");
  }
  if (auto v = r.single("assignee")) {
    if (v->empty() || utf8_length(*v) > kAssigneeMax) {
      errs.add("assignee", "must be 1.." + std::to_string(kAssigneeMax) + " characters");
    } else {
      f.assignee = *v;
    }
  }
  if (auto v = r.single("label")) {
    if (v->empty() || utf8_length(*v) > kLabelMax) {
      errs.add("label", "must be 1.." + std::to_string(kLabelMax) + " characters");
    } else {
      f.label = *v;
    }
  }
  for (const char* name : {"due_before", "due_after"}) {
    if (auto v = r.single(name)) {
      auto t = parse_time_ms(*v);
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
    if (blank(*v) || utf8_length(*v) > kQueryMax) {
      errs.add("q", "must be 1.." + std::to_string(kQueryMax) + " characters of search words");
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
      errs.add("sort", "must be created_at, updated_at, priority or due_at, optionally prefixed with -");
    }
  }
  if (auto page = read_page(r, sort_tag(out.sort, out.descending), errs)) out.page = std::move(*page);
  if (!errs.empty()) return std::move(errs).to_error();
  return out;
}

Result<PageRequest> parse_page(const QueryParams& params) {
  Errors errs;
  check_known(params, {"limit", "cursor"}, errs);
  ParamReader r{params, errs};
  auto page = read_page(r, kCreatedTag, errs);
  if (!errs.empty() || !page) return std::move(errs).to_error();
  return *page;
}

Result<NextTaskRequest> parse_next_task(const QueryParams& params) {
  Errors errs;
  check_known(params, {"project_id", "assignee"}, errs);
  ParamReader r{params, errs};
  NextTaskRequest out;
  out.project_id = id_param(r, "project_id", errs);
  if (auto v = r.single("assignee")) {
    if (v->empty() || utf8_length(*v) > kAssigneeMax) {
      errs.add("assignee", "must be 1.." + std::to_string(kAssigneeMax) + " characters");
    } else {
      out.assignee = *v;
    }
  }
  if (!errs.empty()) return std::move(errs).to_error();
  return out;
}

std::string encode_headers(const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out = "{";
  for (const auto& [k, v] : headers) {
    if (out.size() > 1) out += ',';
    out += json_quote(k);
    out += ':';
    out += json_quote(v);
  }
  out += '}';
  return out;
}

std::vector<std::pair<std::string, std::string>> decode_headers(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) out.emplace_back(k, v.get<std::string>());
  }
  return out;
}

}  // namespace taskman::tasks
