#pragma once
// One process's tracing, assembled from TracingSettings: Tracer → BatchSpanProcessor → OTLP/HTTP
// exporter. The lead's start-up code creates it once, hands tracer() to the HTTP server/client, the
// MCP dispatcher and the database layer, reads stats() for metrics, and calls shutdown() during
// graceful shutdown (docs/observability.md#graceful-shutdown).
#include <chrono>
#include <memory>

#include "tracing/batch_processor.hpp"
#include "tracing/settings.hpp"
#include "tracing/tracer.hpp"

namespace taskman::log {
class Logger;
}

namespace taskman::tracing {

class TracingRuntime {
 public:
  // Never fails: a disabled SDK gives a tracer whose spans record nothing; an unusable endpoint is
  // logged as an error and spans are then recorded (for OTEL_DEBUG) but not exported. `exporter`
  // replaces the OTLP exporter (tests, or another backend).
  static std::unique_ptr<TracingRuntime> create(const TracingSettings& settings, log::Logger& logger,
                                                std::unique_ptr<SpanExporter> exporter = nullptr);
  ~TracingRuntime();

  Tracer& tracer() { return *tracer_; }
  // Flushes queued spans and stops exporting; true when everything went out within `timeout`.
  bool shutdown(std::chrono::milliseconds timeout);
  BatchStats stats() const;

 private:
  TracingRuntime() = default;
  std::unique_ptr<BatchSpanProcessor> processor_;  // null when nothing is exported
  std::unique_ptr<Tracer> tracer_;
};

}  // namespace taskman::tracing
