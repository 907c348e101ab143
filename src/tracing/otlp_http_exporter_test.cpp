// The OTLP/HTTP exporter against a loopback receiver built on the in-tree http::Server: protocol
// headers, gzip, JSON, retries (Retry-After, backoff) and the statuses that must not be retried.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "http/server.hpp"
#include "log/log.hpp"
#include "tracing/otlp_http_exporter.hpp"
#include "tracing/runtime.hpp"

namespace taskman::tracing {
namespace {

using namespace std::chrono_literals;

struct Received {
  std::string content_type;
  std::string content_encoding;
  std::string user_agent;
  std::string api_key;
  std::string body;
};

struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// A fake collector: POST /v1/traces answers from a script (then 200), recording each request.
class Receiver {
 public:
  Receiver() {
    http::Router router;
    router.add_sync("POST", "/v1/traces", [this](http::Request& req) {
      std::lock_guard lock(mu_);
      Received r;
      r.content_type = std::string(req.headers.get("Content-Type").value_or(""));
      r.content_encoding = std::string(req.headers.get("Content-Encoding").value_or(""));
      r.user_agent = std::string(req.headers.get("User-Agent").value_or(""));
      r.api_key = std::string(req.headers.get("api-key").value_or(""));
      r.body = req.body;
      received_.push_back(std::move(r));
      Reply reply;
      if (!script_.empty()) {
        reply = script_.front();
        script_.pop_front();
      }
      http::Response resp;
      resp.status = reply.status;
      resp.body = reply.body;
      for (auto& [k, v] : reply.headers) resp.headers.set(k, v);
      if (!resp.headers.get("Content-Type")) resp.headers.set("Content-Type", "application/x-protobuf");
      return resp;
    });
    server_ = std::make_unique<http::Server>(pool_, http::ServerOptions{}, std::move(router), logger_);
    server_->start();
    pool_.start();
  }
  ~Receiver() { pool_.stop(); }

  void script(std::vector<Reply> replies) {
    std::lock_guard lock(mu_);
    script_.assign(replies.begin(), replies.end());
  }
  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1/traces";
  }

 private:
  log::Sink sink_{stderr, log::Level::kError, log::Format::kJson};
  log::Logger logger_{"receiver", sink_};
  http::IoPool pool_{1};
  std::unique_ptr<http::Server> server_;
  std::mutex mu_;  // guards script_ and received_ (the handler runs on the I/O thread)
  std::deque<Reply> script_;
  std::vector<Received> received_;
};

std::vector<SpanData> sample_batch() {
  SpanData s;
  from_hex("4bf92f3577b34da6a3ce929d0e0e4736", s.trace_id);
  from_hex("00f067aa0ba902b7", s.span_id);
  s.name = "GET /api/v1/tasks/{id}";
  s.kind = SpanKind::kServer;
  s.start_unix_nano = 1;
  s.end_unix_nano = 2;
  s.attributes = {{"http.response.status_code", 200}};
  return {s};
}

class ExporterTest : public ::testing::Test {
 protected:
  std::unique_ptr<OtlpHttpExporter> make(OtlpSettings settings, RetryPolicy retry = {}) {
    if (settings.endpoint == kDefaultTracesEndpoint) settings.endpoint = receiver_.endpoint();
    ExporterHooks hooks;
    hooks.wait = [this](std::chrono::milliseconds d) {
      waits_.push_back(d);  // no real waiting: the test checks the requested delays
      return true;
    };
    hooks.random01 = [] { return 0.0; };
    hooks.wall_now = [] {
      return std::chrono::system_clock::from_time_t(784111777);
    };  // 06 Nov 1994 08:49:37
    auto e = OtlpHttpExporter::create(std::move(settings), Resource{{{"service.name", "test"}}},
                                      {"taskman", "9.9"}, &logger_, retry, hooks);
    EXPECT_TRUE(e.ok());
    return std::move(e.value());
  }
  ExportResult export_once(OtlpHttpExporter& e, std::chrono::milliseconds budget = 10s) {
    auto batch = sample_batch();
    return e.export_spans(batch, std::chrono::steady_clock::now() + budget);
  }

  Receiver receiver_;
  log::Sink sink_{stderr, log::Level::kError, log::Format::kJson};
  log::Logger logger_{"exporter-test", sink_};
  std::vector<std::chrono::milliseconds> waits_;
};

TEST_F(ExporterTest, ProtobufWithGzipAndConfiguredHeaders) {
  OtlpSettings s;
  s.compression = OtlpCompression::kGzip;
  s.headers = {{"api-key", "secret"}};
  auto e = make(s);
  EXPECT_EQ(export_once(*e), ExportResult::kSuccess);
  const auto got = receiver_.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].content_type, "application/x-protobuf");
  EXPECT_EQ(got[0].content_encoding, "gzip");
  EXPECT_EQ(got[0].api_key, "secret");
  EXPECT_EQ(got[0].user_agent, "taskman-otlp-exporter/9.9");
  const auto plain = gzip_decompress(got[0].body);
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain,
            encode_protobuf(Resource{{{"service.name", "test"}}}, {"taskman", "9.9"}, sample_batch()));
  EXPECT_TRUE(waits_.empty());
}

TEST_F(ExporterTest, JsonWithoutCompression) {
  OtlpSettings s;
  s.protocol = OtlpProtocol::kHttpJson;
  auto e = make(s);
  EXPECT_EQ(export_once(*e), ExportResult::kSuccess);
  const auto got = receiver_.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(got[0].content_encoding, "");
  const auto j = nlohmann::json::parse(got[0].body);
  EXPECT_EQ(j["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"],
            "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST_F(ExporterTest, RetriesServiceUnavailableHonouringRetryAfterSeconds) {
  receiver_.script(
      {{503, {{"Retry-After", "2"}}, ""}, {429, {{"Retry-After", "Sun, 06 Nov 1994 08:49:40 GMT"}}, ""}});
  auto e = make({});
  EXPECT_EQ(export_once(*e), ExportResult::kSuccess);
  EXPECT_EQ(receiver_.received().size(), 3u);
  // 2 s from delay-seconds, 3 s from the HTTP-date relative to the injected wall clock.
  EXPECT_EQ(waits_, (std::vector<std::chrono::milliseconds>{2000ms, 3000ms}));
  // The same bytes were resent.
  const auto got = receiver_.received();
  EXPECT_EQ(got[0].body, got[2].body);
}

TEST_F(ExporterTest, BackoffGrowsWithoutRetryAfter) {
  receiver_.script({{502, {}, ""}, {504, {}, ""}, {503, {}, ""}});
  auto e = make({}, RetryPolicy{5, 100ms, 300ms});
  EXPECT_EQ(export_once(*e), ExportResult::kSuccess);
  EXPECT_EQ(receiver_.received().size(), 4u);
  // jitter 0 → half of 100, 200, then the 300 cap.
  EXPECT_EQ(waits_, (std::vector<std::chrono::milliseconds>{50ms, 100ms, 150ms}));
}

TEST_F(ExporterTest, NeverRetriesBadRequest) {
  receiver_.script({{400, {}, ""}});
  auto e = make({});
  EXPECT_EQ(export_once(*e), ExportResult::kFailure);
  EXPECT_EQ(receiver_.received().size(), 1u);
  EXPECT_TRUE(waits_.empty());
}

TEST_F(ExporterTest, OtherClientErrorsAreNotRetriedEither) {
  receiver_.script({{401, {}, ""}, {500, {}, ""}});
  auto e = make({});
  EXPECT_EQ(export_once(*e), ExportResult::kFailure);
  EXPECT_EQ(export_once(*e), ExportResult::kFailure);
  EXPECT_EQ(receiver_.received().size(), 2u);
  EXPECT_TRUE(waits_.empty());
}

TEST_F(ExporterTest, GivesUpAfterMaxAttempts) {
  receiver_.script({{503, {}, ""}, {503, {}, ""}, {503, {}, ""}, {503, {}, ""}});
  auto e = make({}, RetryPolicy{3, 1ms, 1ms});
  EXPECT_EQ(export_once(*e), ExportResult::kFailure);
  EXPECT_EQ(receiver_.received().size(), 3u);
  EXPECT_EQ(waits_.size(), 2u);
}

TEST_F(ExporterTest, RetryAfterBeyondTheExportDeadlineFailsAtOnce) {
  receiver_.script({{503, {{"Retry-After", "60"}}, ""}});
  auto e = make({});
  EXPECT_EQ(export_once(*e, 2s), ExportResult::kFailure);
  EXPECT_EQ(receiver_.received().size(), 1u);
  EXPECT_TRUE(waits_.empty());
}

TEST_F(ExporterTest, PartialSuccessIsNotRetried) {
  receiver_.script({{200,
                     {},
                     std::string("\x0a\x07\x08\x01\x12\x03"
                                 "bad",
                                 9)}});
  auto e = make({});
  EXPECT_EQ(export_once(*e), ExportResult::kSuccess);
  EXPECT_EQ(receiver_.received().size(), 1u);
}

TEST_F(ExporterTest, UnreachableCollectorIsRetriedThenFails) {
  OtlpSettings s;
  s.endpoint = "http://127.0.0.1:1/v1/traces";  // port 1: nothing listens (connection refused)
  auto e = make(s, RetryPolicy{2, 1ms, 1ms});
  EXPECT_EQ(export_once(*e), ExportResult::kFailure);
  EXPECT_EQ(waits_.size(), 1u);
}

TEST_F(ExporterTest, CancelStopsRetrying) {
  receiver_.script({{503, {}, ""}, {503, {}, ""}});
  OtlpSettings s;
  s.endpoint = receiver_.endpoint();
  ExporterHooks hooks;
  OtlpHttpExporter* raw = nullptr;
  hooks.wait = [&](std::chrono::milliseconds) {
    raw->cancel();  // shutdown's deadline passed while waiting to retry
    return true;
  };
  auto e = OtlpHttpExporter::create(s, {}, {}, nullptr, RetryPolicy{5, 1ms, 1ms}, hooks);
  ASSERT_TRUE(e.ok());
  raw = e.value().get();
  auto batch = sample_batch();
  EXPECT_EQ(raw->export_spans(batch, std::chrono::steady_clock::now() + 10s), ExportResult::kFailure);
  EXPECT_EQ(receiver_.received().size(), 1u);
}

// exporter.md: the signal-specific TLS files win over the generic ones; unset means none.
TEST(OtlpTlsSettings, TracesFormWins) {
  auto env = [](std::map<std::string, std::string> vars) {
    return [vars](std::string_view n) -> std::optional<std::string> {
      auto it = vars.find(std::string(n));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  };
  const auto s = settings_from_env(env({{"OTEL_EXPORTER_OTLP_CERTIFICATE", "/generic/ca.pem"},
                                        {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/traces/ca.pem"},
                                        {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/generic/client.pem"},
                                        {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/traces/client.key"}}),
                                   "x", "");
  EXPECT_EQ(s.otlp.certificate_file, "/traces/ca.pem");
  EXPECT_EQ(s.otlp.client_certificate_file, "/generic/client.pem");
  EXPECT_EQ(s.otlp.client_key_file, "/traces/client.key");
  const auto none = settings_from_env(env({}), "x", "");
  EXPECT_TRUE(none.otlp.certificate_file.empty());
  EXPECT_TRUE(none.otlp.client_certificate_file.empty());
}

TEST(OtlpHttpExporter, RejectsEndpointsTheClientCannotUse) {
  OtlpSettings https;
  https.endpoint = "https://collector:4318/v1/traces";
  EXPECT_TRUE(OtlpHttpExporter::create(https, {}, {}, nullptr).ok())
      << "https verifies against the system store";
  https.certificate_file = "/nonexistent/ca.pem";
  auto missing_ca = OtlpHttpExporter::create(https, {}, {}, nullptr);
  ASSERT_FALSE(missing_ca.ok());
  EXPECT_NE(missing_ca.error().message.find("/nonexistent/ca.pem"), std::string::npos)
      << missing_ca.error().message;
  OtlpSettings no_scheme;
  no_scheme.endpoint = "collector:4318";
  EXPECT_FALSE(OtlpHttpExporter::create(no_scheme, {}, {}, nullptr).ok());
}

TEST(RetryAfter, SecondsAndHttpDates) {
  const auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("120", now), 120000ms);
  EXPECT_EQ(parse_retry_after(" 0 ", now), 0ms);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), 10000ms);
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:47 GMT", now), 10000ms);
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:47 1994", now), 10000ms);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), 0ms);  // in the past
  EXPECT_FALSE(parse_retry_after("-1", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("1.5", now));
  EXPECT_TRUE(is_retryable_status(429));
  EXPECT_TRUE(is_retryable_status(502));
  EXPECT_TRUE(is_retryable_status(503));
  EXPECT_TRUE(is_retryable_status(504));
  EXPECT_FALSE(is_retryable_status(400));
  EXPECT_FALSE(is_retryable_status(500));
}

TEST(TracingRuntime, ExportsThroughTheBatchProcessorAndFlushesOnShutdown) {
  Receiver receiver;
  log::Sink sink{stderr, log::Level::kError, log::Format::kJson};
  log::Logger logger{"runtime-test", sink};
  TracingSettings settings;
  settings.service_name = "taskman-api";
  settings.service_version = "0.1.0";
  settings.otlp.endpoint = receiver.endpoint();
  settings.otlp.protocol = OtlpProtocol::kHttpJson;
  settings.batch.schedule_delay = std::chrono::hours(1);  // only shutdown sends
  auto rt = TracingRuntime::create(settings, logger);
  {
    Span root = rt->tracer().start_span("GET /health", SpanKind::kServer);
    rt->tracer().start_span("child", SpanKind::kInternal, root.context()).end();
  }
  EXPECT_TRUE(rt->shutdown(10s));
  const auto stats = rt->stats();
  EXPECT_EQ(stats.spans_exported, 2u);
  EXPECT_EQ(stats.spans_dropped, 0u);
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  const auto j = nlohmann::json::parse(got[0].body);
  const auto& rs = j["resourceSpans"][0];
  EXPECT_EQ(rs["resource"]["attributes"][0]["value"]["stringValue"], "taskman-api");
  EXPECT_EQ(rs["scopeSpans"][0]["spans"].size(), 2u);
}

TEST(TracingRuntime, DisabledSdkExportsNothing) {
  log::Sink sink{stderr, log::Level::kError, log::Format::kJson};
  log::Logger logger{"runtime-test", sink};
  TracingSettings settings;
  settings.enabled = false;
  auto rt = TracingRuntime::create(settings, logger);
  Span s = rt->tracer().start_span("x", SpanKind::kServer);
  EXPECT_FALSE(s.is_recording());
  EXPECT_TRUE(s.context().valid());
  s.end();
  EXPECT_TRUE(rt->shutdown(1s));
  EXPECT_EQ(rt->stats().spans_exported, 0u);
}

}  // namespace
}  // namespace taskman::tracing
