#include "tracing/sampler.hpp"

#include <cmath>

namespace taskman::tracing {

std::optional<SamplerKind> parse_sampler_kind(std::string_view name) {
  if (name == "always_on") return SamplerKind::kAlwaysOn;
  if (name == "always_off") return SamplerKind::kAlwaysOff;
  if (name == "traceidratio") return SamplerKind::kTraceIdRatio;
  if (name == "parentbased_always_on") return SamplerKind::kParentBasedAlwaysOn;
  if (name == "parentbased_always_off") return SamplerKind::kParentBasedAlwaysOff;
  if (name == "parentbased_traceidratio") return SamplerKind::kParentBasedTraceIdRatio;
  return std::nullopt;
}

std::string_view sampler_kind_name(SamplerKind kind) {
  switch (kind) {
    case SamplerKind::kAlwaysOn:
      return "always_on";
    case SamplerKind::kAlwaysOff:
      return "always_off";
    case SamplerKind::kTraceIdRatio:
      return "traceidratio";
    case SamplerKind::kParentBasedAlwaysOn:
      return "parentbased_always_on";
    case SamplerKind::kParentBasedAlwaysOff:
      return "parentbased_always_off";
    case SamplerKind::kParentBasedTraceIdRatio:
      return "parentbased_traceidratio";
  }
  return "parentbased_always_on";
}

Sampler::Sampler(SamplerConfig config) : config_(config) {
  double r = config_.ratio;
  if (!(r >= 0.0)) r = 0.0;  // also catches NaN
  if (r > 1.0) r = 1.0;
  config_.ratio = r;
  // TraceIdRatioBased as the Go and Java SDKs do it: the low 8 bytes of the trace id, shifted to 63
  // bits, compared with ratio * 2^63. Ratio 1 admits every id, ratio 0 none.
  ratio_bound_ = static_cast<std::uint64_t>(std::ldexp(r, 63));
}

bool Sampler::sample_root(const TraceId& trace_id) const {
  switch (config_.kind) {
    case SamplerKind::kAlwaysOn:
    case SamplerKind::kParentBasedAlwaysOn:
      return true;
    case SamplerKind::kAlwaysOff:
    case SamplerKind::kParentBasedAlwaysOff:
      return false;
    case SamplerKind::kTraceIdRatio:
    case SamplerKind::kParentBasedTraceIdRatio: {
      std::uint64_t x = 0;
      for (std::size_t i = 8; i < 16; ++i) x = x << 8 | trace_id[i];
      return (x >> 1) < ratio_bound_;
    }
  }
  return true;
}

bool Sampler::should_sample(const SpanContext* parent, const TraceId& trace_id) const {
  const bool parent_based = config_.kind == SamplerKind::kParentBasedAlwaysOn ||
                            config_.kind == SamplerKind::kParentBasedAlwaysOff ||
                            config_.kind == SamplerKind::kParentBasedTraceIdRatio;
  // ParentBased defaults: remote/local parent sampled → sample, not sampled → drop (sdk.md).
  if (parent_based && parent != nullptr && parent->valid()) return parent->sampled();
  return sample_root(trace_id);
}

}  // namespace taskman::tracing
