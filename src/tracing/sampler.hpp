#pragma once
// Head sampling per the OpenTelemetry SDK spec (trace/sdk.md "Sampling"): the built-in samplers
// selected by OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG. Pure and thread-safe.
#include <optional>
#include <string_view>

#include "tracing/trace_context.hpp"

namespace taskman::tracing {

enum class SamplerKind {
  kAlwaysOn,
  kAlwaysOff,
  kTraceIdRatio,
  kParentBasedAlwaysOn,  // the default (sdk-environment-variables)
  kParentBasedAlwaysOff,
  kParentBasedTraceIdRatio,
};

struct SamplerConfig {
  SamplerKind kind = SamplerKind::kParentBasedAlwaysOn;
  double ratio = 1.0;  // for the *traceidratio kinds, in [0, 1]
};

// "always_on", "parentbased_traceidratio", ... (case-sensitive as in the spec); nullopt otherwise.
std::optional<SamplerKind> parse_sampler_kind(std::string_view name);
std::string_view sampler_kind_name(SamplerKind kind);

class Sampler {
 public:
  explicit Sampler(SamplerConfig config = {});
  // `parent` is null or invalid for a root span. The ratio decision depends only on the trace id, so
  // every service sampling the same trace at the same ratio agrees.
  bool should_sample(const SpanContext* parent, const TraceId& trace_id) const;
  const SamplerConfig& config() const { return config_; }

 private:
  bool sample_root(const TraceId& trace_id) const;
  SamplerConfig config_;
  std::uint64_t ratio_bound_ = 0;
};

}  // namespace taskman::tracing
