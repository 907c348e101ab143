#include "metrics/metrics.hpp"

#include <prometheus/text_serializer.h>

#include "metrics/process_collector.hpp"

namespace taskman::metrics {

std::string bounded(std::string_view value, std::initializer_list<std::string_view> allowed) {
  for (auto a : allowed) {
    if (a == value) return std::string(value);
  }
  return "other";
}

const prometheus::Histogram::BucketBoundaries& http_duration_buckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                                                   0.5,   0.75, 1,     2.5,  5,     7.5, 10};
  return kBuckets;
}

Metrics::Metrics(std::string_view version, std::string_view revision)
    : registry_(std::make_shared<prometheus::Registry>()),
      process_(std::make_shared<ProcessCollector>()),
      http_requests_(prometheus::BuildCounter()
                         .Name("http_server_requests_total")
                         .Help("HTTP requests answered, by method, route template and status code.")
                         .Register(*registry_)),
      http_duration_(prometheus::BuildHistogram()
                         .Name("http_server_request_duration_seconds")
                         .Help("Time from the start of a request to the end of its response.")
                         .Register(*registry_)),
      http_in_flight_(prometheus::BuildGauge()
                          .Name("http_server_requests_in_flight")
                          .Help("HTTP requests being handled now.")
                          .Register(*registry_)
                          .Add({})),
      health_status_(prometheus::BuildGauge()
                         .Name("health_check_status")
                         .Help("1 when the named health check passed at its last run, else 0.")
                         .Register(*registry_)),
      health_duration_(prometheus::BuildHistogram()
                           .Name("health_check_duration_seconds")
                           .Help("Time a health check took.")
                           .Register(*registry_)),
      http_requests_cache_(http_requests_, {"method", "route", "status"}),
      http_duration_cache_(http_duration_, {"method", "route"}),
      health_status_cache_(health_status_, {"check"}),
      health_duration_cache_(health_duration_, {"check"}) {
  prometheus::BuildGauge()
      .Name("taskman_build_info")
      .Help("Build information; the value is always 1.")
      .Register(*registry_)
      .Add({{"version", std::string(version)}, {"revision", std::string(revision)}})
      .Set(1);
}

Metrics::~Metrics() = default;

std::string Metrics::serialize() const {
  auto families = registry_->Collect();
  auto process = process_->Collect();
  families.insert(families.end(), process.begin(), process.end());
  return prometheus::TextSerializer().Serialize(families);
}

void Metrics::http_request_started() { http_in_flight_.Increment(); }

void Metrics::http_request_finished(std::string_view method, const std::string& route, int status,
                                    double seconds) {
  http_in_flight_.Decrement();
  const std::string m = bounded(method, {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"});
  const std::string r = route.empty() ? "unmatched" : route;
  http_requests_cache_.get({m, r, std::to_string(status)}).Increment();
  http_duration_cache_.get({m, r}, http_duration_buckets()).Observe(seconds);
}

void Metrics::health_check(const std::string& check, bool ok, double seconds) {
  health_status_cache_.get({check}).Set(ok ? 1 : 0);
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1};
  health_duration_cache_.get({check}, kBuckets).Observe(seconds);
}

}  // namespace taskman::metrics
