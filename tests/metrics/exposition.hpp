#pragma once
// Helpers for the metrics black-box tests: scrape GET /metrics, parse the text format 0.0.4 into
// samples, and run the real `promtool check metrics` over a scrape. The parser is deliberately
// strict (it throws on a line it cannot read) so that a malformed exposition fails the test even
// where promtool would only lint.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace taskman::testing {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

class Exposition {
 public:
  // Throws std::runtime_error naming the line on anything outside the text format.
  static Exposition parse(const std::string& text);

  const std::vector<Sample>& samples() const { return samples_; }
  // "counter", "gauge", "histogram", ... from the family's # TYPE line; empty when undeclared.
  std::string type_of(const std::string& family) const;
  // Samples of a family: its own name, plus _bucket/_sum/_count for histograms and summaries.
  std::vector<const Sample*> family_samples(const std::string& family) const;
  // Sum of the values of `name` samples whose labels include every pair of `match`.
  double sum(const std::string& name, const std::map<std::string, std::string>& match = {}) const;
  // The value of the one sample of `name` with exactly these labels; nullopt when absent.
  std::optional<double> value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const;

 private:
  std::vector<Sample> samples_;
  std::map<std::string, std::string> types_;
};

// GET /metrics on 127.0.0.1:port; throws unless 200 with the text format 0.0.4 content type.
std::string scrape_metrics(int port);

struct PromtoolResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr, which promtool uses for lint problems
};
// Pipes `text` through `promtool check metrics` (PROMTOOL_PATH, found by CMake).
PromtoolResult promtool_check_metrics(const std::string& text);

// Every family docs/observability.md#metrics names, with the tracer self-metrics and build info, that both
// services export once traffic has run (the API adds db_query_duration_seconds).
const std::vector<std::string>& spec_families_common();
const std::vector<std::string>& spec_families_mcp_only();

}  // namespace taskman::testing
