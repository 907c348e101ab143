#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <latch>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tracing/batch_processor.hpp"
#include "tracing/otlp_encode.hpp"
#include "tracing/sampler.hpp"
#include "tracing/settings.hpp"
#include "tracing/trace_context.hpp"
#include "tracing/tracer.hpp"

#include "tracing/tracing_test_support.hpp"

namespace taskman::tracing {
namespace {

using namespace std::chrono_literals;
using namespace taskman::tracing::testing;

// ---------------------------------------------------------------- sampler

SpanContext remote_parent(bool sampled) {
  SpanContext p = *parse_traceparent(std::string_view(kValid));
  p.flags = sampled ? 1 : 0;
  return p;
}

TEST(Sampler, Decisions) {
  const TraceId id = trace_id_with_low(0);
  const auto sampled = remote_parent(true);
  const auto unsampled = remote_parent(false);
  struct Row {
    SamplerKind kind;
    bool root, with_sampled_parent, with_unsampled_parent;
  };
  for (const Row& r : std::vector<Row>{{SamplerKind::kAlwaysOn, true, true, true},
                                       {SamplerKind::kAlwaysOff, false, false, false},
                                       {SamplerKind::kParentBasedAlwaysOn, true, true, false},
                                       {SamplerKind::kParentBasedAlwaysOff, false, true, false}}) {
    Sampler s({r.kind, 1.0});
    EXPECT_EQ(s.should_sample(nullptr, id), r.root) << sampler_kind_name(r.kind);
    EXPECT_EQ(s.should_sample(&sampled, id), r.with_sampled_parent) << sampler_kind_name(r.kind);
    EXPECT_EQ(s.should_sample(&unsampled, id), r.with_unsampled_parent) << sampler_kind_name(r.kind);
  }
  SpanContext invalid;
  EXPECT_FALSE(
      Sampler({SamplerKind::kParentBasedAlwaysOff, 1}).should_sample(&invalid, id));  // no parent: root
}

TEST(Sampler, RatioIsDeterministicOnTheTraceId) {
  Sampler half({SamplerKind::kTraceIdRatio, 0.5});
  EXPECT_TRUE(half.should_sample(nullptr, trace_id_with_low(0)));
  EXPECT_TRUE(
      half.should_sample(nullptr, trace_id_with_low(0x7fffffffffffffffULL)));  // >>1 → just under 2^62
  EXPECT_FALSE(half.should_sample(nullptr, trace_id_with_low(0x8000000000000000ULL)));
  EXPECT_FALSE(half.should_sample(nullptr, trace_id_with_low(~0ULL)));
  // Same id, same answer, whatever the sampler instance.
  const TraceId id = trace_id_with_low(0x5555555555555555ULL);
  EXPECT_EQ(half.should_sample(nullptr, id),
            Sampler({SamplerKind::kTraceIdRatio, 0.5}).should_sample(nullptr, id));
  EXPECT_TRUE(Sampler({SamplerKind::kTraceIdRatio, 1.0}).should_sample(nullptr, trace_id_with_low(~0ULL)));
  EXPECT_FALSE(Sampler({SamplerKind::kTraceIdRatio, 0.0}).should_sample(nullptr, trace_id_with_low(0)));
  // The admitted fraction follows the ratio over evenly spread ids.
  Sampler quarter({SamplerKind::kTraceIdRatio, 0.25});
  int admitted = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    admitted += quarter.should_sample(nullptr, trace_id_with_low(i * (~0ULL / 1000))) ? 1 : 0;
  }
  EXPECT_NEAR(admitted, 250, 2);
  // Parent-based ratio: the parent decides when there is one.
  Sampler pb({SamplerKind::kParentBasedTraceIdRatio, 0.0});
  const auto parent = remote_parent(true);
  EXPECT_TRUE(pb.should_sample(&parent, trace_id_with_low(~0ULL)));
  EXPECT_FALSE(pb.should_sample(nullptr, trace_id_with_low(0)));
}

// ---------------------------------------------------------------- tracer

class CollectingProcessor : public SpanProcessor {
 public:
  void on_end(SpanData&& span) override {
    std::lock_guard lock(mu_);
    spans_.push_back(std::move(span));
  }
  std::vector<SpanData> spans() {
    std::lock_guard lock(mu_);
    return spans_;
  }

 private:
  std::mutex mu_;
  std::vector<SpanData> spans_;
};

TEST(Tracer, ChildSpansShareTheTraceAndRecordEverything) {
  CollectingProcessor processor;
  std::uint64_t now = 1000;
  Tracer tracer({}, &processor, nullptr, [&] { return now; });
  auto parent_ctx = *parse_traceparent(std::string_view(kValid));
  parent_ctx.trace_state = TraceState::parse("congo=x").value();
  {
    Span server = tracer.start_span("GET /api/v1/tasks/{id}", SpanKind::kServer, parent_ctx,
                                    {{"http.request.method", "GET"}, {"server.port", 3001}});
    ASSERT_TRUE(server.is_recording());
    EXPECT_EQ(server.context().trace_id_hex(), kTrace);
    EXPECT_NE(server.context().span_id_hex(), kSpan);
    EXPECT_TRUE(server.context().sampled());
    now = 1500;
    Span db = tracer.start_span("SELECT tasks", SpanKind::kClient, server.context(),
                                {{"db.system.name", "sqlite"}});
    db.set_attribute({"ratio", 0.5});
    db.set_attribute({"cached", false});
    db.set_attribute({"rows", std::size_t{3}});
    db.set_attribute({"rows", 4});  // same key: replaced, not repeated
    db.add_event("retry", {{"attempt", 1}});
    db.set_status(StatusCode::kError, "disk I/O error");
    now = 1800;
    db.end();
    db.set_attribute({"late", true});  // after end: ignored
    server.set_status(StatusCode::kOk);
    server.set_status(StatusCode::kError, "too late");  // Ok is final
    RequestContext rc;
    server.fill(rc);
    EXPECT_EQ(rc.trace_id, kTrace);
    EXPECT_EQ(rc.span_id, server.context().span_id_hex());
    now = 2000;
  }
  const auto spans = processor.spans();
  ASSERT_EQ(spans.size(), 2u);
  const SpanData& db = spans[0];
  const SpanData& server = spans[1];
  EXPECT_EQ(db.trace_id, server.trace_id);
  EXPECT_EQ(db.parent_span_id, server.span_id);
  EXPECT_FALSE(db.parent_remote);
  EXPECT_TRUE(server.parent_remote);
  EXPECT_EQ(to_hex(server.parent_span_id), kSpan);
  EXPECT_EQ(server.trace_state, "congo=x");
  EXPECT_EQ(db.start_unix_nano, 1500u);
  EXPECT_EQ(db.end_unix_nano, 1800u);
  EXPECT_EQ(server.end_unix_nano, 2000u);
  ASSERT_EQ(db.attributes.size(), 4u);
  EXPECT_EQ(db.attributes[0], Attribute("db.system.name", "sqlite"));
  EXPECT_EQ(db.attributes[1], Attribute("ratio", 0.5));
  EXPECT_EQ(db.attributes[2], Attribute("cached", false));
  EXPECT_EQ(db.attributes[3], Attribute("rows", std::int64_t{4}));
  ASSERT_EQ(db.events.size(), 1u);
  EXPECT_EQ(db.events[0].time_unix_nano, 1500u);
  EXPECT_EQ(db.status, StatusCode::kError);
  EXPECT_EQ(db.status_message, "disk I/O error");
  EXPECT_EQ(server.status, StatusCode::kOk);
  EXPECT_EQ(server.status_message, "");
}

TEST(Tracer, UnsampledSpansCarryIdsButAreNotExported) {
  CollectingProcessor processor;
  Tracer tracer({.enabled = true, .sampler = {SamplerKind::kParentBasedAlwaysOn, 1.0}}, &processor);
  auto parent = remote_parent(false);
  {
    Span span = tracer.start_span("x", SpanKind::kServer, parent);
    EXPECT_FALSE(span.is_recording());
    EXPECT_TRUE(span.context().valid());
    EXPECT_FALSE(span.context().sampled());
    EXPECT_EQ(span.context().trace_id_hex(), kTrace);
    EXPECT_EQ(format_traceparent(span.context()).substr(53), "00");
    span.set_attribute({"a", 1});
  }
  EXPECT_TRUE(processor.spans().empty());
}

TEST(Tracer, DisabledTracerRecordsNothingAndPassesTheFlagThrough) {
  CollectingProcessor processor;
  TracerOptions disabled;
  disabled.enabled = false;
  Tracer tracer(disabled, &processor);
  {
    Span a = tracer.start_span("x", SpanKind::kServer, remote_parent(true));
    EXPECT_FALSE(a.is_recording());
    EXPECT_TRUE(a.context().sampled());
    Span b = tracer.start_span("y", SpanKind::kServer);
    EXPECT_TRUE(b.context().valid());
    EXPECT_FALSE(b.context().sampled());
  }
  EXPECT_TRUE(processor.spans().empty());
}

// The OTel API without an SDK: a disabled tracer's span is the parent's context, so what the caller
// sent (trace id, span id, flags, tracestate) is what goes downstream and into the logs.
TEST(Tracer, DisabledTracerKeepsTheParentsContextForPropagation) {
  Tracer tracer({.enabled = false});
  for (bool sampled : {true, false}) {
    SpanContext parent = remote_parent(sampled);
    parent.trace_state.put("vendor", "v1");
    Span span = tracer.start_span("x", SpanKind::kServer, parent);
    EXPECT_FALSE(span.is_recording());
    EXPECT_EQ(span.context().trace_id, parent.trace_id);
    EXPECT_EQ(span.context().span_id, parent.span_id);
    EXPECT_EQ(span.context().sampled(), sampled);
    EXPECT_EQ(format_traceparent(span.context()), format_traceparent(parent));
    EXPECT_EQ(span.context().trace_state.to_header(), "vendor=v1");
    RequestContext ctx;
    span.fill(ctx);
    EXPECT_EQ(ctx.trace_id, parent.trace_id_hex());
    EXPECT_EQ(ctx.span_id, parent.span_id_hex());
  }
  // Enabled but left out by our sampler: nothing recorded, so the caller's context goes on as it came
  // (its span id, its flag — even a sampled one), as when tracing is off.
  Tracer ratio0({.enabled = true, .sampler = {SamplerKind::kTraceIdRatio, 0.0}});
  for (bool sampled : {false, true}) {
    Span unsampled = ratio0.start_span("y", SpanKind::kServer, remote_parent(sampled));
    EXPECT_FALSE(unsampled.is_recording());
    EXPECT_EQ(format_traceparent(unsampled.context()), format_traceparent(remote_parent(sampled)));
  }
  // Without a caller's context a left-out request still gets ids of its own, unsampled.
  Span root = ratio0.start_span("z", SpanKind::kServer, SpanContext{});
  EXPECT_TRUE(root.context().valid());
  EXPECT_FALSE(root.context().sampled());
}

TEST(Tracer, MovedSpanEndsOnce) {
  CollectingProcessor processor;
  Tracer tracer({}, &processor);
  {
    Span a = tracer.start_span("a", SpanKind::kInternal);
    Span b = std::move(a);
    Span c;
    c = std::move(b);
    a.end();
    b.end();
  }
  EXPECT_EQ(processor.spans().size(), 1u);
}

TEST(Tracer, IdsAreUniqueAndNonZeroAcrossThreads) {
  RandomIdGenerator ids;
  std::mutex mu;
  std::set<std::string> seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<std::string> local;
      for (int i = 0; i < 2000; ++i) {
        const auto id = ids.new_trace_id();
        EXPECT_FALSE(is_zero(id));
        local.push_back(to_hex(id));
        EXPECT_FALSE(is_zero(ids.new_span_id()));
      }
      std::lock_guard lock(mu);
      seen.insert(local.begin(), local.end());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), 8000u);
}

TEST(Tracer, DebugPrintsOneJsonLinePerSpan) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  {
    Tracer tracer({.enabled = true, .sampler = {}, .debug_out = out}, nullptr);
    tracer.start_span("one\nline", SpanKind::kInternal, {}, {{"k", "v\"q"}}).end();
    tracer.start_span("two", SpanKind::kClient).end();
  }
  std::rewind(out);
  char buf[4096];
  std::vector<nlohmann::json> lines;
  while (std::fgets(buf, sizeof buf, out)) lines.push_back(nlohmann::json::parse(buf));
  std::fclose(out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["name"], "one\nline");
  EXPECT_EQ(lines[0]["attributes"][0]["value"]["stringValue"], "v\"q");
  EXPECT_EQ(lines[1]["kind"], 3);
}

// ---------------------------------------------------------------- settings

Getenv env_of(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Settings, Defaults) {
  EnvMessages m;
  const auto s = settings_from_env(env_of({}), "taskman-api", "0.1.0", &m);
  EXPECT_TRUE(s.enabled);
  EXPECT_FALSE(s.debug);
  EXPECT_EQ(s.service_name, "taskman-api");
  EXPECT_EQ(s.sampler.kind, SamplerKind::kParentBasedAlwaysOn);
  EXPECT_EQ(s.sampler.ratio, 1.0);
  EXPECT_EQ(s.batch.max_queue_size, 2048u);
  EXPECT_EQ(s.batch.max_export_batch_size, 512u);
  EXPECT_EQ(s.batch.schedule_delay, 5000ms);
  EXPECT_EQ(s.batch.export_timeout, 30000ms);
  EXPECT_EQ(s.otlp.endpoint, "http://localhost:4318/v1/traces");
  EXPECT_EQ(s.otlp.protocol, OtlpProtocol::kHttpProtobuf);
  EXPECT_EQ(s.otlp.compression, OtlpCompression::kNone);
  EXPECT_EQ(s.otlp.timeout, 10000ms);
  EXPECT_TRUE(m.warnings.empty());
  EXPECT_TRUE(m.infos.empty());
}

TEST(Settings, SdkDisabledOnlyByTrue) {
  EXPECT_FALSE(settings_from_env(env_of({{"OTEL_SDK_DISABLED", "TRUE"}}), "x", "").enabled);
  EXPECT_FALSE(settings_from_env(env_of({{"OTEL_SDK_DISABLED", "true"}}), "x", "").enabled);
  EXPECT_TRUE(settings_from_env(env_of({{"OTEL_SDK_DISABLED", "1"}}), "x", "").enabled);
  EXPECT_TRUE(settings_from_env(env_of({{"OTEL_SDK_DISABLED", "yes"}}), "x", "").enabled);
  EXPECT_TRUE(settings_from_env(env_of({{"OTEL_DEBUG", "True"}}), "x", "").debug);
}

TEST(Settings, ServiceNameAndResourceAttributes) {
  auto s =
      settings_from_env(env_of({{"OTEL_RESOURCE_ATTRIBUTES",
                                 "service.name=from%20attrs, deployment.environment=prod%2C1,team=a%3Db"}}),
                        "dflt", "1.2.3");
  EXPECT_EQ(s.service_name, "from attrs");
  ASSERT_EQ(s.resource_attributes.size(), 2u);
  EXPECT_EQ(s.resource_attributes[0], Attribute("deployment.environment", "prod,1"));
  EXPECT_EQ(s.resource_attributes[1], Attribute("team", "a=b"));
  s = settings_from_env(env_of({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=a"}, {"OTEL_SERVICE_NAME", "b"}}),
                        "d", "");
  EXPECT_EQ(s.service_name, "b");  // OTEL_SERVICE_NAME wins
  // One bad escape discards the whole value, service.name included.
  EnvMessages m;
  s = settings_from_env(env_of({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=a,team=b%zz"}}), "d", "", &m);
  EXPECT_EQ(s.service_name, "d");
  EXPECT_TRUE(s.resource_attributes.empty());
  EXPECT_EQ(m.warnings.size(), 1u);
  s = settings_from_env(env_of({{"OTEL_RESOURCE_ATTRIBUTES", "novalue"}}), "d", "");
  EXPECT_TRUE(s.resource_attributes.empty());
  const auto r =
      make_resource(settings_from_env(env_of({{"OTEL_RESOURCE_ATTRIBUTES", "k=v"}}), "svc", "0.1.0"));
  const Attributes expected = {{"service.name", "svc"},
                               {"service.version", "0.1.0"},
                               {"telemetry.sdk.language", "cpp"},
                               {"telemetry.sdk.name", "taskman"},
                               {"telemetry.sdk.version", "0.1.0"},
                               {"k", "v"}};
  EXPECT_EQ(r.attributes, expected);
}

TEST(Settings, SamplerRules) {
  EnvMessages m;
  auto s = settings_from_env(
      env_of({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "0.25"}}), "x", "", &m);
  EXPECT_EQ(s.sampler.kind, SamplerKind::kTraceIdRatio);
  EXPECT_EQ(s.sampler.ratio, 0.25);
  EXPECT_TRUE(m.warnings.empty());
  s = settings_from_env(env_of({{"OTEL_TRACES_SAMPLER", "sometimes"}}), "x", "", &m);
  EXPECT_EQ(s.sampler.kind, SamplerKind::kParentBasedAlwaysOn);
  EXPECT_EQ(m.warnings.size(), 1u);
  for (const char* bad : {"1.5", "-0.1", "half", "0.5x"}) {
    EnvMessages mm;
    s = settings_from_env(
        env_of({{"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", bad}}), "x",
        "", &mm);
    EXPECT_EQ(s.sampler.ratio, 1.0) << bad;
    EXPECT_EQ(mm.warnings.size(), 1u) << bad;
  }
}

TEST(Settings, UnparsableNumbersWarnAndDefault) {
  EnvMessages m;
  const auto s = settings_from_env(env_of({{"OTEL_BSP_MAX_QUEUE_SIZE", "lots"},
                                           {"OTEL_BSP_SCHEDULE_DELAY", "100"},
                                           {"OTEL_BSP_EXPORT_TIMEOUT", "-5"},
                                           {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "12.5"},
                                           {"OTEL_EXPORTER_OTLP_TIMEOUT", "2s"}}),
                                   "x", "", &m);
  EXPECT_EQ(s.batch.max_queue_size, 2048u);
  EXPECT_EQ(s.batch.schedule_delay, 100ms);
  EXPECT_EQ(s.batch.export_timeout, 30000ms);
  EXPECT_EQ(s.batch.max_export_batch_size, 512u);
  EXPECT_EQ(s.otlp.timeout, 10000ms);
  EXPECT_EQ(m.warnings.size(), 4u);
  // An empty value counts as unset: no warning.
  EnvMessages m2;
  (void)settings_from_env(env_of({{"OTEL_BSP_MAX_QUEUE_SIZE", ""}}), "x", "", &m2);
  EXPECT_TRUE(m2.warnings.empty());
}

TEST(Settings, ExporterVariables) {
  EnvMessages m;
  auto s = settings_from_env(env_of({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
                                     {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
                                     {"OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%20ecret, x-tenant = t1"},
                                     {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"}}),
                             "x", "", &m);
  EXPECT_EQ(s.otlp.protocol, OtlpProtocol::kHttpJson);
  EXPECT_EQ(s.otlp.compression, OtlpCompression::kGzip);
  EXPECT_EQ(s.otlp.timeout, 2500ms);
  ASSERT_EQ(s.otlp.headers.size(), 2u);
  EXPECT_EQ(s.otlp.headers[0], (std::pair<std::string, std::string>{"api-key", "s ecret"}));
  EXPECT_EQ(s.otlp.headers[1], (std::pair<std::string, std::string>{"x-tenant", "t1"}));
  EXPECT_TRUE(m.warnings.empty());
  // Signal-specific variables win; bad values warn and keep defaults; secrets are never echoed.
  s = settings_from_env(env_of({{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
                                {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"},
                                {"OTEL_EXPORTER_OTLP_COMPRESSION", "brotli"},
                                {"OTEL_EXPORTER_OTLP_HEADERS", "token=abc%"}}),
                        "x", "", &m);
  EXPECT_EQ(s.otlp.protocol, OtlpProtocol::kHttpJson);
  EXPECT_EQ(s.otlp.compression, OtlpCompression::kNone);
  EXPECT_TRUE(s.otlp.headers.empty());
  ASSERT_EQ(m.warnings.size(), 2u);
  for (const auto& w : m.warnings) EXPECT_EQ(w.find("abc"), std::string::npos) << w;
  // A decoded CR LF must not reach the request: that entry is skipped, the others kept.
  EnvMessages m2;
  s = settings_from_env(env_of({{"OTEL_EXPORTER_OTLP_HEADERS", "a=1,x=evil%0D%0AHost: other,b%20c=2,d=3"}}),
                        "x", "", &m2);
  ASSERT_EQ(s.otlp.headers.size(), 2u);
  EXPECT_EQ(s.otlp.headers[0].first, "a");
  EXPECT_EQ(s.otlp.headers[1].first, "d");
  EXPECT_EQ(m2.warnings.size(), 2u);
}

TEST(Settings, EndpointRules) {
  EXPECT_EQ(resolve_traces_endpoint(std::nullopt, std::nullopt), "http://localhost:4318/v1/traces");
  EXPECT_EQ(resolve_traces_endpoint(std::nullopt, "http://collector:4318"),
            "http://collector:4318/v1/traces");
  EXPECT_EQ(resolve_traces_endpoint(std::nullopt, "http://collector:4318/"),
            "http://collector:4318/v1/traces");
  EXPECT_EQ(resolve_traces_endpoint(std::nullopt, "http://gw/otlp"), "http://gw/otlp/v1/traces");
  std::string info;
  EXPECT_EQ(resolve_traces_endpoint(std::nullopt, "http://localhost:4318/v1/traces", &info),
            "http://localhost:4318/v1/traces");
  EXPECT_NE(info.find("used as it is"), std::string::npos);
  info.clear();
  // The traces endpoint is used exactly as given, whatever its path.
  EXPECT_EQ(resolve_traces_endpoint("http://c:9999/custom", "http://other:4318", &info),
            "http://c:9999/custom");
  EXPECT_EQ(resolve_traces_endpoint("http://c:9999", std::nullopt), "http://c:9999");
  EXPECT_TRUE(info.empty());

  EnvMessages m;
  auto s = settings_from_env(env_of({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318/v1/traces"}}),
                             "x", "", &m);
  EXPECT_EQ(s.otlp.endpoint, "http://localhost:4318/v1/traces");
  EXPECT_EQ(m.infos.size(), 1u);  // said once, at info level
  s = settings_from_env(env_of({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"},
                                {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/x"}}),
                        "x", "");
  EXPECT_EQ(s.otlp.endpoint, "http://t:1/x");
}

TEST(Settings, PercentDecode) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%20b%2c%2C+", out));
  EXPECT_EQ(out, "a b,,+");
  EXPECT_FALSE(percent_decode("a%2", out));
  EXPECT_FALSE(percent_decode("a%", out));
  EXPECT_FALSE(percent_decode("%g0", out));
}

}  // namespace
}  // namespace taskman::tracing

#include "tracing/semconv.hpp"

namespace taskman::tracing {
namespace {

TEST(Semconv, NamesAndStatusRules) {
  EXPECT_EQ(semconv::http_server_span_name("GET", "/api/v1/tasks/{id}"), "GET /api/v1/tasks/{id}");
  EXPECT_EQ(semconv::http_server_span_name("GET", ""), "GET");
  EXPECT_EQ(semconv::mcp_span_name("tools/call", "create_task"), "tools/call create_task");
  EXPECT_EQ(semconv::db_span_name("SELECT", "tasks"), "SELECT tasks");
  CollectingProcessor processor;
  Tracer tracer({}, &processor);
  {
    Span server404 = tracer.start_span("s", SpanKind::kServer);
    semconv::end_http_server_status(server404, 404);
    Span server503 = tracer.start_span("s", SpanKind::kServer);
    semconv::end_http_server_status(server503, 503);
    Span client404 = tracer.start_span("c", SpanKind::kClient);
    semconv::end_http_client_status(client404, 404);
  }
  const auto spans = processor.spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[2].status, StatusCode::kUnset);  // destroyed in reverse order: server404 last
  EXPECT_EQ(spans[2].attributes.size(), 1u);
  EXPECT_EQ(spans[1].status, StatusCode::kError);
  EXPECT_EQ(spans[1].attributes[1], Attribute("error.type", "503"));
  EXPECT_EQ(spans[0].status, StatusCode::kError);
}

}  // namespace
}  // namespace taskman::tracing
