#include "app/tracing_setup.hpp"

#include <algorithm>
#include <mutex>

#include "app/version.hpp"
#include "tracing/semconv.hpp"
#include "tracing/settings.hpp"

namespace taskman::app {

TracingSetup::TracingSetup(const config::Config& cfg, metrics::Metrics* registry)
    : cfg_(cfg), on_(cfg.boolean("ENABLE_TRACING") || cfg.boolean("OTEL_DEBUG")) {
  if (!on_ || registry == nullptr) return;
  // Both services serve /metrics from one registry, so two scrapes may run this hook at once on
  // different I/O threads: the mutex keeps the read-delta-store of last_* whole (otherwise a delta
  // is counted twice, or goes "negative" and wraps to a huge increment).
  registry->add_scrape_hook([runtimes = &runtimes_, mu = std::make_shared<std::mutex>(),
                             last_exported = std::uint64_t{0},
                             last_dropped = std::uint64_t{0}](metrics::Metrics& m) mutable {
    std::lock_guard lock(*mu);
    std::uint64_t exported = 0, dropped = 0;
    for (const auto& rt : *runtimes) {
      const auto st = rt->stats();
      exported += st.spans_exported;
      // The family's help says "queue full or export failed": spans in a batch the exporter gave up
      // on are as lost as those a full queue refused, and a dead collector is the case to alert on.
      dropped += st.spans_dropped + st.spans_export_failed;
    }
    m.spans_exported(exported - last_exported);
    m.spans_dropped(dropped - last_dropped);
    last_exported = exported;
    last_dropped = dropped;
  });
}

tracing::Tracer* TracingSetup::make_tracer(const std::string& service, log::Logger& logger) {
  if (!on_) return &propagation_only_;
  tracing::EnvMessages msgs;
  auto settings = tracing::settings_from_env([this](std::string_view n) { return cfg_.raw(n); }, service,
                                             version(), &msgs);
  settings.export_enabled = settings.export_enabled && cfg_.boolean("ENABLE_TRACING");
  settings.debug = cfg_.boolean("OTEL_DEBUG");
  for (const auto& m : msgs.infos) logger.info("tracing configuration", {{"note", m}});
  for (const auto& m : msgs.warnings) logger.warn("tracing configuration", {{"problem", m}});
  runtimes_.push_back(tracing::TracingRuntime::create(settings, logger));
  return &runtimes_.back()->tracer();
}

std::optional<tracing::BatchStats> TracingSetup::stats_for(const tracing::Tracer* tracer) const {
  for (const auto& rt : runtimes_) {
    if (&rt->tracer() == tracer) return rt->stats();
  }
  return std::nullopt;
}

void TracingSetup::shutdown(TimePoint deadline, const Clock& clock, log::Logger& logger) {
  for (auto& rt : runtimes_) {
    const auto left = std::max(std::chrono::milliseconds(0),
                               std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.now()));
    if (!rt->shutdown(left)) logger.warn("tracing: not every span was exported before the shutdown bound");
  }
}

api::DbSpanHook db_span_hook(tracing::Tracer& tracer, store::DatabaseTarget db) {
  return [tracer = &tracer, db = std::move(db)](const RequestContext& ctx, const char* op,
                                                const char* collection) {
    namespace sc = tracing::semconv;
    auto span = std::make_shared<tracing::Span>(tracer->start_span(
        sc::db_span_name(op, collection), tracing::SpanKind::kClient, tracing::parent_of(ctx),
        {{sc::kDbSystemName, db.engine},
         {sc::kDbOperationName, op},
         {sc::kDbCollectionName, collection},
         {sc::kDbNamespace, db.name},
         {sc::kRequestId, ctx.request_id}}));
    return std::function<void(bool)>([span](bool ok) {
      if (!ok) span->set_status(tracing::StatusCode::kError, "database error");
      span->end();
    });
  };
}

}  // namespace taskman::app
