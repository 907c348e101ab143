#include "metrics/exposition.hpp"

#include <cstdlib>
#include <stdexcept>

#include "support/process.hpp"

namespace taskman::testing {
namespace {

bool is_name_char(char c, bool first) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  return alpha || (!first && c >= '0' && c <= '9');
}

[[noreturn]] void bad_line(const std::string& line, const std::string& why) {
  throw std::runtime_error("exposition: " + why + " in line: " + line);
}

Sample parse_sample(const std::string& line) {
  Sample s;
  std::size_t i = 0;
  while (i < line.size() && is_name_char(line[i], i == 0)) ++i;
  if (i == 0) bad_line(line, "no metric name");
  s.name = line.substr(0, i);
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const std::size_t start = i;
      while (i < line.size() && is_name_char(line[i], i == start) && line[i] != ':') ++i;
      if (i == start || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
        bad_line(line, "bad label");
      const std::string key = line.substr(start, i - start);
      i += 2;
      std::string value;
      for (;; ++i) {
        if (i >= line.size()) bad_line(line, "unterminated label value");
        if (line[i] == '"') break;
        if (line[i] == '\\') {
          if (++i >= line.size()) bad_line(line, "dangling escape");
          if (line[i] == 'n')
            value += '\n';
          else if (line[i] == '\\' || line[i] == '"')
            value += line[i];
          else
            bad_line(line, "unknown escape");
        } else {
          value += line[i];
        }
      }
      ++i;  // closing quote
      if (!s.labels.emplace(key, std::move(value)).second) bad_line(line, "duplicate label " + key);
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) bad_line(line, "unterminated label set");
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') bad_line(line, "no value");
  const std::string rest = line.substr(i + 1);
  const std::string number = rest.substr(0, rest.find(' '));  // an optional timestamp may follow
  char* end = nullptr;
  s.value = std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size()) bad_line(line, "bad value");
  return s;
}

}  // namespace

Exposition Exposition::parse(const std::string& text) {
  Exposition e;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty()) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::string rest = line.substr(7);
      const auto space = rest.find(' ');
      if (space == std::string::npos) bad_line(line, "TYPE without a type");
      e.types_[rest.substr(0, space)] = rest.substr(space + 1);
      continue;
    }
    if (line[0] == '#') continue;
    e.samples_.push_back(parse_sample(line));
  }
  return e;
}

std::string Exposition::type_of(const std::string& family) const {
  auto it = types_.find(family);
  return it == types_.end() ? std::string() : it->second;
}

std::vector<const Sample*> Exposition::family_samples(const std::string& family) const {
  const std::string type = type_of(family);
  const bool composite = type == "histogram" || type == "summary";
  std::vector<const Sample*> out;
  for (const auto& s : samples_) {
    if (s.name == family || (composite && (s.name == family + "_bucket" || s.name == family + "_sum" ||
                                           s.name == family + "_count"))) {
      out.push_back(&s);
    }
  }
  return out;
}

double Exposition::sum(const std::string& name, const std::map<std::string, std::string>& match) const {
  double total = 0;
  for (const auto& s : samples_) {
    if (s.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : match) {
      auto it = s.labels.find(k);
      all = all && it != s.labels.end() && it->second == v;
    }
    if (all) total += s.value;
  }
  return total;
}

std::optional<double> Exposition::value(const std::string& name,
                                        const std::map<std::string, std::string>& labels) const {
  for (const auto& s : samples_) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return std::nullopt;
}

std::string scrape_metrics(int port) {
  auto r = http(port, "GET", "/metrics");
  if (r.status != 200)
    throw std::runtime_error("GET /metrics: HTTP " + std::to_string(r.status) + " " + r.body);
  if (r.headers["content-type"] != "text/plain; version=0.0.4; charset=utf-8") {
    throw std::runtime_error("GET /metrics: content type " + r.headers["content-type"]);
  }
  return r.body;
}

PromtoolResult promtool_check_metrics(const std::string& text) {
  Process::Options o;
  o.args = {"check", "metrics"};
  o.pipe_stdin = true;
  o.capture_stdout = true;
  Process p(o, PROMTOOL_PATH);
  p.write_stdin(text);
  p.close_stdin();
  PromtoolResult r;
  const auto code = p.wait_exit(std::chrono::seconds(30));
  if (!code) throw std::runtime_error("promtool check metrics did not finish in 30 s");
  r.exit_code = *code;
  while (auto line = p.read_stdout_line(std::chrono::milliseconds(0))) r.output += *line + "\n";
  for (const auto& line : p.stderr_lines()) r.output += line + "\n";
  return r;
}

const std::vector<std::string>& spec_families_common() {
  static const std::vector<std::string> kFamilies = {"http_server_requests_total",
                                                     "http_server_request_duration_seconds",
                                                     "http_server_requests_in_flight",
                                                     "health_check_status",
                                                     "health_check_duration_seconds",
                                                     "process_cpu_seconds_total",
                                                     "process_resident_memory_bytes",
                                                     "process_virtual_memory_bytes",
                                                     "process_open_fds",
                                                     "process_max_fds",
                                                     "process_start_time_seconds",
                                                     "process_threads",
                                                     "taskman_build_info",
                                                     "tracer_spans_exported_total",
                                                     "tracer_spans_dropped_total"};
  return kFamilies;
}

const std::vector<std::string>& spec_families_mcp_only() {
  static const std::vector<std::string> kFamilies = {"mcp_requests_total",
                                                     "mcp_tool_calls_total",
                                                     "mcp_tool_call_duration_seconds",
                                                     "mcp_sessions_active",
                                                     "backend_requests_total",
                                                     "backend_request_duration_seconds",
                                                     "backend_retries_total",
                                                     "circuit_breaker_state",
                                                     "circuit_breaker_transitions_total",
                                                     "circuit_breaker_rejections_total",
                                                     "fallback_cache_lookups_total",
                                                     "fallback_cache_entries",
                                                     "fallback_cache_evictions_total"};
  return kFamilies;
}

}  // namespace taskman::testing
