#include "tracing/otlp_http_exporter.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>

#include <nlohmann/json.hpp>

#include "core/text.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "log/log.hpp"

namespace taskman::tracing {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

bool is_retryable_status(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    const auto secs = parse_integer(value.size() > 9 ? value.substr(0, 9) : value);  // cap absurd values
    if (!secs) return std::nullopt;
    return milliseconds(*secs * 1000);
  }
  // HTTP-date (RFC 9110 §5.6.7): IMF-fixdate first, then the two obsolete forms recipients must accept.
  static constexpr const char* kFormats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                             "%a %b %e %H:%M:%S %Y"};
  const std::string text(value);
  for (const char* format : kFormats) {
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), format, &tm);
    if (end == nullptr || *end != '\0') continue;
    const std::time_t t = ::timegm(&tm);
    if (t == static_cast<std::time_t>(-1)) return std::nullopt;
    const auto at = std::chrono::system_clock::from_time_t(t);
    if (at <= now) return milliseconds(0);
    return std::chrono::ceil<milliseconds>(at - now);
  }
  return std::nullopt;
}

Result<std::unique_ptr<OtlpHttpExporter>> OtlpHttpExporter::create(OtlpSettings settings, Resource resource,
                                                                   InstrumentationScope scope,
                                                                   log::Logger* logger, RetryPolicy retry,
                                                                   ExporterHooks hooks) {
  auto url = http::parse_url(settings.endpoint);
  if (!url.ok()) {
    return Error::invalid("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url.error().message);
  }
  // parse_url drops a trailing '/', but the endpoint is used exactly as configured (exporter.md):
  // take the request target verbatim from after the authority.
  std::string_view rest = std::string_view(settings.endpoint).substr(url->scheme.size() + 3);
  const auto slash = rest.find('/');
  std::string target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  http::ClientOptions client;
  if (url->scheme == "https") {
    client.tls = http::TlsClientSettings{settings.certificate_file, settings.client_certificate_file,
                                         settings.client_key_file};
  }
  try {
    return std::unique_ptr<OtlpHttpExporter>(
        new OtlpHttpExporter(std::move(settings), std::move(resource), std::move(scope), logger, retry,
                             std::move(hooks), url->host, url->port, std::move(target), std::move(client)));
  } catch (const std::invalid_argument& e) {
    return Error::invalid("OTEL_EXPORTER_OTLP_CERTIFICATE", e.what());
  }
}

OtlpHttpExporter::OtlpHttpExporter(OtlpSettings settings, Resource resource, InstrumentationScope scope,
                                   log::Logger* logger, RetryPolicy retry, ExporterHooks hooks,
                                   std::string host, std::uint16_t port, std::string target,
                                   http::ClientOptions client)
    : settings_(std::move(settings)),
      resource_(std::move(resource)),
      scope_(std::move(scope)),
      logger_(logger),
      retry_(retry),
      hooks_(std::move(hooks)),
      target_(std::move(target)),
      pool_(std::make_unique<http::IoPool>(1)) {
  retry_.max_attempts = std::max(1, retry_.max_attempts);
  client_ = std::make_unique<http::HttpClient>(*pool_, std::move(host), port, std::move(client));
  pool_->start();
}

OtlpHttpExporter::~OtlpHttpExporter() {
  cancel();
  client_.reset();
  pool_->stop();
}

void OtlpHttpExporter::cancel() {
  {
    std::lock_guard lock(cancel_mu_);
    cancelled_ = true;
  }
  cancel_cv_.notify_all();
}

bool OtlpHttpExporter::default_wait(milliseconds delay) {
  std::unique_lock lock(cancel_mu_);
  return !cancel_cv_.wait_for(lock, delay, [&] { return cancelled_; });
}

milliseconds OtlpHttpExporter::backoff(int retry_index) {
  // Exponential growth capped at max_backoff, with jitter in [50 %, 100 %] so clients that failed
  // together do not retry together, yet never hammer the collector with near-zero waits.
  double ceiling = static_cast<double>(retry_.initial_backoff.count());
  for (int i = 0; i < retry_index && ceiling < static_cast<double>(retry_.max_backoff.count()); ++i)
    ceiling *= 2;
  ceiling = std::min(ceiling, static_cast<double>(retry_.max_backoff.count()));
  const double u = hooks_.random01 ? hooks_.random01() : random_.next_unit();
  return milliseconds(static_cast<long long>(ceiling * (0.5 + 0.5 * u)));
}

std::string OtlpHttpExporter::make_body(const std::vector<SpanData>& batch) const {
  std::string body = settings_.protocol == OtlpProtocol::kHttpJson
                         ? encode_json(resource_, scope_, batch)
                         : encode_protobuf(resource_, scope_, batch);
  if (settings_.compression == OtlpCompression::kGzip) {
    if (auto gz = gzip_compress(body)) return std::move(*gz);
  }
  return body;
}

void OtlpHttpExporter::report_partial_success(const std::string& content_type, const std::string& body) {
  if (body.empty() || logger_ == nullptr) return;
  std::optional<PartialSuccess> ps;
  if (content_type.find("json") != std::string::npos) {
    const auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("partialSuccess") && j["partialSuccess"].is_object()) {
      const auto& p = j["partialSuccess"];
      PartialSuccess out;
      if (auto r = p.find("rejectedSpans"); r != p.end()) {
        if (r->is_number_integer()) out.rejected_spans = r->get<std::int64_t>();
        if (r->is_string()) out.rejected_spans = parse_integer(r->get<std::string>()).value_or(0);
      }
      if (auto e = p.find("errorMessage"); e != p.end() && e->is_string())
        out.error_message = e->get<std::string>();
      ps = std::move(out);
    }
  } else {
    ps = decode_partial_success_protobuf(body);
  }
  // OTLP "Partial Success": the request must not be retried; the rejection is only reported.
  if (ps && (ps->rejected_spans > 0 || !ps->error_message.empty())) {
    logger_->warn("OTLP collector rejected spans",
                  {{"rejected_spans", ps->rejected_spans}, {"error", std::string_view(ps->error_message)}});
  }
}

ExportResult OtlpHttpExporter::export_spans(std::vector<SpanData>& batch, SteadyClock::time_point deadline) {
  if (batch.empty()) return ExportResult::kSuccess;
  http::ClientRequest request;
  request.method = "POST";
  request.target = target_;
  request.headers.add("Content-Type", settings_.protocol == OtlpProtocol::kHttpJson
                                          ? "application/json"
                                          : "application/x-protobuf");
  if (settings_.compression == OtlpCompression::kGzip) request.headers.add("Content-Encoding", "gzip");
  // exporter.md: exporters SHOULD identify themselves in User-Agent.
  request.headers.add("User-Agent",
                      "taskman-otlp-exporter/" + (scope_.version.empty() ? "0" : scope_.version));
  for (const auto& [k, v] : settings_.headers) request.headers.add(k, v);
  request.body = make_body(batch);

  std::string failure;
  for (int attempt = 0;; ++attempt) {
    {
      std::lock_guard lock(cancel_mu_);
      if (cancelled_) {
        failure = "cancelled by shutdown";
        break;
      }
    }
    const auto now = SteadyClock::now();
    if (now >= deadline) {
      failure = "export timeout reached";
      break;
    }
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - now);
    const auto timeout = std::max(milliseconds(1), std::min(settings_.timeout, remaining));
    const http::ClientResult result = client_->send_sync(request, timeout);

    std::optional<milliseconds> retry_after;
    if (!result.ok()) {
      // OTLP/HTTP "Failures": an unreachable or silent collector is retried with backoff.
      failure = "transport error: " + result.error_message;
    } else if (result.response.status >= 200 && result.response.status < 300) {
      const auto ct = result.response.headers.get("Content-Type");
      report_partial_success(ct ? std::string(*ct) : std::string(), result.response.body);
      warned_failure_ = false;
      return ExportResult::kSuccess;
    } else if (is_retryable_status(result.response.status)) {
      failure = "HTTP " + std::to_string(result.response.status);
      if (const auto ra = result.response.headers.get("Retry-After")) {
        retry_after =
            parse_retry_after(*ra, hooks_.wall_now ? hooks_.wall_now() : std::chrono::system_clock::now());
      }
    } else {
      failure = "HTTP " + std::to_string(result.response.status) + " (not retryable)";
      break;
    }
    if (attempt + 1 >= retry_.max_attempts) break;
    const milliseconds delay = retry_after ? *retry_after : backoff(attempt);
    if (SteadyClock::now() + delay >= deadline) {
      failure += "; next retry would pass the export deadline";
      break;
    }
    const bool waited = hooks_.wait ? hooks_.wait(delay) : default_wait(delay);
    if (!waited) {
      failure += "; cancelled while waiting to retry";
      break;
    }
  }
  if (logger_ != nullptr) {
    const log::Level level = warned_failure_ ? log::Level::kDebug : log::Level::kWarn;
    logger_->log(level, nullptr, "OTLP trace export failed",
                 {{"endpoint", std::string_view(settings_.endpoint)},
                  {"spans", batch.size()},
                  {"error", std::string_view(failure)}});
  }
  warned_failure_ = true;
  return ExportResult::kFailure;
}

}  // namespace taskman::tracing
