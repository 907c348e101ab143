#include "tasks/task_json.hpp"

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "core/text.hpp"

namespace taskman::tasks {
namespace {

// Hand-written encoders: they run on the database thread for every answer, and building an
// nlohmann object (a std::map per object) cost several times more than appending escaped text.
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

std::string format_time(TimeMs ms) {
  return format_rfc3339_ms(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

std::string encode_project(const Project& p) {
  return JsonOut()
      .str("id", p.id)
      .str("name", p.name)
      .str("description", p.description)
      .time("created_at", p.created_at)
      .time("updated_at", p.updated_at)
      .done();
}

// The keys and their order are tasks::kTaskFields (tasks/limits.hpp); a test holds the two together.
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
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) out.emplace_back(k, v.get<std::string>());
  }
  return out;
}

}  // namespace taskman::tasks
