#include "tracing/runtime.hpp"

#include "log/log.hpp"
#include "tracing/otlp_http_exporter.hpp"

namespace taskman::tracing {

std::unique_ptr<TracingRuntime> TracingRuntime::create(const TracingSettings& settings, log::Logger& logger,
                                                       std::unique_ptr<SpanExporter> exporter) {
  std::unique_ptr<TracingRuntime> rt(new TracingRuntime());
  TracerOptions options;
  options.enabled = settings.enabled;
  options.sampler = settings.sampler;
  options.debug_out = settings.debug && settings.enabled ? stderr : nullptr;
  if (settings.enabled && settings.export_enabled) {
    if (!exporter) {
      InstrumentationScope scope{"taskman", settings.service_version};
      auto otlp = OtlpHttpExporter::create(settings.otlp, make_resource(settings), scope, &logger);
      if (otlp.ok()) {
        exporter = std::move(otlp.value());
      } else {
        logger.error("tracing: spans will not be exported",
                     {{"error", std::string_view(otlp.error().message)}});
      }
    }
    if (exporter) rt->processor_ = std::make_unique<BatchSpanProcessor>(std::move(exporter), settings.batch);
  }
  rt->tracer_ = std::make_unique<Tracer>(options, rt->processor_.get());
  if (settings.enabled) {
    logger.info(
        "tracing enabled",
        {{"service_name", std::string_view(settings.service_name)},
         {"sampler", sampler_kind_name(settings.sampler.kind)},
         {"endpoint", std::string_view(rt->processor_ ? settings.otlp.endpoint : std::string_view("none"))}});
  }
  return rt;
}

TracingRuntime::~TracingRuntime() {
  if (processor_)
    processor_->shutdown(std::chrono::steady_clock::now() + processor_->options().export_timeout);
}

bool TracingRuntime::shutdown(std::chrono::milliseconds timeout) {
  if (!processor_) return true;
  return processor_->shutdown(std::chrono::steady_clock::now() + timeout);
}

BatchStats TracingRuntime::stats() const { return processor_ ? processor_->stats() : BatchStats{}; }

}  // namespace taskman::tracing
