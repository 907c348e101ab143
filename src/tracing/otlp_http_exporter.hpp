#pragma once
// OTLP/HTTP trace exporter (opentelemetry-proto docs/specification.md "OTLP/HTTP"): POSTs an
// ExportTraceServiceRequest (protobuf or JSON, optionally gzip) to the traces endpoint. Retries only
// 429/502/503/504 and transport failures, honouring Retry-After, else exponential backoff with
// jitter, all bounded by the batch's export deadline; never retries other statuses (400 included).
//
// Runs on the batch processor's worker thread (blocking calls are fine there); owns a one-thread
// IoPool for its HttpClient, so no request thread ever waits on the collector. cancel() may be called
// from any thread.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/random.hpp"
#include "core/result.hpp"
#include "tracing/batch_processor.hpp"
#include "tracing/settings.hpp"

namespace taskman::log {
class Logger;
}
namespace taskman::http {
class IoPool;
class HttpClient;
struct ClientOptions;
}  // namespace taskman::http

namespace taskman::tracing {

struct RetryPolicy {
  int max_attempts = 5;  // including the first
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{5000};
};

// Seams for deterministic tests (STYLE: inject time and randomness).
struct ExporterHooks {
  // Waits `delay` before a retry; false when the wait was cancelled. Default: a cancellable wait.
  std::function<bool(std::chrono::milliseconds delay)> wait;
  // Uniform in [0, 1) for jitter. Default: the shared RandomSource kind (core/random.hpp).
  std::function<double()> random01;
  // Wall clock for Retry-After HTTP dates. Default: system_clock.
  std::function<std::chrono::system_clock::time_point()> wall_now;
};

// Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date (IMF-fixdate, plus the obsolete
// RFC 850 and asctime forms). A date in the past is a zero delay; nullopt when unparsable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

// Statuses worth another attempt (OTLP/HTTP "Failures"; docs/observability.md#sampling-and-export).
bool is_retryable_status(int status);

class OtlpHttpExporter final : public SpanExporter {
 public:
  // Fails when the endpoint is not an http:// or https:// URL, or (https) when a certificate file
  // cannot be loaded; the error names the variable and the file.
  static Result<std::unique_ptr<OtlpHttpExporter>> create(OtlpSettings settings, Resource resource,
                                                          InstrumentationScope scope, log::Logger* logger,
                                                          RetryPolicy retry = {}, ExporterHooks hooks = {});
  ~OtlpHttpExporter() override;

  ExportResult export_spans(std::vector<SpanData>& batch,
                            std::chrono::steady_clock::time_point deadline) override;
  void cancel() override;

  // The request body for a batch (encoded and compressed as configured); exposed for tests.
  std::string make_body(const std::vector<SpanData>& batch) const;
  const OtlpSettings& settings() const { return settings_; }

 private:
  OtlpHttpExporter(OtlpSettings settings, Resource resource, InstrumentationScope scope, log::Logger* logger,
                   RetryPolicy retry, ExporterHooks hooks, std::string host, std::uint16_t port,
                   std::string target, http::ClientOptions client);
  bool default_wait(std::chrono::milliseconds delay);
  std::chrono::milliseconds backoff(int retry_index);
  void report_partial_success(const std::string& content_type, const std::string& body);

  OtlpSettings settings_;
  Resource resource_;
  InstrumentationScope scope_;
  log::Logger* logger_;
  RetryPolicy retry_;
  ExporterHooks hooks_;
  std::string target_;
  std::unique_ptr<http::IoPool> pool_;
  std::unique_ptr<http::HttpClient> client_;

  std::mutex cancel_mu_;  // guards cancelled_ for the cancellable wait
  std::condition_variable cancel_cv_;
  bool cancelled_ = false;
  SeededRandom random_;          // jitter when no hook is given
  bool warned_failure_ = false;  // the first failure is a warning, later ones debug (no log storms)
};

}  // namespace taskman::tracing
