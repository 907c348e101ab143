#include "tracing/settings.hpp"

#include <charconv>
#include <cstdlib>

#include "core/text.hpp"

namespace taskman::tracing {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> non_empty(const Getenv& getenv, std::string_view name) {
  auto v = getenv(name);
  if (v && trim(*v).empty()) return std::nullopt;
  return v;
}

// A millisecond or count variable: unset → default; not a non-negative integer → warn, default.
long long read_number(const Getenv& getenv, std::string_view name, long long fallback, long long min_value,
                      EnvMessages* m) {
  const auto v = non_empty(getenv, name);
  if (!v) return fallback;
  const auto n = parse_integer(trim(*v));
  if (!n || *n < min_value) {
    if (m) {
      m->warnings.push_back(std::string(name) + "=\"" + *v + "\" is not an integer >= " +
                            std::to_string(min_value) + "; using the default " + std::to_string(fallback));
    }
    return fallback;
  }
  return *n;
}

// RFC 9110 §5.1 (field-name is a token) and §5.5 (field-value: visible characters, SP, HTAB, obs-text).
bool valid_header_field(std::string_view name, std::string_view value) {
  static constexpr std::string_view kTokenPunct = "!#$%&'*+-.^_`|~";
  if (name.empty()) return false;
  for (char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && kTokenPunct.find(c) == std::string_view::npos) return false;
  }
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> process_getenv(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

bool percent_decode(std::string_view s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return false;  // a '%' needs two hex digits after it
    const int hi = hex_digit(s[i + 1]);
    const int lo = hex_digit(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi << 4 | lo);
    i += 2;
  }
  return true;
}

std::optional<long long> parse_integer(std::string_view s) {
  long long v = 0;
  if (s.empty()) return std::nullopt;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_key_value_list(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    const auto comma = s.find(',', pos);
    const auto end = comma == std::string_view::npos ? s.size() : comma;
    const std::string_view member = trim(s.substr(pos, end - pos));
    pos = end + 1;
    if (member.empty()) continue;
    const auto eq = member.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string key;
    std::string value;
    if (!percent_decode(trim(member.substr(0, eq)), key) || key.empty()) return std::nullopt;
    if (!percent_decode(trim(member.substr(eq + 1)), value)) return std::nullopt;
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

std::string resolve_traces_endpoint(std::optional<std::string_view> traces_endpoint,
                                    std::optional<std::string_view> endpoint, std::string* info) {
  if (traces_endpoint && !trim(*traces_endpoint).empty()) return std::string(trim(*traces_endpoint));
  if (!endpoint || trim(*endpoint).empty()) return std::string(kDefaultTracesEndpoint);
  std::string base(trim(*endpoint));
  std::string_view without_slash = base;
  while (without_slash.ends_with('/')) without_slash.remove_suffix(1);
  if (without_slash.ends_with(kTracesPath)) {
    if (info) {
      *info = "OTEL_EXPORTER_OTLP_ENDPOINT=" + base +
              " already ends in /v1/traces: used as it is (no second /v1/traces appended)";
    }
    return base;
  }
  // exporter.md "Endpoint URLs for OTLP/HTTP": append the signal path, with exactly one '/'.
  return std::string(without_slash) + std::string(kTracesPath);
}

TracingSettings settings_from_env(const Getenv& getenv, std::string default_service_name,
                                  std::string service_version, EnvMessages* m) {
  TracingSettings s;
  s.service_version = std::move(service_version);

  if (const auto v = non_empty(getenv, "OTEL_SDK_DISABLED")) {
    s.enabled = !iequals(trim(*v), "true");  // only a case-insensitive "true" disables
  }
  if (const auto v = non_empty(getenv, "OTEL_DEBUG")) s.debug = iequals(trim(*v), "true");

  // Resource: OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES.
  std::optional<std::string> attr_service_name;
  if (const auto v = non_empty(getenv, "OTEL_RESOURCE_ATTRIBUTES")) {
    if (auto kvs = parse_key_value_list(*v)) {
      for (auto& [k, val] : *kvs) {
        if (k == "service.name") {
          attr_service_name = val;
          continue;
        }
        bool replaced = false;
        for (auto& a : s.resource_attributes) {
          if (a.key == k) {
            a.value = val;
            replaced = true;
          }
        }
        if (!replaced) s.resource_attributes.emplace_back(k, std::move(val));
      }
    } else if (m) {
      m->warnings.push_back(
          "OTEL_RESOURCE_ATTRIBUTES is not a valid percent-encoded k=v list; ignored whole");
    }
  }
  if (const auto v = non_empty(getenv, "OTEL_SERVICE_NAME")) {
    s.service_name = std::string(trim(*v));
  } else if (attr_service_name && !attr_service_name->empty()) {
    s.service_name = *attr_service_name;
  } else {
    s.service_name = std::move(default_service_name);
  }

  // Sampler.
  if (const auto v = non_empty(getenv, "OTEL_TRACES_SAMPLER")) {
    if (auto kind = parse_sampler_kind(trim(*v))) {
      s.sampler.kind = *kind;
    } else if (m) {
      m->warnings.push_back("OTEL_TRACES_SAMPLER=\"" + *v +
                            "\" is not a known sampler; using parentbased_always_on");
    }
  }
  if (const auto v = non_empty(getenv, "OTEL_TRACES_SAMPLER_ARG")) {
    const bool uses_ratio = s.sampler.kind == SamplerKind::kTraceIdRatio ||
                            s.sampler.kind == SamplerKind::kParentBasedTraceIdRatio;
    const std::string text(trim(*v));
    double ratio = -1;
    char* end = nullptr;
    ratio = std::strtod(text.c_str(), &end);
    const bool parsed = end != nullptr && *end == '\0' && !text.empty();
    if (uses_ratio) {
      if (parsed && ratio >= 0.0 && ratio <= 1.0) {
        s.sampler.ratio = ratio;
      } else if (m) {
        m->warnings.push_back("OTEL_TRACES_SAMPLER_ARG=\"" + *v + "\" is not a ratio in [0, 1]; using 1.0");
      }
    }
  }

  // Batch span processor.
  s.batch.max_queue_size = static_cast<std::size_t>(
      read_number(getenv, "OTEL_BSP_MAX_QUEUE_SIZE", static_cast<long long>(s.batch.max_queue_size), 1, m));
  s.batch.max_export_batch_size = static_cast<std::size_t>(read_number(
      getenv, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", static_cast<long long>(s.batch.max_export_batch_size), 1, m));
  if (s.batch.max_export_batch_size > s.batch.max_queue_size) {
    if (m)
      m->warnings.push_back("OTEL_BSP_MAX_EXPORT_BATCH_SIZE exceeds OTEL_BSP_MAX_QUEUE_SIZE; clamped to it");
    s.batch.max_export_batch_size = s.batch.max_queue_size;
  }
  s.batch.schedule_delay = std::chrono::milliseconds(
      read_number(getenv, "OTEL_BSP_SCHEDULE_DELAY", s.batch.schedule_delay.count(), 0, m));
  s.batch.export_timeout = std::chrono::milliseconds(
      read_number(getenv, "OTEL_BSP_EXPORT_TIMEOUT", s.batch.export_timeout.count(), 1, m));

  // Exporter: signal-specific variables first (exporter.md "Configuration Options").
  auto pick = [&](std::string_view specific,
                  std::string_view generic) -> std::pair<std::optional<std::string>, std::string_view> {
    if (auto v = non_empty(getenv, specific)) return {v, specific};
    return {non_empty(getenv, generic), generic};
  };
  {
    std::string info;
    const auto traces = non_empty(getenv, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    const auto generic = non_empty(getenv, "OTEL_EXPORTER_OTLP_ENDPOINT");
    s.otlp.endpoint =
        resolve_traces_endpoint(traces ? std::optional<std::string_view>(*traces) : std::nullopt,
                                generic ? std::optional<std::string_view>(*generic) : std::nullopt, &info);
    if (!info.empty() && m) m->infos.push_back(std::move(info));
  }
  if (auto [v, name] = pick("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"); v) {
    const auto p = trim(*v);
    if (p == "http/protobuf") {
      s.otlp.protocol = OtlpProtocol::kHttpProtobuf;
    } else if (p == "http/json") {
      s.otlp.protocol = OtlpProtocol::kHttpJson;
    } else if (m) {
      m->warnings.push_back(std::string(name) + "=\"" + *v +
                            "\" is not supported (http/protobuf | http/json); using http/protobuf");
    }
  }
  if (auto [v, name] = pick("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"); v) {
    const auto c = trim(*v);
    if (iequals(c, "gzip")) {
      s.otlp.compression = OtlpCompression::kGzip;
    } else if (iequals(c, "none")) {
      s.otlp.compression = OtlpCompression::kNone;
    } else if (m) {
      m->warnings.push_back(std::string(name) + "=\"" + *v + "\" is not supported (gzip | none); using none");
    }
  }
  {
    const auto [v, name] = pick("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT");
    s.otlp.timeout = std::chrono::milliseconds(read_number(getenv, name, s.otlp.timeout.count(), 1, m));
    (void)v;
  }
  // TLS files: existence and readability are checked by the config layer, before start-up.
  if (auto [v, name] = pick("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"); v) {
    s.otlp.certificate_file = std::string(trim(*v));
  }
  if (auto [v, name] =
          pick("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE");
      v) {
    s.otlp.client_certificate_file = std::string(trim(*v));
  }
  if (auto [v, name] = pick("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY"); v) {
    s.otlp.client_key_file = std::string(trim(*v));
  }
  if (auto [v, name] = pick("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"); v) {
    if (auto kvs = parse_key_value_list(*v)) {
      for (auto& [key, value] : *kvs) {
        if (valid_header_field(key, value)) {
          s.otlp.headers.emplace_back(std::move(key), std::move(value));
        } else if (m) {
          // A decoded CR/LF would otherwise split the request (header injection): drop the entry.
          m->warnings.push_back(std::string(name) + ": header \"" + key +
                                "\" is not a valid HTTP field; skipped");
        }
      }
    } else if (m) {
      // The value may hold secrets (auth tokens): never echo it.
      m->warnings.push_back(std::string(name) +
                            " is not a valid percent-encoded k=v list; no extra headers sent");
    }
  }
  return s;
}

Resource make_resource(const TracingSettings& settings) {
  Resource r;
  r.attributes.emplace_back("service.name", settings.service_name);
  if (!settings.service_version.empty())
    r.attributes.emplace_back("service.version", settings.service_version);
  r.attributes.emplace_back("telemetry.sdk.language", "cpp");
  r.attributes.emplace_back("telemetry.sdk.name", "taskman");  // our own SDK, not opentelemetry-cpp
  if (!settings.service_version.empty())
    r.attributes.emplace_back("telemetry.sdk.version", settings.service_version);
  for (const auto& a : settings.resource_attributes) {
    if (a.key == "service.name") continue;
    bool taken = false;
    for (const auto& have : r.attributes) taken = taken || have.key == a.key;
    // OTEL_RESOURCE_ATTRIBUTES may set service.version etc.; the SDK's own values come first.
    if (!taken) r.attributes.push_back(a);
  }
  return r;
}

}  // namespace taskman::tracing
