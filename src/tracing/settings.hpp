#pragma once
// Tracing configuration as a plain struct (the lead's config layer fills it), plus the OpenTelemetry
// environment rules (sdk-environment-variables.md, protocol/exporter.md) for whoever reads OTEL_*
// directly. Pure functions; problems come back as messages for the caller to log.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tracing/batch_processor.hpp"
#include "tracing/otlp_encode.hpp"
#include "tracing/sampler.hpp"

namespace taskman::tracing {

// docs/observability.md#sampling-and-export: the seed's default already holds the signal path.
inline constexpr std::string_view kDefaultTracesEndpoint = "http://localhost:4318/v1/traces";
inline constexpr std::string_view kTracesPath = "/v1/traces";

enum class OtlpProtocol { kHttpProtobuf, kHttpJson };
enum class OtlpCompression { kNone, kGzip };

struct OtlpSettings {
  std::string endpoint = std::string(kDefaultTracesEndpoint);  // full URL of the traces endpoint
  OtlpProtocol protocol = OtlpProtocol::kHttpProtobuf;
  OtlpCompression compression = OtlpCompression::kNone;
  std::vector<std::pair<std::string, std::string>> headers;  // extra request headers (auth, tenant)
  std::chrono::milliseconds timeout{10000};                  // one HTTP attempt (OTEL_EXPORTER_OTLP_TIMEOUT)
  // https:// only (exporter.md "Configuration Options"); empty: the system store, no client certificate.
  std::string certificate_file;         // OTEL_EXPORTER_OTLP_CERTIFICATE: trusted CAs (PEM)
  std::string client_certificate_file;  // OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE (PEM chain)
  std::string client_key_file;          // OTEL_EXPORTER_OTLP_CLIENT_KEY (PEM)
};

struct TracingSettings {
  bool enabled = true;         // false: OTEL_SDK_DISABLED=true (or the seed's ENABLE_TRACING=false)
  bool export_enabled = true;  // false: spans are recorded (for OTEL_DEBUG) but never sent
  bool debug = false;          // OTEL_DEBUG: each finished span as one JSON line on stderr
  std::string service_name;    // resolved: OTEL_SERVICE_NAME > OTEL_RESOURCE_ATTRIBUTES > default
  std::string service_version;
  Attributes resource_attributes;  // from OTEL_RESOURCE_ATTRIBUTES (service.name removed)
  SamplerConfig sampler;
  BatchOptions batch;
  OtlpSettings otlp;
};

struct EnvMessages {
  std::vector<std::string> warnings;  // bad values that fell back to a default
  std::vector<std::string> infos;     // noteworthy interpretations (the /v1/traces rule)
};

using Getenv = std::function<std::optional<std::string>(std::string_view)>;
// A Getenv over the real process environment.
std::optional<std::string> process_getenv(std::string_view name);

// Applies the OTel environment rules: unparsable numbers and unknown enum values warn and keep the
// default; signal-specific OTEL_EXPORTER_OTLP_TRACES_* win over the generic ones. Empty values count
// as unset (sdk-environment-variables.md "Parsing empty value").
TracingSettings settings_from_env(const Getenv& getenv, std::string default_service_name,
                                  std::string service_version, EnvMessages* messages = nullptr);

// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as-is; otherwise OTEL_EXPORTER_OTLP_ENDPOINT gets
// "/v1/traces" appended -- unless it already ends in "/v1/traces", which is then used as it is and
// reported once through `info` (docs/observability.md#sampling-and-export: the seed's default carries the
// path); neither → default.
std::string resolve_traces_endpoint(std::optional<std::string_view> traces_endpoint,
                                    std::optional<std::string_view> endpoint, std::string* info = nullptr);

// "k=v,k2=v2" with percent-encoded keys and values (W3C baggage octets). Any malformed member or
// escape discards the whole value (sdk.md Resource "Specifying resource information via an
// environment variable"): nullopt.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_key_value_list(std::string_view s);

// Percent-decodes (no '+' rule); false on a malformed escape.
bool percent_decode(std::string_view s, std::string& out);

// Strict decimal integer ("5000"); nullopt otherwise.
std::optional<long long> parse_integer(std::string_view s);

// The Resource the exporter sends: service.name, service.version, telemetry.sdk.{language,name,
// version}, then the rest of OTEL_RESOURCE_ATTRIBUTES.
Resource make_resource(const TracingSettings& settings);

}  // namespace taskman::tracing
