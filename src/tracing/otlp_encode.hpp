#pragma once
// OTLP trace encodings, written directly from the opentelemetry-proto field numbers
// (docs/architecture.md#third-party-parts: no copied .proto files, no protobuf runtime):
// ExportTraceServiceRequest as protobuf wire format and as OTLP/JSON (hex ids, integer enums, lowerCamelCase
// keys, 64-bit integers as decimal strings), plus gzip. Pure functions, thread-safe.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tracing/span_data.hpp"

namespace taskman::tracing {

struct Resource {
  Attributes attributes;  // service.name, service.version, telemetry.sdk.*, OTEL_RESOURCE_ATTRIBUTES
};

struct InstrumentationScope {
  std::string name = "taskman";
  std::string version;
};

// One ResourceSpans with one ScopeSpans holding `spans`.
std::string encode_protobuf(const Resource& resource, const InstrumentationScope& scope,
                            std::span<const SpanData> spans);
std::string encode_json(const Resource& resource, const InstrumentationScope& scope,
                        std::span<const SpanData> spans);
// One Span as an OTLP/JSON object (also the OTEL_DEBUG line format).
void append_span_json(std::string& out, const SpanData& span);

// gzip (RFC 1952) via zlib; nullopt only when zlib fails.
std::optional<std::string> gzip_compress(std::string_view data);
// Accepts gzip or zlib streams; nullopt on corrupt input or when the output would exceed `max_bytes`.
std::optional<std::string> gzip_decompress(std::string_view data, std::size_t max_bytes = 64u << 20);

// ExportTraceServiceResponse.partial_success (OTLP spec "Partial Success"): must not be retried,
// only reported.
struct PartialSuccess {
  std::int64_t rejected_spans = 0;
  std::string error_message;
};
// From a protobuf response body; nullopt when the body holds no partial_success or is malformed.
std::optional<PartialSuccess> decode_partial_success_protobuf(std::string_view body);

}  // namespace taskman::tracing
