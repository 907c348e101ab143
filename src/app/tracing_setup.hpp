#pragma once
// Tracing for the process: one runtime per service (so each exports under its own service.name),
// the span counters fed to /metrics, and the bounded flush at shutdown. Off (a disabled tracer:
// nothing recorded or exported, but a caller's traceparent still reaches the backend and the logs)
// unless ENABLE_TRACING or OTEL_DEBUG asks for spans.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/api.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "store/store.hpp"
#include "tracing/runtime.hpp"

namespace taskman::app {

class TracingSetup {
 public:
  // `registry` (null when metrics are off) gets a scrape hook for spans exported/dropped; it must
  // outlive this object's use by scrapes.
  TracingSetup(const config::Config& cfg, metrics::Metrics* registry);

  bool on() const { return on_; }
  // A tracer exporting as `service`, or the propagation-only tracer when tracing is off (never null).
  // Lives as long as this object.
  tracing::Tracer* make_tracer(const std::string& service, log::Logger& logger);
  // The exporter's counters of the runtime behind `tracer` (make_tracer's result); nullopt for the
  // propagation-only tracer. Safe once wiring is done (runtimes_ no longer changes).
  std::optional<tracing::BatchStats> stats_for(const tracing::Tracer* tracer) const;
  // Flushes every runtime within what is left until `deadline`; warns when spans were left.
  void shutdown(TimePoint deadline, const Clock& clock, log::Logger& logger);

 private:
  const config::Config& cfg_;
  bool on_;
  tracing::Tracer propagation_only_{{.enabled = false}};
  std::vector<std::unique_ptr<tracing::TracingRuntime>> runtimes_;
};

// The database span of a REST request (OTel db conventions, kind CLIENT), on `tracer`.
api::DbSpanHook db_span_hook(tracing::Tracer& tracer, store::DatabaseTarget db);

}  // namespace taskman::app
